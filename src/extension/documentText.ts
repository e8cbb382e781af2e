/**
 * The text of open model documents, once per version and in slices. VS Code's getText() joins every line of
 * the document anew at each call, on the extension host's thread: 45-87 ms for a 20,000-layer model's
 * 532k lines on the loaded build machine. Here a large document is read a slice of lines at a time, the
 * thread given back between slices, and the slices joined once (a copy of a few large strings).
 * Pure: no `vscode` (the controller passes its documents and a way to read a slice of their lines).
 */
import { nextTurn } from './nextTurn';

/** What is used of a vscode.TextDocument. */
export interface LinesDocument {
  readonly uri: { toString(): string };
  readonly version: number;
  readonly lineCount: number;
  readonly isClosed: boolean;
  getText(): string;
}

/** Lines per slice by default: a few ms of VS Code's join each. */
export const SLICE_LINES = 20_000;

export class DocumentTexts<D extends LinesDocument> {
  private readonly known = new Map<string, { version: number; text: Promise<string> }>();

  /**
   * `lines(doc, start, end)`: the text from the start of line `start` to the start of line `end` (to the
   * document's end when `end` is past its last line), as vscode's getText(new Range(start, 0, end, 0)) gives it.
   */
  constructor(
    private readonly lines: (doc: D, start: number, end: number) => string,
    private readonly sliceLines = SLICE_LINES,
  ) {}

  /** The document's whole text at its current version (a byte-order mark included, as getText() gives it). */
  get(doc: D): Promise<string> {
    const key = doc.uri.toString();
    const hit = this.known.get(key);
    if (hit?.version === doc.version) return hit.text;
    const text = doc.lineCount <= this.sliceLines ? Promise.resolve(doc.getText()) : this.sliced(doc);
    this.known.set(key, { version: doc.version, text });
    return text;
  }

  forget(key: string): void {
    this.known.delete(key);
  }

  private async sliced(doc: D): Promise<string> {
    for (;;) {
      const version = doc.version;
      const parts: string[] = [];
      for (let line = 0; line < doc.lineCount && doc.version === version; line += this.sliceLines) {
        parts.push(this.lines(doc, line, line + this.sliceLines));
        await nextTurn();
      }
      // An edit came between the slices: read the new version instead.
      if (doc.version === version || doc.isClosed) return parts.join('');
    }
  }
}
