/**
 * A graph's calls by position: each call's layer and input calls as indices, so that the analysis and the
 * residual finder walk arrays instead of looking up names. String-keyed maps were most of openModel's
 * time on large models (about twenty lookups per call, each a hash probe and a string compare in a heap
 * of tens of MB); the reader knows the positions already and hands them over (`primeGraphIndex`), once.
 *
 * The input positions are two typed arrays for the whole graph (compressed rows), not a list per call:
 * what a read keeps is copied by the young-generation collector and marked by the old one, so a small
 * array per call cost more than the lookups it saves.
 *
 * Cached per `nodes` array: a graph is not changed in place after it is read (views and the trainer
 * build new arrays), and a graph nobody primed is indexed from its names on first use.
 */
import type { ModelGraph } from './ir';

export interface GraphIndex {
  /**
   * Input positions of call k: `inputCalls[inputStart[k]]` to `inputCalls[inputStart[k + 1] - 1]`, in
   * the order of its `inputs`, -1 for an input that names no call. `inputStart` has one entry more than
   * there are calls.
   */
  inputStart: Int32Array;
  inputCalls: Int32Array;
  /** Per call, the index of its layer in `layers` (-1 where none). */
  layerAt: Int32Array;
  /** The position of each of the graph's outputs' calls (-1 where none), in the order of `outputs`. */
  outputAt: Int32Array;
  /** A call's position by id, or undefined (a map made on first use: most callers need positions only). */
  position(id: string): number | undefined;
}

const cache = new WeakMap<object, GraphIndex>();

export function graphIndex(g: ModelGraph): GraphIndex {
  const hit = cache.get(g.nodes);
  if (hit && hit.layerAt.length === g.nodes.length) return hit;
  const positions = positionMap(g.nodes);
  const layerIndex = new Map<string, number>();
  g.layers.forEach((l, i) => layerIndex.set(l.name, i));
  const inputStart = new Int32Array(g.nodes.length + 1);
  for (let k = 0; k < g.nodes.length; k++) inputStart[k + 1] = inputStart[k]! + g.nodes[k]!.inputs.length;
  const inputCalls = new Int32Array(inputStart[g.nodes.length]!);
  g.nodes.forEach((n, k) => n.inputs.forEach((t, j) => (inputCalls[inputStart[k]! + j] = positions.get(t.node) ?? -1)));
  const index: GraphIndex = {
    inputStart,
    inputCalls,
    layerAt: Int32Array.from(g.nodes, (n) => layerIndex.get(n.layer) ?? -1),
    outputAt: Int32Array.from(g.outputs, (t) => positions.get(t.node) ?? -1),
    position: (id) => positions.get(id),
  };
  cache.set(g.nodes, index);
  return index;
}

/**
 * The reader's index of the graph it built (positions it already had: no name is looked up again).
 * `position` makes its map of ids on first use only; the reader's own map of names is not kept.
 */
export function primeGraphIndex(g: ModelGraph, index: Omit<GraphIndex, 'position'>): void {
  let positions: Map<string, number> | undefined;
  const nodes = g.nodes;
  cache.set(nodes, { ...index, position: (id) => (positions ??= positionMap(nodes)).get(id) });
}

function positionMap(nodes: ModelGraph['nodes']): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < nodes.length; i++) m.set(nodes[i]!.id, i);
  return m;
}
