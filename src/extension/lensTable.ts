/**
 * The lenses of a model as a few flat values instead of one object per lens: the lines in an Int32Array,
 * every string (title, tooltip, command id, arguments as JSON) in one UTF-8 buffer, and where each ends in
 * a Uint32Array. A 20,000-layer model's 19,197 lenses cross from the analysis worker as 3 transferred
 * buffers: 19,197 objects cost the host's thread a structured clone of 6 MB and then a young-generation
 * collection that copied them all (70-90 ms measured), and the same strings as one text (4.3 million
 * characters, two bytes each) cost it 28-60 ms to copy out of a message (through a MessageChannel). The host decodes one lens's
 * strings only when VS Code resolves that lens (it is on screen). Pure: no `vscode`.
 */
import type { LensSpec } from './lensSpecs';

export interface LensTable {
  count: number;
  /** 0-based document line of each lens. */
  lines: Int32Array;
  /** Per lens, UTF-8: title, tooltip (empty when none), command id (empty for a text-only lens), arguments as JSON. */
  bytes: Uint8Array;
  /** Where each of those 4 strings of each lens ends in `bytes` (the next one starts there). */
  ends: Uint32Array;
}

const FIELDS = 4;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Bytes of `s` in UTF-8 (a lone surrogate is written as U+FFFD, 3 bytes, as TextEncoder writes it). */
function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // a pair: 4 bytes for 2 code units
      i++;
    } else n += 2;
  }
  return n;
}

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
      at += utf8Length(f);
      ends[i * FIELDS + k] = at;
    });
  });
  const bytes = new Uint8Array(at);
  encoder.encodeInto(parts.join(''), bytes);
  return { count: specs.length, lines, bytes, ends };
}

/** Lens `i` of the table as its spec (its arguments parsed again). */
export function lensAt(t: LensTable, i: number): LensSpec {
  if (!Number.isInteger(i) || i < 0 || i >= t.count) throw new RangeError(`no lens ${i} of ${t.count}`);
  const field = (k: number): string => {
    const j = i * FIELDS + k;
    return decoder.decode(t.bytes.subarray(j === 0 ? 0 : t.ends[j - 1]!, t.ends[j]!));
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
  return [t.lines.buffer as ArrayBuffer, t.bytes.buffer as ArrayBuffer, t.ends.buffer as ArrayBuffer];
}
