/**
 * Hover over a layer whose parameter count is unknown ('?' in lenses, summary and graph): why, and which
 * layers of unknown class it follows from.
 */
import * as vscode from 'vscode';
import type { ModelController } from './modelController';
import { documentPositions } from './documentPositions';
import { unknownCountAt } from './unknownLayers';

export async function unknownCountHover(controller: ModelController, doc: vscode.TextDocument, pos: vscode.Position): Promise<vscode.Hover | undefined> {
  // fromUri: a large text is read off the host's thread.
  const state = await controller.fromUri(doc.uri);
  if (!state?.ok || state.model.doc.container !== 'plain' || !state.model.analysis.unknownLayers.length) return undefined;
  const m = state.model;
  // VS Code's line index, not a scan of the text per hover.
  const positions = documentPositions(doc);
  const hit = unknownCountAt(m, positions.modelOffset(pos));
  if (!hit) return undefined;
  const text = new vscode.MarkdownString();
  text.appendText(`LAuReL: ${hit.text}`);
  return new vscode.Hover(text, positions.range(hit.span));
}
