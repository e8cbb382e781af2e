/**
 * Model-text offsets to editor positions through VS Code's own line index of the document (kept by the
 * extension host per version), not a scan of the whole text per request: a click or an edit in a
 * 20,000-layer file costs a binary search, not 60 ms of line breaks. The readers drop one byte-order
 * mark the document may keep; offsets shift by it.
 */
import * as vscode from 'vscode';
import type { TextSpan } from './textPositions';

export interface DocumentPositions {
  position(modelOffset: number): vscode.Position;
  range(span: TextSpan): vscode.Range;
  /** The model-text offset of a document position. */
  modelOffset(pos: vscode.Position): number;
}

export function documentPositions(doc: vscode.TextDocument): DocumentPositions {
  const shift = doc.lineCount > 0 && doc.lineAt(0).text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const position = (o: number): vscode.Position => doc.positionAt(o + shift);
  return {
    position,
    range: (s) => new vscode.Range(position(s.offset), position(s.offset + s.length)),
    modelOffset: (p) => Math.max(0, doc.offsetAt(p) - shift),
  };
}
