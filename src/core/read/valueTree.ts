/**
 * The readers' view of a valid JSON text: jsonc-parser's `Node` interface (type, value, parent,
 * children, offset, length, colonOffset) over the value `JSON.parse` made of it, so that reading a model
 * costs one `JSON.parse` and a few short-lived objects per node the readers look at, not a node per value
 * of the file nor a scan of its text. Children are made when asked for and not kept (what survives a
 * young-generation collection is what costs: a kept tree of the whole file was half the read time).
 *
 * Offsets are found only when asked for (an error to locate): the first request builds the text's own
 * tree (`textTree`, offsets from one scan of the text) and follows the node's path in it. Where the value
 * and the text differ, the value wins, as JSON.parse (and Python's json, so Keras) reads them: of
 * duplicate keys the last one's value, in the first one's place. Keys are in file order.
 */
import type { Node } from 'jsonc-parser';
import type { JsonPath } from '../ir';
import { textTree } from './fastTree';

type NodeType = Node['type'];

/** One parsed text: its nodes resolve their offsets through its text tree, built once. */
export class ValueText {
  private tree?: Node;

  constructor(readonly text: string) {}

  textRoot(): Node {
    return (this.tree ??= textTree(this.text));
  }
}

const typeOf = (v: unknown): NodeType => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'object' ? 'object' : (typeof v as NodeType));

/** An array index as a key: JSON.parse's objects list such keys first, whatever their place in the file. */
const INDEX_KEY = /^(?:0|[1-9]\d*)$/;

export class ValueNode {
  parent?: ValueNode;
  value?: unknown;
  private kids?: ValueNode[];
  private at?: Node;

  constructor(
    readonly type: NodeType,
    /** The parsed value (objects and arrays included); for a property node, its key. */
    readonly v: unknown,
    parent: ValueNode | undefined,
    /** The index in an array, 0 / 1 for a property's key / value. */
    readonly index: number,
    readonly src: ValueText,
  ) {
    if (parent) this.parent = parent;
    if (type !== 'object' && type !== 'array' && type !== 'property') this.value = v;
  }

  get children(): ValueNode[] | undefined {
    if (this.type === 'array') {
      const a = this.v as unknown[];
      const out = new Array<ValueNode>(a.length);
      for (let i = 0; i < a.length; i++) out[i] = new ValueNode(typeOf(a[i]), a[i], this, i, this.src);
      return out;
    }
    if (this.type === 'object') {
      let keys = Object.keys(this.v as object);
      if (keys.length && INDEX_KEY.test(keys[0]!)) keys = this.fileOrder();
      return keys.map((k) => this.property(k));
    }
    return this.kids;
  }

  /** The node of item `i` of an array, or undefined: one node, where `children` makes them all. */
  item(i: number): ValueNode | undefined {
    if (this.type !== 'array' || i < 0 || i >= (this.v as unknown[]).length) return undefined;
    const x = (this.v as unknown[])[i];
    return new ValueNode(typeOf(x), x, this, i, this.src);
  }

  /** The value node of `key` (JSON.parse's: the last of duplicates), or undefined. */
  prop(key: string): ValueNode | undefined {
    return this.type === 'object' && Object.hasOwn(this.v as object, key) ? this.property(key).kids![1] : undefined;
  }

  private property(key: string): ValueNode {
    const p = new ValueNode('property', key, this, 0, this.src);
    const v = (this.v as Record<string, unknown>)[key];
    p.kids = [new ValueNode('string', key, p, 0, this.src), new ValueNode(typeOf(v), v, p, 1, this.src)];
    return p;
  }

  /** Distinct keys in the order of their first place in the text. */
  private fileOrder(): string[] {
    const seen = new Set<string>();
    for (const p of this.textNode().children ?? []) seen.add(p.children![0]!.value as string);
    return [...seen];
  }

  /** The path from the root, as jsonc-parser's getNodePath gives it. */
  path(): JsonPath {
    const out: JsonPath = [];
    for (let n: ValueNode = this; n.parent; n = n.parent) {
      if (n.parent.type === 'array') out.push(n.index);
      else if (n.parent.type === 'property') out.push(n.parent.v as string);
    }
    return out.reverse();
  }

  /** The node at the same place in the text's own tree. */
  private textNode(): Node {
    if (this.at) return this.at;
    const p = this.parent;
    let t: Node | undefined;
    if (!p) t = this.src.textRoot();
    else if (p.type === 'property' || p.type === 'array') t = p.textNode().children![this.index];
    else {
      // A property: the last of its key's duplicates holds the value JSON.parse kept.
      for (const q of p.textNode().children ?? []) if (q.children![0]!.value === this.v) t = q;
    }
    if (!t) throw new Error('valueTree: a value node without its place in the text');
    return (this.at = t);
  }

  get offset(): number {
    return this.textNode().offset;
  }

  get length(): number {
    return this.textNode().length;
  }

  get colonOffset(): number | undefined {
    return this.textNode().colonOffset;
  }
}

/** The tree of `src.text`, whose value `JSON.parse(src.text)` is `value`. */
export function valueTree(src: ValueText, value: unknown): ValueNode {
  return new ValueNode(typeOf(value), value, undefined, 0, src);
}
