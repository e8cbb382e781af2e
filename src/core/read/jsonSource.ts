/**
 * A parsed JSON text with the helpers every reader step uses: typed access to jsonc-parser nodes and
 * errors that carry file, line:column, JSON path and what was expected.
 */
import { getNodePath, parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';
import type { JsonPath } from '../ir';
import { ModelError, lineColumn } from '../errors';
import { jsonValue, withoutPrototypes } from './fastTree';
import { ValueNode, ValueText, valueTree } from './valueTree';

export interface JsonSource {
  file: string;
  text: string;
  /** Set when `text` is an inner document (the JSON string's value, a zip member). */
  inner?: string;
  root: Node;
  /** The text's own tree (offsets of every node, duplicate keys included), built on first use: for locating and editing. */
  textTree: () => Node;
}

/** Throws a ModelError located at `offset` in the source. */
export function failAtOffset(src: { file: string; text: string; inner?: string }, offset: number, path: JsonPath | undefined, what: string, expected?: string): never {
  const { line, column } = lineColumn(src.text, offset);
  throw new ModelError(what, { file: src.file, path, offset, line, column, inner: src.inner }, expected);
}

/** Throws a ModelError at `node`; `path` overrides the node's own path (e.g. for a missing key). */
export function fail(src: JsonSource, node: Node, what: string, expected?: string, path?: JsonPath): never {
  return failAtOffset(src, node.offset, path ?? pathOf(node), what, expected);
}

export function parseJson(file: string, text: string, inner?: string): JsonSource {
  return tryParseJson(file, text, inner) ?? parseRefused(file, text, inner);
}

/** The source when JSON.parse accepts the text, else undefined (parseRefused then says where and what). */
export function tryParseJson(file: string, text: string, inner?: string): JsonSource | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    return undefined;
  }
  // The closure keeps the text, not the value: a document keeps what it read, not the parse.
  const vt = new ValueText(text);
  return { file, text, inner, root: valueTree(vt, value) as unknown as Node, textTree: () => vt.textRoot() };
}

/** jsonc-parser only for text JSON.parse refuses: its error codes and offsets say where and what. */
export function parseRefused(file: string, text: string, inner?: string): JsonSource {
  const errors: ParseError[] = [];
  const compact = compactSpaceRuns(text);
  const original = compact.original;
  const options = { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false };
  let root = parseTree(compact.text, errors, options);
  // Text jsonc-parser accepts and JSON.parse does not: the tree's offsets must be the original's.
  if (!errors.length && compact.text !== text) root = parseTree(text, errors, options);
  const src = { file, text, inner };
  if (errors.length > 0 || !root) {
    const e = errors[0];
    const offset = e ? original(e.offset) : 0;
    const conflict = e ? conflictMarker(text, offset) : undefined;
    if (conflict) failAtOffset(src, offset, undefined, `an unresolved merge conflict (a '${conflict}' line): the file holds two versions of the model`, 'one version: resolve the conflict first');
    const what = e ? `malformed JSON (${printParseErrorCode(e.error)}${printParseErrorCode(e.error) === 'InvalidSymbol' ? symbolName(text, offset) : ''})` : 'empty file';
    failAtOffset(src, offset, undefined, what, 'a complete JSON document');
  }
  const tree = root;
  return { ...src, root, textTree: () => tree };
}

/** '<<<<<<<' etc. where a git conflict marker line starts at the parse error (a file committed mid-merge). */
function conflictMarker(text: string, offset: number): string | undefined {
  const atLineStart = offset === 0 || text[offset - 1] === '\n';
  return atLineStart ? ['<<<<<<<', '=======', '>>>>>>>'].find((m) => text.startsWith(m, offset) && /^[ \r\n]/.test(text[offset + 7] ?? '\n')) : undefined;
}

/** ': U+FEFF, a second byte-order mark' for a symbol that is not what it looks like (invisible or not ASCII). */
function symbolName(text: string, offset: number): string {
  const cp = text.codePointAt(offset);
  if (cp === undefined || (cp > 0x20 && cp < 0x7f)) return '';
  const name = cp === 0xfeff ? (offset === 0 ? ', a second byte-order mark' : ', a byte-order mark') : cp === 0xa0 ? ', a no-break space' : '';
  return `: U+${cp.toString(16).toUpperCase().padStart(4, '0')}${name}`;
}

/**
 * jsonc-parser 3.3's scanner builds a run of spaces one character at a time (a rope of ~40 bytes per
 * character: 200 MiB of spaces after a model ran the CLI out of memory), and makes a token per line
 * break. Outside strings a run of whitespace means what one space means, so for the error search long
 * runs are cut to one space and the error offset is mapped back onto the original text.
 */
function compactSpaceRuns(text: string): { text: string; original: (offset: number) => number } {
  const parts: string[] = [];
  const cuts: { at: number; removed: number }[] = []; // `at` in the compacted text, removed before it in total
  let from = 0;
  let removed = 0;
  let inString = false;
  const space = (c: number): boolean => c === 32 || c === 10 || c === 13 || c === 9;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34 || c === 10 || c === 13) inString = false; // jsonc-parser ends a string at a line break
    } else if (c === 34) inString = true;
    else if (space(c)) {
      let end = i + 1;
      while (end < text.length && space(text.charCodeAt(end))) end++;
      if (end - i >= 256) {
        parts.push(text.slice(from, i + 1));
        removed += end - i - 1;
        cuts.push({ at: i + 1 - (removed - (end - i - 1)), removed });
        from = end;
      }
      i = end - 1;
    }
  }
  if (!cuts.length) return { text, original: (o) => o };
  parts.push(text.slice(from));
  return {
    text: parts.join(''),
    original: (o) => {
      let add = 0;
      for (const c of cuts) if (c.at <= o) add = c.removed;
      return o + add;
    },
  };
}

/** 'an array', 'a string', 'null': a node's kind for messages. */
export const kind = (node: Node): string => (node.type === 'null' ? 'null' : `${/^[aeiou]/.test(node.type) ? 'an' : 'a'} ${node.type}`);

export const pathOf = (node: Node): JsonPath => (node instanceof ValueNode ? node.path() : getNodePath(node));
/** A node's value; objects without prototype (see `withoutPrototypes`). */
export const valueOf = (node: Node): unknown => (node instanceof ValueNode ? withoutPrototypes(node.v) : jsonValue(node));

/** The value node of `key` in an object node (the last one, as JSON.parse would keep). */
export function prop(node: Node, key: string): Node | undefined {
  if (node instanceof ValueNode) return node.prop(key) as unknown as Node | undefined;
  if (node.type !== 'object' || !node.children) return undefined;
  let found: Node | undefined;
  for (const p of node.children) {
    const [k, v] = p.children ?? [];
    if (k && v && k.value === key) found = v;
  }
  return found;
}

/** Key/value node pairs of an object node, in file order. */
export function entries(node: Node): [string, Node][] {
  const out: [string, Node][] = [];
  for (const p of node.children ?? []) {
    const [k, v] = p.children ?? [];
    if (k && v && typeof k.value === 'string') out.push([k.value, v]);
  }
  return out;
}

export const items = (node: Node): Node[] => (node.type === 'array' ? (node.children ?? []) : []);

export function stringProp(node: Node, key: string): string | undefined {
  const v = prop(node, key);
  return v?.type === 'string' ? (v.value as string) : undefined;
}

export function expectObject(src: JsonSource, node: Node | undefined, parent: Node, key: string | number, what: string): Node {
  if (!node) fail(src, parent, `missing ${what}`, `a JSON object at ${typeof key === 'number' ? `[${key}]` : `"${key}"`}`, [...pathOf(parent), key]);
  if (node.type !== 'object') fail(src, node, `${what} is ${kind(node)}`, 'a JSON object');
  return node;
}

export function expectArray(src: JsonSource, node: Node | undefined, parent: Node, key: string | number, what: string): Node {
  if (!node) fail(src, parent, `missing ${what}`, `a JSON array at ${typeof key === 'number' ? `[${key}]` : `"${key}"`}`, [...pathOf(parent), key]);
  if (node.type !== 'array') fail(src, node, `${what} is ${kind(node)}`, 'a JSON array');
  return node;
}

export function expectString(src: JsonSource, node: Node | undefined, parent: Node, key: string | number, what: string): string {
  if (!node) fail(src, parent, `missing ${what}`, `a string at ${typeof key === 'number' ? `[${key}]` : `"${key}"`}`, [...pathOf(parent), key]);
  if (node.type !== 'string') fail(src, node, `${what} is ${kind(node)}`, 'a string');
  return node.value as string;
}

/** A non-negative integer node, or undefined. */
export function indexValue(node: Node | undefined): number | undefined {
  return node?.type === 'number' && Number.isInteger(node.value) && node.value >= 0 ? (node.value as number) : undefined;
}
