/**
 * The calls of a functional model as the reader makes them: CallNodes in layer order (call k of layer i
 * at start[i] + k) and, for the graph index, each call's layer and input positions (compressed rows: see
 * graphIndex.ts).
 *
 * A file that references only layers written before (Keras writes them so) has its calls made while its
 * layers are read, each layer's right after it (`readLayers`' `each`): its inbound entries are still in
 * cache then, where a second pass over a large model's layers reads each of them from memory again. The
 * first reference this cannot place (a later layer, an entry to refuse with its place) drops the table,
 * and `afterRead` makes every call again once all layers are read, refusing what is wrong as it goes.
 */
import { callId, type CallNode, type TensorRef } from '../ir';
import { opLambdaClass } from './canonicalConfig';
import { entryFlags, isPlainRef, type RawRef } from './inboundRefs';
import { fail, type JsonSource } from './jsonSource';
import type { ReadLayers } from './readLayers';

/** Layers whose call's keyword arguments the analysis and the exports read. */
const CALL_ARGS_CLASSES = new Set(['MultiHeadAttention']);

export class CallTable {
  /** Per layer, the position of its first call. */
  readonly start: Int32Array;
  private nodeList: CallNode[];
  private layerAtList: Int32Array;
  private inputStartList: Int32Array;
  private inputCallList: Int32Array;
  private made = 0;
  private used = 0;

  /** `capacity`: how many calls to make room for (the arrays grow past it, by doubling). */
  private constructor(
    private readonly src: JsonSource,
    private readonly read: ReadLayers,
    capacity: number,
  ) {
    this.start = new Int32Array(read.layers.length);
    // At its size: an array grown by push from empty is copied a dozen times on its way to 20,000 calls.
    this.nodeList = new Array(capacity);
    this.layerAtList = new Int32Array(capacity);
    this.inputStartList = new Int32Array(capacity + 1);
    this.inputCallList = new Int32Array(2 * capacity + 8);
  }

  /** A table to fill while the layers are read: `layer(i, false)` after each. */
  static whileReading(src: JsonSource, read: ReadLayers): CallTable {
    return new CallTable(src, read, read.layers.length);
  }

  /** Every call, made once all layers are read (references to later layers resolved; what is wrong refused). */
  static afterRead(src: JsonSource, read: ReadLayers): CallTable {
    const count = read.callCount;
    let total = 0;
    for (let i = 0; i < count.length; i++) total += count[i]!;
    const table = new CallTable(src, read, total);
    for (let i = 0, at = 0; i < count.length; at += count[i]!, i++) table.start[i] = at;
    for (let i = 0; i < count.length; i++) table.layer(i, true);
    return table;
  }

  get nodes(): CallNode[] {
    if (this.nodeList.length !== this.made) this.nodeList.length = this.made;
    return this.nodeList;
  }

  /** The index's arrays at the calls' count (copied only where the table made room for more). */
  rows(): { inputStart: Int32Array; inputCalls: Int32Array; layerAt: Int32Array } {
    const n = this.made;
    return { inputStart: sized(this.inputStartList, n + 1), inputCalls: sized(this.inputCallList, this.used), layerAt: sized(this.layerAtList, n) };
  }

  /** Layer i by a reference's name, or -1 (`strict`: refuses, with its place, one the model does not have). */
  layerOf(ref: RawRef, strict: boolean): number {
    const count = this.read.callCount;
    const i = this.read.byName.get(ref.layer);
    if (i !== undefined && ref.nodeIndex < count[i]!) return i;
    if (!strict) return -1;
    if (i === undefined) fail(this.src, ref.at, `reference to layer "${ref.layer}", which the model does not have`, 'the name of a layer in config.layers');
    return fail(this.src, ref.at, `reference to call node ${ref.nodeIndex} of layer "${ref.layer}", which has ${count[i]} call node(s)`, `a node index below ${count[i]}`);
  }

  /**
   * Makes layer li's calls. Not `strict` (while reading), false where one cannot be made yet, and the table
   * is to be dropped; `strict`, every reference is placed or refused.
   */
  layer(li: number, strict: boolean): boolean {
    const { read, src } = this;
    const layer = read.layers[li]!;
    this.start[li] = this.made;
    if (layer.className === 'InputLayer') {
      this.push(li, { id: callId(layer.name, 0), layer: layer.name, callIndex: 0, inputs: [] });
      return true;
    }
    for (let k = 0; k < read.callCount[li]!; k++) {
      let refs: RawRef[] | undefined;
      const raw = read.entryValue(li, k);
      let inputs = (raw === undefined ? undefined : this.plainInputs(raw)) ?? [];
      if (inputs.length === 0) {
        refs = strict ? read.refs(src, li, k) : this.tryRefs(li, k);
        if (!refs) return false;
        inputs = new Array(refs.length);
        for (let j = 0; j < refs.length; j++) {
          const ref = refs[j]!;
          const i = this.layerOf(ref, strict);
          if (i < 0) return false;
          this.at(this.start[i]! + ref.nodeIndex);
          inputs[j] = { node: callId(read.layers[i]!.name, ref.nodeIndex), index: ref.tensorIndex };
        }
      }
      if (k === 0 && layer.sourceClassName === 'TFOpLambda') layer.className = opLambdaClass(layer.config, inputs.length) ?? layer.className;
      // A nested model's call feeds its tensors to the subgraph's inputs, one for one.
      const expected = layer.subgraph?.inputs.length;
      if (expected !== undefined && inputs.length !== expected) {
        if (!strict) return false;
        fail(src, read.entry(li, k), `call ${k} of nested model "${layer.name}" passes ${inputs.length} tensor(s)`, `${expected}, one for each of its inputs`);
      }
      const node: CallNode = { id: callId(layer.name, k), layer: layer.name, callIndex: k, inputs, written: true };
      // Keyword inputs and flags are kept where a layer's meaning depends on them (MultiHeadAttention's masks);
      // a plain entry has neither.
      if (refs && CALL_ARGS_CLASSES.has(layer.className)) {
        const flags = entryFlags(read.entry(li, k));
        if (refs.some((r) => r.key !== undefined) || Object.keys(flags).length) node.args = { keys: refs.map((r) => r.key ?? null), flags };
      }
      this.push(li, node);
    }
    return true;
  }

  /** An entry's references, or undefined where reading it fails (the strict pass refuses it, in its turn). */
  private tryRefs(li: number, k: number): RawRef[] | undefined {
    try {
      return this.read.refs(this.src, li, k);
    } catch {
      return undefined;
    }
  }

  private push(li: number, node: CallNode): void {
    if (this.made === this.layerAtList.length) {
      this.layerAtList = grown(this.layerAtList, 2 * this.made + 8);
      this.inputStartList = grown(this.inputStartList, 2 * this.made + 9);
    }
    this.layerAtList[this.made] = li;
    this.nodeList[this.made++] = node;
    this.inputStartList[this.made] = this.used;
  }

  private at(p: number): void {
    if (this.used === this.inputCallList.length) this.inputCallList = grown(this.inputCallList, 2 * this.used);
    this.inputCallList[this.used++] = p;
  }

  /**
   * A plain entry's inputs read straight from JSON.parse's value, or undefined (no position left recorded):
   * the RawRef way then reads what is unusual and refuses, with its place, what is wrong. Arrays are made
   * at their size (one pushed onto grows to 17 slots).
   */
  private plainInputs(e: unknown): TensorRef[] | undefined {
    if (!Array.isArray(e)) return undefined;
    const mark = this.used;
    const one = typeof e[0] === 'string';
    const inputs: TensorRef[] = new Array(one ? 1 : e.length);
    let ok = true;
    if (one) ok = this.plainInput(e, inputs, 0);
    else for (let j = 0; j < e.length && ok; j++) ok = this.plainInput(e[j], inputs, j);
    if (ok) return inputs;
    this.used = mark;
    return undefined;
  }

  private plainInput(r: unknown, inputs: TensorRef[], j: number): boolean {
    if (!isPlainRef(r)) return false;
    const i = this.read.byName.get(r[0]);
    if (i === undefined || r[1] >= this.read.callCount[i]!) return false;
    this.at(this.start[i]! + r[1]);
    inputs[j] = { node: callId(this.read.layers[i]!.name, r[1]), index: r[2] };
    return true;
  }
}

const sized = (a: Int32Array, n: number): Int32Array => (a.length === n ? a : a.slice(0, n));

function grown(a: Int32Array, size: number): Int32Array {
  const b = new Int32Array(size);
  b.set(a);
  return b;
}
