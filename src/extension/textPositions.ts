/**
 * Offsets in a model's text (`ModelDocument.text`) to positions in the editor's document. For a plain
 * container they are the same text, except that the readers strip a byte-order mark the editor may keep.
 * No `vscode` import (unit-tested).
 */

/** A stretch of the model text: offset and length in characters. */
export interface TextSpan {
  offset: number;
  length: number;
}

export interface LinePosition {
  /** 0-based, as vscode.Position. */
  line: number;
  character: number;
}

export class TextPositions {
  /** Characters the document has before the model text starts (1 for a BOM the reader dropped). */
  readonly shift: number;
  private readonly lineStarts: number[] = [0];

  constructor(
    readonly documentText: string,
    modelText: string,
  ) {
    this.shift = documentText.charCodeAt(0) === 0xfeff && modelText.charCodeAt(0) !== 0xfeff ? 1 : 0;
    for (let i = documentText.indexOf('\n'); i !== -1; i = documentText.indexOf('\n', i + 1)) this.lineStarts.push(i + 1);
  }

  get lineCount(): number {
    return this.lineStarts.length;
  }

  documentOffset(modelOffset: number): number {
    return Math.min(modelOffset + this.shift, this.documentText.length);
  }

  /** The document position of a model-text offset. */
  position(modelOffset: number): LinePosition {
    const offset = this.documentOffset(modelOffset);
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, character: offset - this.lineStarts[lo]! };
  }

  /** The model-text offset of a document position (the inverse of `position`), clamped to the text. */
  modelOffset(pos: LinePosition): number {
    const start = this.lineStarts[Math.min(pos.line, this.lineStarts.length - 1)]!;
    return Math.max(0, start + pos.character - this.shift);
  }
}

/**
 * Where an error located by 1-based line:column in the model text is in the document: 0-based, with the
 * BOM shift applied on the first line only (the only line it is on).
 */
export function errorPosition(line: number | undefined, column: number | undefined, shift: number): LinePosition {
  const l = Math.max(0, (line ?? 1) - 1);
  return { line: l, character: Math.max(0, (column ?? 1) - 1) + (l === 0 ? shift : 0) };
}
