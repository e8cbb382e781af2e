/**
 * The `laurel.*` commands. Each takes the model's uri first (editor title, explorer menu, CodeLens) and
 * falls back to the active editor when run from the command palette.
 */
import * as vscode from 'vscode';
import { exportFileName } from '../core/export/exportText';
import type { ExportTarget } from '../core/export/exportText';
import { variantLabel } from '../core/laurel/variants';
import { writeFileAtomic } from '../util/fsAtomic';
import type { VariantChoice } from '../core/laurel/variants';
import { graphController } from './graphBridge';
import { GraphPanel } from './graphPanel';
import { isPyUri } from './pyGraphBridge';
import { activeKerasUri } from './kerasEditor';
import { COMMANDS } from './lensSpecs';
import type { ModelController } from './modelController';
import { textDocument } from './modelQueries';
import type { SummaryView } from './summaryView';
import { documentPositions } from './documentPositions';
import type { TrainingSessions } from './trainingSession';
import { aboutFile } from './fileMessages';
import { checkPositiveInt, usesK, usesRank, type VariantPick } from './variantPicks';
import { PY_OPEN_GRAPH } from './pyLensSpecs';

function targetUri(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  const uri = vscode.window.activeTextEditor?.document.uri ?? activeKerasUri();
  if (!uri) void vscode.window.showWarningMessage('LAuReL: open a model file first (Keras to_json, .keras config.json or TF.js model.json).');
  return uri;
}

/** Ask for a variant among `picks` (priced in the analysis worker), then for r and k where the variant uses them. */
async function pickChoice(controller: ModelController, picks: readonly VariantPick[], where: string): Promise<VariantChoice | undefined> {
  const options = controller.options();
  const picked = await vscode.window.showQuickPick(picks, {
    title: `LAuReL variant for ${where}`,
    placeHolder: `The change in parameters is for r=${options.rank}, k=${options.k} (settings laurel.rank, laurel.paK); you can change them next`,
    matchOnDescription: true,
    matchOnDetail: true,
  });
  if (!picked) return undefined;
  const choice: VariantChoice = { variant: picked.variant, options: { ...options } };
  if (usesRank(choice)) {
    const r = await vscode.window.showInputBox({ title: `${variantLabel(choice)}: rank r`, value: String(options.rank), validateInput: (t) => checkPositiveInt(t, 'r') });
    if (r === undefined) return undefined;
    choice.options.rank = Number(r);
  }
  if (usesK(choice)) {
    const k = await vscode.window.showInputBox({ title: `${variantLabel(choice)}: previous activations k`, value: String(options.k), validateInput: (t) => checkPositiveInt(t, 'k') });
    if (k === undefined) return undefined;
    choice.options.k = Number(k);
  }
  return choice;
}

/** The variant picks for `siteIds` (every residual when omitted), or undefined after saying why not. */
async function picksFor(controller: ModelController, uri: vscode.Uri, siteIds?: string[]): Promise<{ sites: number; picks: VariantPick[] } | undefined> {
  const a = await controller.ask(uri, { what: 'picks', preferred: controller.defaultVariant(), ...(siteIds ? { siteIds } : {}) });
  if (a && !a.sites) void vscode.window.showInformationMessage(`LAuReL: ${controller.label(uri)} has no residual connections.`);
  return a?.sites ? a : undefined;
}

/** The residual under the cursor when the editor shows this model's text; else one the user picks. */
async function siteForEditor(controller: ModelController, uri: vscode.Uri): Promise<string | undefined> {
  const editor = vscode.window.activeTextEditor;
  const here = editor && editor.document.uri.toString() === uri.toString() ? editor : undefined;
  const offset = here && documentPositions(here.document).modelOffset(here.selection.active);
  const a = await controller.ask(uri, { what: 'sites', ...(offset !== undefined ? { offset } : {}) });
  if (!a) return undefined;
  if (!a.sites) return void vscode.window.showInformationMessage(`LAuReL: ${controller.label(uri)} has no residual connections.`);
  if (a.atCursor) return a.atCursor.label;
  const why = here && a.container === 'plain' ? 'The cursor is not inside a residual merge layer: pick one' : 'Pick the residual to change';
  return (await vscode.window.showQuickPick(a.list, { title: 'LAuReL: residual', placeHolder: why }))?.label;
}

const EXPORT_PICKS: (vscode.QuickPickItem & { target: ExportTarget })[] = [
  { label: 'PyTorch module', description: '.py', detail: 'One nn.Module, LAuReL residuals as a module of their own, layer names kept; load_tfjs_weights included', target: 'pytorch' },
  { label: 'TF.js model.json', description: '.model.json', detail: 'A layers model for tf.loadLayersModel (register LaurelResidual first)', target: 'tfjs' },
  { label: 'Keras 2 model JSON', description: '.keras.json', detail: 'The topology as Keras 2 to_json() writes it', target: 'keras-json' },
];

/** Export the model with its current variants to another form, written where the user says. */
async function exportCommand(controller: ModelController, uri: vscode.Uri): Promise<void> {
  if (!(await controller.ask(uri, { what: 'reads' }))) return;
  const picked = await vscode.window.showQuickPick(EXPORT_PICKS, { title: `LAuReL: export ${controller.label(uri)} (with its current variants)` });
  if (!picked) return;
  const name = uri.path.slice(uri.path.lastIndexOf('/') + 1);
  const target = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.joinPath(uri, '..', exportFileName(name, picked.target)), title: `Export as ${picked.label}` });
  if (!target) return;
  // Made in the analysis worker from the text as it is now.
  const made = await controller.ask(uri, { what: 'export', target: picked.target });
  if (!made) return;
  const out = made.export;
  if ('error' in out) return void vscode.window.showErrorMessage(`LAuReL: cannot export ${aboutFile(controller.label(uri), out.error)}`);
  try {
    if (target.scheme === 'file') writeFileAtomic(target.fsPath, out.text);
    else await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(out.text));
  } catch (e) {
    return void vscode.window.showErrorMessage(`LAuReL: ${e instanceof Error ? e.message : String(e)}`);
  }
  const skipped = out.unsupported.length ? ` (not exported: ${out.unsupported.map((u) => `${u.layer} (${u.className})`).join(', ')})` : '';
  void vscode.window.showInformationMessage(`LAuReL: exported ${vscode.workspace.asRelativePath(target)}${skipped}`);
}

export function registerCommands(context: vscode.ExtensionContext, controller: ModelController, summary: SummaryView, training: TrainingSessions): vscode.Disposable[] {
  const graph = graphController(controller);
  const reg = vscode.commands.registerCommand;
  return [
    reg(COMMANDS.applyVariantAll, async (arg?: unknown) => {
      const uri = targetUri(arg);
      const a = uri && (await picksFor(controller, uri));
      if (!uri || !a) return;
      const choice = await pickChoice(controller, a.picks, `all ${a.sites} residuals`);
      if (choice) await controller.applyChoice(uri, choice);
    }),
    reg('laurel.applyVariantAtCursor', async (arg?: unknown) => {
      const uri = targetUri(arg);
      const site = uri && (await siteForEditor(controller, uri));
      const a = site && (await picksFor(controller, uri, [site]));
      const choice = a && (await pickChoice(controller, a.picks, site));
      if (uri && site && choice) await controller.applyChoice(uri, choice, [site]);
    }),
    // Internal (Residuals view): ask for a variant for these sites, then apply it.
    reg('laurel.pickVariantForSites', async (uri: vscode.Uri, siteIds: string[]) => {
      const a = await picksFor(controller, uri, siteIds);
      const choice = a && (await pickChoice(controller, a.picks, siteIds.length === 1 ? siteIds[0]! : `${siteIds.length} residuals`));
      if (choice) await controller.applyChoice(uri, choice, siteIds);
    }),
    // Internal (CodeLens): the variant and its options were fixed when the lens was drawn.
    reg(COMMANDS.applyVariantToSites, async (uri: vscode.Uri, siteIds: string[], choice: VariantChoice) => {
      await controller.applyChoice(uri, choice, siteIds);
    }),
    reg(COMMANDS.revertAll, async (arg?: unknown) => {
      const uri = targetUri(arg);
      if (uri) await controller.applyChoice(uri, { variant: 'plain', options: controller.options() });
    }),
    reg(COMMANDS.showSummary, async (arg?: unknown) => {
      const uri = targetUri(arg);
      if (uri) await summary.show(uri);
    }),
    reg(COMMANDS.formatModel, async (arg?: unknown) => {
      const uri = targetUri(arg);
      const doc = uri && (await textDocument(uri));
      // The edits are made in the analysis worker, from the text as it is now.
      const a = uri && (await controller.ask(uri, { what: 'format', eol: doc?.eol === vscode.EndOfLine.CRLF ? '\r\n' : '\n' }));
      if (!uri || !a) return;
      if (a.container !== 'plain' || !doc) {
        return void vscode.window.showInformationMessage(`LAuReL: ${controller.label(uri)} holds its model ${a.container === 'json-string' ? 'as one JSON string' : 'in a .keras archive'}; only a plain JSON file can be formatted.`);
      }
      if (a.edits.length) await controller.writeTextEdits(doc, a.edits);
    }),
    reg(COMMANDS.openGraph, async (arg?: unknown, layer?: unknown) => {
      const uri = targetUri(arg);
      if (uri && isPyUri(uri)) return void (await vscode.commands.executeCommand(PY_OPEN_GRAPH, uri, typeof layer === 'string' ? layer : undefined));
      if (!uri || !(await controller.ask(uri, { what: 'reads' }))) return;
      GraphPanel.show(context, uri, graph, typeof layer === 'string' ? layer : undefined);
    }),
    reg('laurel.train', async (arg?: unknown) => {
      const uri = targetUri(arg);
      if (uri) await training.train(uri);
    }),
    reg('laurel.compare', async (arg?: unknown) => {
      const uri = targetUri(arg);
      if (uri) await training.compare(uri);
    }),
    reg('laurel.cancelTraining', () => training.cancel()),
    reg('laurel.openRuns', () => training.openRuns()),
    reg('laurel.export', async (arg?: unknown) => {
      const uri = targetUri(arg);
      if (uri) await exportCommand(controller, uri);
    }),
    reg('laurel.chooseDataset', async (arg?: unknown) => {
      const uri = targetUri(arg);
      if (uri) await training.chooseDataset(uri);
    }),
  ];
}
