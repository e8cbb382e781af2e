/**
 * The parts of a Python file the static finder reads, so @lezer/python parses only those (its `ranges`): the
 * head up to the first top-level class or function (where the LAuReL import goes), and every top-level class
 * with its `__init__` and `forward` (the first statement of a class that has neither). The rest (top-level
 * functions, scripts, docstrings, `generate`, `configure_optimizers`, ...) is never looked at; parsing it was
 * most of a first open (nanoGPT's GPT class is mostly such methods). Positions stay the file's own.
 *
 * Statements are found by a lexical scan that knows what hides a line start: strings (triple-quoted ones
 * span lines), comments, open brackets and backslash continuations. Each range starts at a line start and
 * ends at one, so the ranges read as one Python text to lezer's indentation tracker.
 */
import { parser } from '@lezer/python';
import { runSliced } from './sliced';
import type { Tree, TreeFragment } from '@lezer/common';

export interface Range {
  from: number;
  to: number;
}

interface Stmt {
  /** Start of its first line. */
  at: number;
  /** Indentation width (a tab to the next multiple of 8, as lezer and Python count it). */
  indent: number;
  kind: 'class' | 'def' | 'deco' | 'other';
  /** A def's name. */
  name: string;
  /** Its place in the statement list. */
  i: number;
}

const NL = 10;
const CR = 13;
const SPACE = 32;
const TAB = 9;
const HASH = 35;
const BACKSLASH = 92;

/** The logical lines of `text` that start a statement (blank and comment-only lines are none). */
function statements(text: string): Stmt[] {
  const out: Stmt[] = [];
  const n = text.length;
  let depth = 0;
  let lineStart = true;
  let i = 0;
  while (i < n) {
    if (lineStart) {
      lineStart = false;
      let j = i;
      let indent = 0;
      for (; j < n; j++) {
        const c = text.charCodeAt(j);
        if (c === SPACE) indent++;
        else if (c === TAB) indent += 8 - (indent % 8);
        else if (c !== 12) break; // form feed: no width
      }
      const c = text.charCodeAt(j);
      if (j < n && c !== NL && c !== CR && c !== HASH) out.push({ at: i, indent, ...head(text, j), i: out.length });
      i = j;
      continue;
    }
    // Runs of ordinary characters in one native step (a first open runs this code before the JIT has).
    ORDINARY.lastIndex = i;
    if (ORDINARY.test(text)) {
      i = ORDINARY.lastIndex;
      continue;
    }
    const c = text.charCodeAt(i);
    if (c === NL) {
      i++;
      lineStart = depth === 0;
    } else if (c === HASH) {
      while (i < n && text.charCodeAt(i) !== NL && text.charCodeAt(i) !== CR) i++;
    } else if (c === 34 || c === 39) {
      i = stringEnd(text, i);
    } else if (c === BACKSLASH) {
      // A continuation joins the next line to this one; elsewhere a stray backslash.
      i += text.charCodeAt(i + 1) === CR && text.charCodeAt(i + 2) === NL ? 3 : 2;
    } else if (c === CR) {
      i++;
      if (text.charCodeAt(i) !== NL) lineStart = depth === 0; // a lone CR ends a line too
    } else {
      if (c === 40 || c === 91 || c === 123) depth++;
      else if ((c === 41 || c === 93 || c === 125) && depth > 0) depth--;
      i++;
    }
  }
  return out;
}

const ORDINARY = /[^\n\r#"'\\()[\]{}]+/y;
/** Where a string's scan stops next: a backslash, its quote, or (a one-line string) a line end. */
const STOPS: Record<string, RegExp> = { "'": /[\\']/g, '"': /[\\"]/g, "'1": /[\\'\n\r]/g, '"1': /[\\"\n\r]/g };

/** The offset after the string starting with the quote at `i` (an unterminated one-line string ends at its line). */
function stringEnd(text: string, i: number): number {
  const q = text.charCodeAt(i);
  const long = text.charCodeAt(i + 1) === q && text.charCodeAt(i + 2) === q;
  const stop = STOPS[text[i]! + (long ? '' : '1')]!;
  stop.lastIndex = i + (long ? 3 : 1);
  for (let m = stop.exec(text); m; m = stop.exec(text)) {
    const j = m.index;
    const c = text.charCodeAt(j);
    if (c === BACKSLASH) stop.lastIndex = j + 2;
    else if (c === q && (!long || (text.charCodeAt(j + 1) === q && text.charCodeAt(j + 2) === q))) return j + (long ? 3 : 1);
    else if (c === NL || c === CR) return j;
  }
  return text.length;
}

const WORD = /[A-Za-z0-9_]/;

function head(text: string, j: number): Pick<Stmt, 'kind' | 'name'> {
  if (text.charCodeAt(j) === 64) return { kind: 'deco', name: '' };
  const kw = (w: string, at: number): boolean => text.startsWith(w, at) && !WORD.test(text[at + w.length] ?? '');
  if (kw('class', j)) return { kind: 'class', name: '' };
  let k = j;
  if (kw('async', k)) for (k += 5; text[k] === ' ' || text[k] === '\t'; k++);
  if (!kw('def', k)) return { kind: 'other', name: '' };
  for (k += 3; text[k] === ' ' || text[k] === '\t'; k++);
  let e = k;
  while (e < text.length && WORD.test(text[e]!)) e++;
  return { kind: 'def', name: text.slice(k, e) };
}

/** Methods of a class the finder reads. */
const READ = new Set(['__init__', 'forward']);

/** The ranges of `text` the static finder needs, in order, or null when that is the whole text. */
export function pyParseRanges(text: string): Range[] | null {
  const stmts = statements(text);
  const out: Range[] = [];
  const keep = (from: number, to: number): void => {
    if (from >= to) return;
    const last = out[out.length - 1];
    if (last && last.to === from) last.to = to;
    else out.push({ from, to });
  };
  // Top-level statements, decorators grouped with what they decorate: [first line, the statement].
  const groups = (level: Stmt[]): [Stmt, Stmt][] => {
    const g: [Stmt, Stmt][] = [];
    let deco: Stmt | null = null;
    for (const s of level) {
      if (s.kind === 'deco') deco ??= s;
      else {
        g.push([deco ?? s, s]);
        deco = null;
      }
    }
    return g;
  };
  const top = groups(stmts.filter((s) => s.indent === 0));
  const first = top.findIndex(([d, s]) => d.kind === 'deco' || s.kind === 'class' || s.kind === 'def');
  if (first < 0) return null;
  keep(0, top[first]![0].at);
  for (let t = first; t < top.length; t++) {
    const [start, s] = top[t]!;
    if (s.kind !== 'class') continue;
    const next = top[t + 1]?.[0];
    const end = next?.at ?? text.length;
    const body = stmts.slice(s.i + 1, next?.i ?? stmts.length);
    const indent = body[0]?.indent ?? 0;
    // A body on the header's line, or one indented unevenly: kept whole (lezer says what it makes of it).
    if (!body.length || body.some((x) => x.indent < indent) || indent === 0) {
      keep(start.at, end);
      continue;
    }
    keep(start.at, body[0]!.at);
    const members = groups(body.filter((x) => x.indent === indent));
    const kept = members.map(([, m]) => m.kind === 'def' && READ.has(m.name));
    if (!kept.includes(true)) kept[0] = true; // a class body cannot be empty
    members.forEach(([m], k) => kept[k] && keep(m.at, members[k + 1]?.[0].at ?? end));
  }
  return out.length === 1 && out[0]!.from === 0 && out[0]!.to === text.length ? null : out;
}

/** @lezer/python's tree of the parts the static finder reads (`fragments`: an earlier tree's, see PyParseCache). */
export function parsePyText(text: string, fragments?: readonly TreeFragment[]): Tree {
  const ranges = pyParseRanges(text);
  return parser.parse(text, fragments, ranges ?? undefined);
}

/**
 * The same tree, parsed in slices: after each `sliceMs` of work `pause()` is awaited, so a caller on a UI thread
 * (the extension host) is never blocked for long, even by the first parse of a process, which runs lezer before
 * the JIT has compiled it (about 100 ms for 2,000 lines). lezer's own `parse` is this loop without the pauses.
 */
export function parsePyTextSliced(text: string, fragments: readonly TreeFragment[] | undefined, sliceMs: number, pause: () => Promise<void>): Promise<Tree> {
  return runSliced(parseSteps(text, fragments), sliceMs, pause);
}

function* parseSteps(text: string, fragments: readonly TreeFragment[] | undefined): Generator<void, Tree> {
  const ranges = pyParseRanges(text);
  yield;
  const parse = parser.startParse(text, fragments, ranges ?? undefined);
  for (let step = 1; ; step++) {
    const tree = parse.advance();
    if (tree) return tree;
    // A pause may come every 64 steps: a step is a few microseconds, not worth a look at the clock each.
    if ((step & 63) === 0) yield;
  }
}
