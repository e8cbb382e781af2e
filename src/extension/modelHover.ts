/**
 * Hover over a layer whose parameter count is unknown ('?' in lenses, summary and graph): why, and which
 * layers of unknown class it follows from.
 */
import * as vscode from 'vscode';
import type { ModelController } from './modelController';

export async function unknownCountHover(controller: ModelController, doc: vscode.TextDocument, pos: vscode.Position): Promise<vscode.Hover | undefined> {
  // Found in the analysis worker: a hover copies no model to the host.
  const hit = await controller.queries.hoverAt(doc, pos);
  if (!hit) return undefined;
  const text = new vscode.MarkdownString();
  text.appendText(`LAuReL: ${hit.text}`);
  return new vscode.Hover(text, hit.range);
}
