/**
 * The graph view's view of the extension (GraphController in graphPanel.ts), backed by the model controller.
 */
import * as vscode from 'vscode';
import type { GraphController } from './graphPanel';
import { isModelDocument, type ModelController } from './modelController';
import { graphSnapshot, snapshotBytes } from './graphSnapshot';
import { isKerasArchiveName } from './modelSniff';

export function graphController(controller: ModelController): GraphController {
  return {
    async snapshot(uri) {
      const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
      if (doc) {
        // Built in the analysis worker as UTF-8 JSON: the host neither reads the model nor touches the snapshot.
        const r = await controller.queries.graphText(doc);
        if (!r) return doc.isClosed || !isModelDocument(doc) ? { error: `${controller.label(uri)} is not open as a model` } : undefined;
        return r.ok ? r.graph : { error: r.error.message };
      }
      const state = controller.archiveState(uri);
      if (!state) return { error: `${controller.label(uri)} is not open as a model` };
      return state.ok ? snapshotBytes(graphSnapshot(state.model)) : { error: state.error.message };
    },
    async applyVariant(uri, siteIds, choice) {
      // The view chooses the variant, r and k; the other options follow the settings.
      const o = controller.options();
      await controller.applyChoice(uri, { variant: choice.variant, options: { ...o, rank: choice.options.rank, k: choice.options.k } }, siteIds);
    },
    reveal(uri, layer) {
      // A .keras archive has no text to show: its custom editor is the graph itself.
      if (isKerasArchiveName(uri.path)) return;
      void (async () => {
        const doc = await vscode.workspace.openTextDocument(uri);
        const editor = await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One, preserveFocus: false });
        // Found in the analysis worker for a large text: the host neither reads the model nor scans the text.
        const range = await controller.queries.layerRange(doc, layer);
        if (!range) return;
        editor.selection = new vscode.Selection(range.start, range.start);
        editor.revealRange(range, vscode.TextEditorRevealType.AtTop);
      })();
    },
    async undo(uri, redo) {
      // A .keras archive's custom editor is this graph: VS Code's undo applies to it while it is active.
      if (isKerasArchiveName(uri.path)) return void (await vscode.commands.executeCommand(redo ? 'redo' : 'undo'));
      await undoInEditor(uri, redo);
    },
    onDidChange: controller.onDidChangeModel,
  };
}

/** Undo (or redo) in the file's text editor, which must have the focus for the command to reach it. */
export async function undoInEditor(uri: vscode.Uri, redo: boolean): Promise<void> {
  const doc = await vscode.workspace.openTextDocument(uri);
  const shown = vscode.window.visibleTextEditors.find((e) => e.document === doc);
  await vscode.window.showTextDocument(doc, { viewColumn: shown?.viewColumn ?? vscode.ViewColumn.One, preserveFocus: false });
  await vscode.commands.executeCommand(redo ? 'redo' : 'undo');
}

/** One controller for every graph panel: `.py` files go to `py`, model files to `models`. */
export function routeGraph(models: GraphController, py: GraphController, isPy: (uri: vscode.Uri) => boolean): GraphController {
  const pick = (uri: vscode.Uri): GraphController => (isPy(uri) ? py : models);
  return {
    snapshot: (uri) => pick(uri).snapshot(uri),
    applyVariant: (uri, ids, choice) => pick(uri).applyVariant(uri, ids, choice),
    reveal: (uri, layer, line) => pick(uri).reveal(uri, layer, line),
    undo: (uri, redo) => pick(uri).undo(uri, redo),
    followsCursor: (uri) => pick(uri).followsCursor?.(uri) ?? false,
    onDidChange: (listener, thisArg, disposables) => {
      const a = models.onDidChange(listener, thisArg);
      const b = py.onDidChange(listener, thisArg);
      const both = vscode.Disposable.from(a, b);
      disposables?.push(both);
      return both;
    },
  };
}
