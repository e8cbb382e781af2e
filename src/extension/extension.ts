/**
 * Entry point of the extension host. Activation (onLanguage:json, or a command) only registers things;
 * a document is read when a lens, a diagnostic or a command first needs it.
 */
import * as vscode from 'vscode';
import { MODEL_SELECTOR, ModelCodeLensProvider } from './codeLens';
import { registerCommands } from './commands';
import { graphController, routeGraph } from './graphBridge';
import { GraphPanel, registerGraphSerializer } from './graphPanel';
import { isPyUri, PyGraphController } from './pyGraphBridge';
import { isModelDocument, ModelController } from './modelController';
import { SummaryView } from './summaryView';
import { TrainingSessions } from './trainingSession';
import { activeKerasUri, registerKerasEditor } from './kerasEditor';
import { unknownCountHover } from './modelHover';
import { ResidualView } from './residualView';
import { PY_SELECTOR, PyModelLenses } from './pyLenses';
import { looksLikePyModel } from './modelSniff';
import { registerPyOptionDiagnostics } from './pyOptionDiagnostics';
import { PY_OPEN_GRAPH } from './pyLensSpecs';

/** Context key for menus: the active editor shows a model file. */
const IS_MODEL = 'laurel.isModel';
/** Context key for menus: the active editor shows a Python file with an nn.Module class (Open Graph, Train, Compare). */
const IS_PY_MODEL = 'laurel.isPyModel';

export function activate(context: vscode.ExtensionContext): void {
  const controller = new ModelController();
  const lenses = new ModelCodeLensProvider(controller);
  const summary = new SummaryView(controller);
  const pyLenses = new PyModelLenses(context);
  const training = new TrainingSessions(context, controller, pyLenses);
  const pyGraph = new PyGraphController(pyLenses);
  // One controller for every graph panel (and the serializer that revives them): .py sources or model files.
  const graph = routeGraph(graphController(controller), pyGraph, isPyUri);
  const residuals = new ResidualView(context, controller, graph);
  const updateContext = (): void => {
    const doc = vscode.window.activeTextEditor?.document;
    void vscode.commands.executeCommand('setContext', IS_MODEL, doc ? isModelDocument(doc) : !!activeKerasUri());
    void vscode.commands.executeCommand('setContext', IS_PY_MODEL, !!doc && doc.languageId === 'python' && looksLikePyModel(doc.getText()));
  };
  context.subscriptions.push(
    controller,
    lenses,
    summary,
    training,
    vscode.languages.registerCodeLensProvider(MODEL_SELECTOR, lenses),
    pyLenses,
    pyGraph,
    vscode.languages.registerCodeLensProvider(PY_SELECTOR, pyLenses),
    registerPyOptionDiagnostics(),
    // Open Graph on a .py file (laurel.openGraph hands it over): the panel first, then the measurement it needs.
    vscode.commands.registerCommand(PY_OPEN_GRAPH, async (uri: vscode.Uri, layer?: string, model?: string) => {
      pyGraph.choose(uri, typeof model === 'string' ? model : undefined);
      GraphPanel.show(context, uri, graph, layer);
      await pyGraph.prepare(uri);
    }),
    ...registerCommands(context, controller, summary, training),
    registerGraphSerializer(context, graph),
    residuals,
    registerKerasEditor(context, controller, graph),
    vscode.languages.registerHoverProvider(MODEL_SELECTOR, { provideHover: (doc, pos) => unknownCountHover(controller, doc, pos) }),
    // The training panel comes back after a reload with the saved history (no state of its own to read).
    vscode.window.registerWebviewPanelSerializer('laurel.training', { deserializeWebviewPanel: async (panel) => training.revivePanel(panel) }),
    vscode.window.onDidChangeActiveTextEditor(updateContext),
    vscode.window.tabGroups.onDidChangeTabs(updateContext),
    vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.document === vscode.window.activeTextEditor?.document) updateContext();
    }),
  );
  updateContext();
}

export function deactivate(): void {}
