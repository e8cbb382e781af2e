/**
 * Reads the tensors one inbound-node entry feeds into a call, in every spelling:
 *   Keras 1:  [[layer, node, tensor], ...]
 *   Keras 2:  [[layer, node, tensor, kwargs], ...]; tensors inside kwargs are inputs too
 *             (tf.keras TFOpLambda: ["x", 0, 0, {"y": ["skip", 0, 0]}], written without the outer list)
 *   Keras 3:  {args: [...], kwargs: {...}} with {class_name: '__keras_tensor__', config: {keras_history}}
 *             anywhere inside; args depth-first, then kwargs in key order.
 */
import type { Node } from 'jsonc-parser';
import { entries, fail, indexValue, items, kind, prop, type JsonSource } from './jsonSource';
import { ValueNode } from './valueTree';

export interface RawRef {
  layer: string;
  nodeIndex: number;
  tensorIndex: number;
  /** Where the reference is written, for errors. */
  at: Node;
  /** The keyword argument it is passed by (the top-level kwargs key), absent for a positional one. */
  key?: string;
}

const REF_SHAPE = '[layer_name, node_index, tensor_index] (Keras 1), with a kwargs object fourth (Keras 2)';
/** tf.keras writes constants fed to an op as ['_CONSTANT_VALUE', -1, value, kwargs]. */
const CONSTANT = '_CONSTANT_VALUE';

export function entryRefs(src: JsonSource, entry: Node): RawRef[] {
  if (entry instanceof ValueNode) {
    const refs = plainRefs(entry.v, () => entry as unknown as Node);
    if (refs) return refs;
  }
  return nodeRefs(src, entry);
}

/**
 * The references of an entry read from JSON.parse's value (`value`); `node` makes the entry's node,
 * which only an error or an unusual entry (kwargs, nesting) needs.
 */
export function valueEntryRefs(src: JsonSource, value: unknown, node: () => Node): RawRef[] {
  return plainRefs(value, node) ?? nodeRefs(src, node());
}

function nodeRefs(src: JsonSource, entry: Node): RawRef[] {
  if (entry.type === 'object') return keras3Refs(src, entry);
  if (entry.type !== 'array') fail(src, entry, `inbound node entry is ${kind(entry)}`, `a list of ${REF_SHAPE}, or {args, kwargs}`);
  const refs: RawRef[] = [];
  let kwargs: Node | undefined;
  const visit = (n: Node): void => {
    const [first, , , fourth] = items(n);
    if (n.type === 'array' && first?.type === 'string') {
      if (first.value !== CONSTANT) refs.push(listRef(src, n));
      if (!kwargs && fourth?.type === 'object') kwargs = fourth;
    } else if (n.type === 'array') {
      items(n).forEach(visit);
    } else {
      fail(src, n, `tensor reference is ${kind(n)}`, REF_SHAPE);
    }
  };
  // The entry itself is one reference when tf.keras preserved a single-tensor first argument.
  if (items(entry)[0]?.type === 'string') visit(entry);
  else items(entry).forEach(visit);
  if (kwargs) collectKwargRefs(kwargs, refs);
  return refs;
}

const isIndex = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0;

/** A reference read from the value; its node (for an error) is made when asked for. */
class PlainRef implements RawRef {
  constructor(
    readonly layer: string,
    readonly nodeIndex: number,
    readonly tensorIndex: number,
    private readonly entry: () => Node,
    /** The reference's index in the entry; -1 when the entry is the reference. */
    private readonly i: number,
  ) {}

  get at(): Node {
    const e = this.entry();
    return this.i < 0 ? e : items(e)[this.i]!;
  }
}

/** [name, node, tensor] or [name, node, tensor, {}]: a reference with nothing else in it (no kwargs, no constant). */
export function isPlainRef(r: unknown): r is [string, number, number] {
  if (!Array.isArray(r) || typeof r[0] !== 'string' || r[0] === CONSTANT || !isIndex(r[1]) || !isIndex(r[2])) return false;
  if (r.length > 4) return false;
  const kw = r[3];
  return r.length === 3 || (kw !== null && typeof kw === 'object' && !Array.isArray(kw) && isEmpty(kw));
}

/** No own keys (JSON.parse's objects have no inherited enumerable ones): without Object.keys' array. */
function isEmpty(o: object): boolean {
  for (const k in o) if (Object.hasOwn(o, k)) return false;
  return true;
}

/**
 * The common Keras 1/2 entry read from JSON.parse's value without making nodes: a list of
 * [name, node, tensor(, {})] references, or one such reference. Anything else (kwargs that may hold
 * tensors, nesting, a malformed reference) returns undefined, and the node walk reads or refuses it.
 */
function plainRefs(e: unknown, entry: () => Node): RawRef[] | undefined {
  if (!Array.isArray(e)) return undefined;
  const one = (r: unknown, i: number): PlainRef | undefined => (isPlainRef(r) ? new PlainRef(r[0], r[1], r[2], entry, i) : undefined);
  if (typeof e[0] === 'string') {
    const r = one(e, -1);
    return r && [r];
  }
  const refs: RawRef[] = [];
  for (let i = 0; i < e.length; i++) {
    const r = one(e[i], i);
    if (!r) return undefined;
    refs.push(r);
  }
  return refs;
}

function listRef(src: JsonSource, n: Node): RawRef {
  const [name, node, tensor] = items(n);
  const nodeIndex = indexValue(node);
  const tensorIndex = indexValue(tensor);
  if (nodeIndex === undefined || tensorIndex === undefined) fail(src, n, 'malformed tensor reference', REF_SHAPE);
  return { layer: name!.value as string, nodeIndex, tensorIndex, at: n };
}

/** A kwargs value shaped [name, node, tensor] is a tensor fed by keyword (e.g. TFOpLambda's `y`). */
function collectKwargRefs(n: Node, out: RawRef[], key?: string): void {
  if (n.type === 'object') {
    for (const [k, v] of entries(n)) collectKwargRefs(v, out, key ?? k);
  } else if (n.type === 'array') {
    const [a, b, c] = items(n);
    const len = items(n).length;
    if (a?.type === 'string' && indexValue(b) !== undefined && indexValue(c) !== undefined && (len === 3 || (len === 4 && items(n)[3]!.type === 'object'))) {
      out.push({ layer: a.value as string, nodeIndex: indexValue(b)!, tensorIndex: indexValue(c)!, at: n, ...(key === undefined ? {} : { key }) });
    } else items(n).forEach((x) => collectKwargRefs(x, out, key));
  }
}

/**
 * The scalar keyword arguments of an inbound-node entry (use_causal_mask: true): Keras 3's `kwargs`, or the
 * kwargs object tf.keras writes fourth in the entry's first reference. Tensors and nested values are left out.
 */
export function entryFlags(entry: Node): Record<string, boolean | number | string | null> {
  let kwargs: Node | undefined;
  if (entry.type === 'object') kwargs = prop(entry, 'kwargs');
  else if (entry.type === 'array') {
    const first = items(entry)[0]?.type === 'string' ? entry : items(entry)[0];
    const fourth = first?.type === 'array' ? items(first)[3] : undefined;
    if (fourth?.type === 'object') kwargs = fourth;
  }
  const flags: Record<string, boolean | number | string | null> = {};
  for (const [k, v] of kwargs?.type === 'object' ? entries(kwargs) : []) {
    if (v.type === 'boolean' || v.type === 'number' || v.type === 'string' || v.type === 'null') flags[k] = v.value as boolean | number | string | null;
  }
  return flags;
}

function keras3Refs(src: JsonSource, entry: Node): RawRef[] {
  const refs: RawRef[] = [];
  const args = prop(entry, 'args');
  const kwargs = prop(entry, 'kwargs');
  if (args && args.type !== 'array') fail(src, args, `inbound node args is ${kind(args)}`, 'a JSON array');
  if (kwargs && kwargs.type !== 'object') fail(src, kwargs, `inbound node kwargs is ${kind(kwargs)}`, 'a JSON object');
  if (args) keras3Walk(src, args, refs);
  if (kwargs) for (const [k, v] of entries(kwargs)) keras3Walk(src, v, refs, k);
  return refs;
}

function keras3Walk(src: JsonSource, n: Node, out: RawRef[], key?: string): void {
  if (n.type === 'array') {
    items(n).forEach((x) => keras3Walk(src, x, out, key));
  } else if (n.type === 'object') {
    const cls = prop(n, 'class_name');
    if (cls?.type === 'string' && cls.value === '__keras_tensor__') {
      const history = prop(prop(n, 'config') ?? n, 'keras_history');
      const [name, node, tensor] = history ? items(history) : [];
      const nodeIndex = indexValue(node);
      const tensorIndex = indexValue(tensor);
      if (!history || name?.type !== 'string' || nodeIndex === undefined || tensorIndex === undefined) {
        fail(src, history ?? n, 'malformed __keras_tensor__', 'config.keras_history = [layer_name, node_index, tensor_index]');
      }
      out.push({ layer: name.value as string, nodeIndex, tensorIndex, at: history, ...(key === undefined ? {} : { key }) });
    } else {
      for (const [, v] of entries(n)) keras3Walk(src, v, out, key);
    }
  }
}
