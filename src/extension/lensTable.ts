/**
 * The lenses of a model as a few flat values instead of one object per lens: the lines in an Int32Array,
 * every string (title, tooltip, command id, arguments as JSON) in one text, and where each ends in a
 * Uint32Array. A 20,000-layer model's 19,197 lenses cross from the analysis worker as 3 values (the
 * arrays transferred, the text copied in one piece), where 19,197 objects cost the host's thread a
 * structured clone of 6 MB and then a young-generation collection that copied them all (70-90 ms
 * measured). The host builds one lens's strings only when VS Code resolves that lens (it is on screen).
 * Pure: no `vscode`.
 */
import type { LensSpec } from './lensSpecs';

export interface LensTable {
  count: number;
  /** 0-based document line of each lens. */
  lines: Int32Array;
  /** Per lens: title, tooltip ('' when none), command id ('' for a text-only lens), arguments as JSON. */
  text: string;
  /** Where each of those 4 strings of each lens ends in `text` (the next one starts there). */
  ends: Uint32Array;
}

const FIELDS = 4;

export function encodeLenses(specs: readonly LensSpec[]): LensTable {
  const lines = new Int32Array(specs.length);
  const ends = new Uint32Array(specs.length * FIELDS);
  const parts: string[] = [];
  let at = 0;
  specs.forEach((s, i) => {
    lines[i] = s.line;
    const fields = [s.title, s.tooltip ?? '', s.command, JSON.stringify(s.args)];
    fields.forEach((f, k) => {
      parts.push(f);
      at += f.length;
      ends[i * FIELDS + k] = at;
    });
  });
  return { count: specs.length, lines, text: parts.join(''), ends };
}

/** Lens `i` of the table as its spec (its arguments parsed again). */
export function lensAt(t: LensTable, i: number): LensSpec {
  if (!Number.isInteger(i) || i < 0 || i >= t.count) throw new RangeError(`no lens ${i} of ${t.count}`);
  const field = (k: number): string => {
    const j = i * FIELDS + k;
    return t.text.slice(j === 0 ? 0 : t.ends[j - 1]!, t.ends[j]!);
  };
  const tooltip = field(1);
  return { line: t.lines[i]!, title: field(0), ...(tooltip ? { tooltip } : {}), command: field(2), args: JSON.parse(field(3)) as unknown[] };
}

/** Every lens of the table, in order (tests and small models). */
export function decodeLenses(t: LensTable): LensSpec[] {
  return Array.from({ length: t.count }, (_, i) => lensAt(t, i));
}

/** The buffers a postMessage may transfer instead of copying. */
export function lensTransfer(t: LensTable): ArrayBuffer[] {
  return [t.lines.buffer as ArrayBuffer, t.ends.buffer as ArrayBuffer];
}
