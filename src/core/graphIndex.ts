/**
 * A graph's calls by position: each call's layer and input calls as indices, so that the analysis and the
 * residual finder walk arrays instead of looking up names. String-keyed maps were most of openModel's
 * time on large models (about twenty lookups per call, each a hash probe and a string compare in a heap
 * of tens of MB); the reader knows the positions already and hands them over (`primeGraphIndex`), once.
 *
 * Cached per `nodes` array: a graph is not changed in place after it is read (views and the trainer
 * build new arrays), and a graph nobody primed is indexed from its names on first use.
 */
import type { ModelGraph } from './ir';

export interface GraphIndex {
  /** Per call, the position of each input's call in `nodes` (same order as `inputs`), -1 where none. */
  inputs: number[][];
  /** Per call, the index of its layer in `layers` (-1 where none). */
  layerAt: Int32Array;
  /** A call's position by id, or undefined (a map made on first use: most callers need positions only). */
  position(id: string): number | undefined;
}

const cache = new WeakMap<object, GraphIndex>();

export function graphIndex(g: ModelGraph): GraphIndex {
  const hit = cache.get(g.nodes);
  if (hit && hit.layerAt.length === g.nodes.length) return hit;
  const positions = positionMap(g);
  const layerIndex = new Map<string, number>();
  g.layers.forEach((l, i) => layerIndex.set(l.name, i));
  const index: GraphIndex = {
    inputs: g.nodes.map((n) => n.inputs.map((t) => positions.get(t.node) ?? -1)),
    layerAt: Int32Array.from(g.nodes, (n) => layerIndex.get(n.layer) ?? -1),
    position: (id) => positions.get(id),
  };
  cache.set(g.nodes, index);
  return index;
}

/**
 * The reader's index of the graph it built (positions it already had: no name is looked up again);
 * `position` its own lookup of a call id, so no map of every id is made.
 */
export function primeGraphIndex(g: ModelGraph, inputs: number[][], layerAt: Int32Array, position: (id: string) => number | undefined): void {
  cache.set(g.nodes, { inputs, layerAt, position });
}

function positionMap(g: ModelGraph): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < g.nodes.length; i++) m.set(g.nodes[i]!.id, i);
  return m;
}
