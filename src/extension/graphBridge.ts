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
      const command = redo ? 'redo' : 'undo';
      // A .keras archive's custom editor is this graph: VS Code's undo applies to it while it is active.
      if (isKerasArchiveName(uri.path)) return void (await vscode.commands.executeCommand(command));
      // A text file is undone in its editor, which must have the focus for the command to reach it.
      const doc = await vscode.workspace.openTextDocument(uri);
      const shown = vscode.window.visibleTextEditors.find((e) => e.document === doc);
      await vscode.window.showTextDocument(doc, { viewColumn: shown?.viewColumn ?? vscode.ViewColumn.One, preserveFocus: false });
      await vscode.commands.executeCommand(command);
    },
    onDidChange: controller.onDidChangeModel,
  };
}
