/**
 * Entry point of the extension host. Activation (onLanguage:json, or a command) only registers things;
 * a document is read when a lens, a diagnostic or a command first needs it.
 */
import * as vscode from 'vscode';
import { MODEL_SELECTOR, ModelCodeLensProvider } from './codeLens';
import { registerCommands } from './commands';
import { graphController } from './graphBridge';
import { registerGraphSerializer } from './graphPanel';
import { isModelDocument, ModelController } from './modelController';
import { SummaryView } from './summaryView';
import { TrainingSessions } from './trainingSession';
import { activeKerasUri, registerKerasEditor } from './kerasEditor';
import { unknownCountHover } from './modelHover';
import { ResidualView } from './residualView';
import { PY_SELECTOR, PyModelLenses } from './pyLenses';

/** Context key for menus: the active editor shows a model file. */
const IS_MODEL = 'laurel.isModel';

export function activate(context: vscode.ExtensionContext): void {
  const controller = new ModelController();
  const lenses = new ModelCodeLensProvider(controller);
  const summary = new SummaryView(controller);
  const training = new TrainingSessions(context, controller);
  const graph = graphController(controller);
  const residuals = new ResidualView(context, controller, graph);
  const pyLenses = new PyModelLenses(context);
  const updateContext = (): void => {
    const doc = vscode.window.activeTextEditor?.document;
    void vscode.commands.executeCommand('setContext', IS_MODEL, doc ? isModelDocument(doc) : !!activeKerasUri());
  };
  context.subscriptions.push(
    controller,
    lenses,
    summary,
    training,
    vscode.languages.registerCodeLensProvider(MODEL_SELECTOR, lenses),
    pyLenses,
    vscode.languages.registerCodeLensProvider(PY_SELECTOR, pyLenses),
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
