/**
 * A parsed JSON text with the helpers every reader step uses: typed access to jsonc-parser nodes and
 * errors that carry file, line:column, JSON path and what was expected.
 */
import { getNodePath, parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';
import type { JsonPath } from '../ir';
import { ModelError, lineColumn } from '../errors';
import { fastTree, jsonValue } from './fastTree';

export interface JsonSource {
  file: string;
  text: string;
  /** Set when `text` is an inner document (the JSON string's value, a zip member). */
  inner?: string;
  root: Node;
}

/** Throws a ModelError located at `offset` in the source. */
export function failAtOffset(src: { file: string; text: string; inner?: string }, offset: number, path: JsonPath | undefined, what: string, expected?: string): never {
  const { line, column } = lineColumn(src.text, offset);
  throw new ModelError(what, { file: src.file, path, offset, line, column, inner: src.inner }, expected);
}

/** Throws a ModelError at `node`; `path` overrides the node's own path (e.g. for a missing key). */
export function fail(src: JsonSource, node: Node, what: string, expected?: string, path?: JsonPath): never {
  return failAtOffset(src, node.offset, path ?? getNodePath(node), what, expected);
}

export function parseJson(file: string, text: string, inner?: string): JsonSource {
  const errors: ParseError[] = [];
  // jsonc-parser only for text JSON.parse refuses: its error codes and offsets say where and what.
  const root = fastTree(text) ?? parseTree(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const src = { file, text, inner };
  if (errors.length > 0 || !root) {
    const e = errors[0];
    const offset = e ? e.offset : 0;
    const what = e ? `malformed JSON (${printParseErrorCode(e.error)})` : 'empty file';
    failAtOffset(src, offset, undefined, what, 'a complete JSON document');
  }
  return { ...src, root };
}

/** 'an array', 'a string', 'null': a node's kind for messages. */
export const kind = (node: Node): string => (node.type === 'null' ? 'null' : `${/^[aeiou]/.test(node.type) ? 'an' : 'a'} ${node.type}`);

export const pathOf = (node: Node): JsonPath => getNodePath(node);
export const valueOf = (node: Node): unknown => jsonValue(node);

/** The value node of `key` in an object node (the last one, as JSON.parse would keep). */
export function prop(node: Node, key: string): Node | undefined {
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
