/**
 * jsonc-parser's tree (`Node`: type, offset, length, parent, children, value, colonOffset) of a strict
 * JSON text, built only where it is looked at. jsonc-parser's `parseTree` allocates a node for every
 * value of the file (about ten times `JSON.parse`'s time on a large model, most of it garbage
 * collection); the readers look at the model's structure and read each layer's config as one value.
 *
 * `JSON.parse` first says whether the text is valid JSON (for any text it refuses, `fastTree` returns
 * undefined and the caller uses `parseTree`, whose error codes and offsets locate the problem). One
 * scan then records where every object and array ends; a node's children are made the first time
 * they are asked for. `jsonValue` reads a node's value with `JSON.parse` of its text. Expanded
 * completely, the tree equals `parseTree(text)`'s node for node (tested on every fixture).
 */
import { getNodeValue, type Node } from 'jsonc-parser';

type NodeType = Node['type'];

/** Offsets of every '{' / '[' in text order and of the bracket that closes each. */
interface Brackets {
  opens: Int32Array;
  closes: Int32Array;
  count: number;
}

class LazyNode {
  parent?: LazyNode;
  value?: unknown;
  colonOffset?: number;
  private kids?: LazyNode[];

  constructor(
    readonly type: NodeType,
    readonly offset: number,
    readonly length: number,
    parent: LazyNode | undefined,
    readonly src: LazyText,
  ) {
    if (parent) this.parent = parent;
  }

  get children(): LazyNode[] | undefined {
    if (this.type !== 'object' && this.type !== 'array' && this.type !== 'property') return undefined;
    return (this.kids ??= this.src.childrenOf(this));
  }

  set children(kids: LazyNode[] | undefined) {
    this.kids = kids;
  }
}

class LazyText {
  constructor(
    readonly text: string,
    private readonly brackets: Brackets,
  ) {}

  private closeOf(open: number): number {
    const { opens, closes, count } = this.brackets;
    let lo = 0;
    let hi = count - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (opens[mid]! < open) lo = mid + 1;
      else hi = mid;
    }
    return closes[lo]!;
  }

  private skipSpace(i: number): number {
    const text = this.text;
    for (let c = text.charCodeAt(i); c === 32 || c === 10 || c === 13 || c === 9; c = text.charCodeAt(++i));
    return i;
  }

  /** The value node that starts at `i` (no leading space). */
  valueAt(i: number, parent: LazyNode | undefined): LazyNode {
    const text = this.text;
    const c = text.charCodeAt(i);
    if (c === 123 || c === 91) return new LazyNode(c === 123 ? 'object' : 'array', i, this.closeOf(i) + 1 - i, parent, this);
    if (c === 34) return this.stringAt(i, parent);
    if (c === 116) return this.literal('boolean', true, i, 4, parent);
    if (c === 102) return this.literal('boolean', false, i, 5, parent);
    if (c === 110) return this.literal('null', null, i, 4, parent);
    let end = i;
    for (let d = c; (d >= 48 && d <= 57) || d === 45 || d === 43 || d === 46 || d === 101 || d === 69; d = text.charCodeAt(++end));
    return this.literal('number', Number(text.slice(i, end)), i, end - i, parent);
  }

  private stringAt(i: number, parent: LazyNode | undefined): LazyNode {
    const end = stringEnd(this.text, i);
    const raw = this.text.slice(i + 1, end - 1);
    return this.literal('string', raw.includes('\\') ? (JSON.parse(this.text.slice(i, end)) as string) : raw, i, end - i, parent);
  }

  private literal(type: NodeType, value: unknown, offset: number, length: number, parent: LazyNode | undefined): LazyNode {
    const node = new LazyNode(type, offset, length, parent, this);
    node.value = value;
    return node;
  }

  /** The direct children of an object (property nodes) or an array (value nodes). */
  childrenOf(node: LazyNode): LazyNode[] {
    const text = this.text;
    const out: LazyNode[] = [];
    const last = node.offset + node.length - 1;
    let i = this.skipSpace(node.offset + 1);
    while (i < last) {
      if (node.type === 'object') {
        const property = new LazyNode('property', i, 0, node, this);
        const key = this.stringAt(i, property);
        const colon = this.skipSpace(key.offset + key.length);
        property.colonOffset = colon;
        const value = this.valueAt(this.skipSpace(colon + 1), property);
        property.children = [key, value];
        (property as { length: number }).length = value.offset + value.length - i;
        out.push(property);
        i = value.offset + value.length;
      } else {
        const value = this.valueAt(i, node);
        out.push(value);
        i = value.offset + value.length;
      }
      i = this.skipSpace(i);
      if (text.charCodeAt(i) === 44) i = this.skipSpace(i + 1);
    }
    return out;
  }
}

/** The offset just after the string that starts (with its quote) at `start`. */
function stringEnd(text: string, start: number): number {
  let end = text.indexOf('"', start + 1);
  // A quote after an odd number of backslashes is escaped: look further.
  for (;;) {
    let k = end - 1;
    while (text.charCodeAt(k) === 92) k--;
    if ((end - 1 - k) % 2 === 0) return end + 1;
    end = text.indexOf('"', end + 1);
  }
}

function scanBrackets(text: string): Brackets {
  let opens = new Int32Array(1024);
  let closes = new Int32Array(1024);
  let count = 0;
  const stack: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      i = stringEnd(text, i) - 1;
    } else if (c === 123 || c === 91) {
      if (count === opens.length) {
        const grow = (a: Int32Array): Int32Array<ArrayBuffer> => {
          const b = new Int32Array(a.length * 2);
          b.set(a);
          return b;
        };
        opens = grow(opens);
        closes = grow(closes);
      }
      opens[count] = i;
      stack.push(count++);
    } else if (c === 125 || c === 93) {
      closes[stack.pop()!] = i;
    }
  }
  return { opens, closes, count };
}

/** The tree of a valid JSON text, expanded on demand; undefined when `JSON.parse` refuses the text. */
export function fastTree(text: string): Node | undefined {
  try {
    JSON.parse(text);
  } catch {
    return undefined;
  }
  return textTree(text);
}

/** The tree of a text known to be valid JSON (`JSON.parse` accepted it). */
export function textTree(text: string): Node {
  const lazy = new LazyText(text, scanBrackets(text));
  let i = 0;
  for (let c = text.charCodeAt(i); c === 32 || c === 10 || c === 13 || c === 9; c = text.charCodeAt(++i));
  return lazy.valueAt(i, undefined) as unknown as Node;
}

/**
 * A node's value: `JSON.parse` of its text for a lazy node, jsonc-parser's `getNodeValue` otherwise.
 * Objects have no prototype either way, so a key a file lacks ('constructor', 'toString') reads as
 * undefined, never as Object.prototype's.
 */
export function jsonValue(node: Node): unknown {
  if (node instanceof LazyNode) return withoutPrototypes(JSON.parse(node.src.text.slice(node.offset, node.offset + node.length)));
  return getNodeValue(node);
}

/** In place (a copy would double the allocation): JSON.parse's objects are fresh and ours alone. */
export function withoutPrototypes(v: unknown): unknown {
  if (Array.isArray(v)) {
    for (const x of v) withoutPrototypes(x);
  } else if (v !== null && typeof v === 'object') {
    Object.setPrototypeOf(v, null);
    // for-in without a prototype is the own keys, with no array made per object.
    for (const k in v) withoutPrototypes((v as Record<string, unknown>)[k]);
  }
  return v;
}
