/**
 * Python source text from model values. Every string a model file supplies reaches generated Python through
 * one of these (string literal, comment text, docstring) or through `pythonIdentifier` (names.ts): never raw.
 */
import { UNSAFE_CHARS } from '../unsafeChars';

const ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `\n`, `\xNN`, `\uNNNN` or `\UNNNNNNNN`: the Python escape of one code point. */
function escapeChar(ch: string): string {
  if (ch === ' ') return ch;
  const known = ESCAPES[ch];
  if (known) return known;
  const cp = ch.codePointAt(0)!;
  const hex = cp.toString(16).padStart(cp <= 0xff ? 2 : cp <= 0xffff ? 4 : 8, '0');
  return `${cp <= 0xff ? '\\x' : cp <= 0xffff ? '\\u' : '\\U'}${hex}`;
}

const escapeUnsafe = (s: string): string => s.replace(UNSAFE_CHARS, escapeChar);

const LONE_SURROGATE = /\p{Cs}/gu;

/**
 * Why `s` cannot be a name in a Python module, or undefined. A lone UTF-16 surrogate (JSON text may hold
 * `"\ud800"`) has no UTF-8 form: a str literal can escape it, but torch fails to define a class whose
 * docstring holds one, and no name with it survives printing. Exports refuse such names, naming the layer.
 */
export function unrepresentable(s: string): string | undefined {
  return /\p{Cs}/u.test(s) ? 'it holds a lone UTF-16 surrogate, which has no UTF-8 form' : undefined;
}

/** Free text (docstrings, comments) with lone surrogates shown as U+FFFD, as a UTF-8 decoder shows them. */
const wellFormed = (s: string): string => s.replace(LONE_SURROGATE, '\ufffd');

/** A Python string literal, double-quoted, on one line, printable: `a"b\n` -> `"a\"b\\n"`. */
export function pyStr(s: string): string {
  return `"${escapeUnsafe(s.replace(/[\\"]/g, '\\$&'))}"`;
}

/**
 * Text for a `#` comment: backslashes doubled and unsafe characters escaped as in a literal, so the comment
 * stays on its line and reads back unambiguously.
 */
export function pyComment(s: string): string {
  return escapeUnsafe(wellFormed(s).replace(/\\/g, '\\\\'));
}

/**
 * A triple-quoted docstring holding `s`: its own newlines kept, backslashes doubled, a quote escaped where it
 * could join others into `"""` (before another quote, or last), nothing else raw.
 */
export function pyDocstring(s: string): string {
  const body = wellFormed(s)
    .replace(/\\/g, '\\\\')
    .replace(/"(?=")|"$/g, '\\"')
    .split('\n')
    .map(escapeUnsafe)
    .join('\n');
  return `"""${body}"""`;
}

/** A Python literal: numbers (inf / nan spelled out), booleans, None, strings, tuples for arrays, dicts for objects. */
export function py(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'math.nan';
    if (!Number.isFinite(v)) return v > 0 ? 'math.inf' : '-math.inf';
    return String(v);
  }
  if (typeof v === 'string') return pyStr(v);
  if (Array.isArray(v)) return v.length === 1 ? `(${py(v[0])},)` : `(${v.map(py).join(', ')})`;
  if (typeof v === 'object') return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${py(k)}: ${py(x)}`).join(', ')}}`;
  throw new Error(`internal: no Python literal for ${JSON.stringify(v)}`);
}

/** A float literal that reads as one (1 -> 1.0), for values torch wants as floats. */
export function pyFloat(v: number): string {
  const s = py(v);
  return Number.isInteger(v) && !s.includes('e') ? `${s}.0` : s;
}

/** A Python call `fn(a, b, key=value)`, leaving out keyword arguments that are undefined. */
export function pyCall(fn: string, args: string[], kwargs: Record<string, string | undefined> = {}): string {
  const kw = Object.entries(kwargs)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => `${k}=${v}`);
  return `${fn}(${[...args, ...kw].join(', ')})`;
}
