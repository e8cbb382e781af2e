/**
 * The graph view's view of the extension (GraphController in graphPanel.ts), backed by the model controller.
 */
import * as vscode from 'vscode';
import { layerByName } from '../core/ir';
import type { ModelGraph } from '../core/ir';
import { nodeAt } from '../core/locate';
import type { GraphController } from './graphPanel';
import type { ModelController } from './modelController';
import { graphSnapshot } from './graphSnapshot';
import { isKerasArchiveName } from './modelSniff';
import { TextPositions } from './textPositions';

function findLayerPath(g: ModelGraph, name: string): (string | number)[] | undefined {
  const hit = layerByName(g).get(name);
  if (hit) return hit.path;
  for (const l of g.layers) {
    const inner = l.subgraph && findLayerPath(l.subgraph, name);
    if (inner) return inner;
  }
  return undefined;
}

export function graphController(controller: ModelController): GraphController {
  return {
    snapshot(uri) {
      const state = controller.cached(uri);
      if (!state) return { error: `${controller.label(uri)} is not open as a model` };
      return state.ok ? graphSnapshot(state.model) : { error: state.error.message };
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
        const state = await controller.fromUri(uri);
        if (!state.ok || state.model.doc.container !== 'plain') return;
        const path = findLayerPath(state.model.doc.graph, layer);
        const node = path && nodeAt(state.model.doc, path);
        if (!node) return;
        const pos = new TextPositions(doc.getText(), state.model.doc.text);
        const at = (o: number): vscode.Position => {
          const p = pos.position(o);
          return new vscode.Position(p.line, p.character);
        };
        editor.selection = new vscode.Selection(at(node.offset), at(node.offset));
        editor.revealRange(new vscode.Range(at(node.offset), at(node.offset + node.length)), vscode.TextEditorRevealType.AtTop);
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
