import type { Shape, TensorRef } from '../ir';
import { graphIndex } from '../graphIndex';
import { fromLayerConfig, LAUREL_CLASS } from '../laurel/laurelConfig';
import { DEFAULT_OPTIONS } from '../laurel/variants';
import type { VariantChoice } from '../laurel/variants';
import { DagQueries } from './dagQueries';
import type { GraphAnalysis } from './analyze';

export type ShortcutKind = 'identity' | 'projection';

/**
 * A residual connection: an add-merge (or a LAuReL layer that replaced one) joining a tensor with its own
 * ancestor (identity shortcut), or joining two branches forked from one point (projection shortcut).
 */
export interface ResidualSite {
  /** Unique in the model: the merge's call id, prefixed by nested model names ('block_1/add_3'). */
  id: string;
  /** The merge layer's name. */
  merge: string;
  /** The merge's call node id within its graph. */
  node: string;
  /** Nested model names from the top, empty at the top level. */
  scope: string[];
  /** Which merge input is the branch f(x) and which the shortcut. */
  branchIndex: number;
  shortcutIndex: number;
  branch: TensorRef;
  shortcut: TensorRef;
  /** Layers producing the branch and the shortcut inputs. */
  branchLayer: string;
  shortcutLayer: string;
  /** The tensor x both paths start from (for identity, the shortcut tensor itself). */
  fork: TensorRef;
  forkLayer: string;
  shortcutKind: ShortcutKind;
  /** Layers on the shortcut path between the fork and the merge (empty for identity). */
  shortcutLayers: string[];
  /** Layers on the branch path between the fork and the merge. */
  branchLayers: string[];
  /** The merge's output shape and its last dimension D (channels for conv nets). */
  shape: Shape | null;
  width: number | null;
  /** Positions the LAuReL op runs at per example (H·W, or T): the product of the middle dims. */
  positions: number | null;
  /** The variant the file currently has there (plain for a plain add). */
  current: VariantChoice;
  /** The merge's inputs in the file: 2, or more for a PA LaurelResidual (its earlier activations). */
  inputCount: number;
}

const MERGES = new Set(['Add', LAUREL_CLASS]);
const PLAIN: VariantChoice = { variant: 'plain', options: DEFAULT_OPTIONS };

/** Every residual site of an analysed model, nested models included, in graph order. */
export function findResiduals(a: GraphAnalysis): ResidualSite[] {
  const sites: ResidualSite[] = [];
  const g = a.graph;
  const index = graphIndex(g);
  const dag = new DagQueries(g.nodes, index);
  const { inputStart, inputCalls } = index;
  // The tensor of a node that its first consumer reads: how a fork is named (multi-output forks are rare).
  // Kept as the consumer's input entry, from the index alone: the few forks that need it read one node each.
  const firstEntry = new Int32Array(g.nodes.length).fill(-1);
  const consumer = new Int32Array(inputCalls.length);
  for (let k = 0; k < g.nodes.length; k++) {
    for (let e = inputStart[k]!; e < inputStart[k + 1]!; e++) {
      const p = inputCalls[e]!;
      consumer[e] = k;
      if (p >= 0 && firstEntry[p]! < 0) firstEntry[p] = e;
    }
  }
  const firstUse = (p: number): TensorRef | undefined => {
    const e = firstEntry[p]!;
    return e < 0 ? undefined : g.nodes[consumer[e]!]!.inputs[e - inputStart[consumer[e]!]!];
  };
  // Everything below works on positions (the merge's inputs' and the fork's), never on names.
  const layerAt = (i: number): string => g.nodes[i]!.layer;
  // Layers strictly between the fork and a merge input, with that input: its path from the fork.
  const pathFrom = (fork: number, to: number): number[] => {
    if (to === fork) return [];
    const p = dag.between(fork, to);
    p.push(to);
    return p;
  };
  const names = (p: number[]): string[] => p.map(layerAt);
  // The position of input j of call k, -1 where there is none.
  const inputAt = (k: number, j: number): number => (j >= 0 && j < inputStart[k + 1]! - inputStart[k]! ? inputCalls[inputStart[k]! + j]! : -1);

  // A residual merges two inputs or more: the index says which calls do, so a large model's other calls
  // (most of them) are skipped without reading their node and layer objects (each a cache miss there).
  const nested = a.nested.size > 0;
  for (let k = 0; k < g.nodes.length; k++) {
    if (!nested && inputStart[k + 1]! - inputStart[k]! < 2) continue;
    const node = g.nodes[k]!;
    const layer = g.layers[index.layerAt[k]!]!;
    if (layer.subgraph && node.callIndex === 0 && a.nested.has(layer.name)) sites.push(...findResiduals(a.nested.get(layer.name)!));
    if (!MERGES.has(layer.className) || node.inputs.length < 2) continue;
    const laurel = layer.className === LAUREL_CLASS ? fromLayerConfig(layer.config) : undefined;
    let i0 = 0;
    let i1 = 1;
    if (laurel) [i0, i1] = [laurel.branchIndex, laurel.shortcutIndex];
    else if (node.inputs.length !== 2) continue;
    const p0 = inputAt(k, i0);
    const p1 = inputAt(k, i1);
    if (!node.inputs[i0] || !node.inputs[i1] || p0 < 0 || p1 < 0) continue;
    let kind: ShortcutKind;
    let branchIndex = i0;
    let shortcutIndex = i1;
    let fork: number;
    let forkTensor: TensorRef;
    let branchPath: number[] | undefined;
    let shortcutPath: number[] | undefined;
    if (laurel) {
      // The file says which input is which; only the kind is derived.
      kind = dag.isAncestor(p1, p0) ? 'identity' : 'projection';
      const common = kind === 'identity' ? -1 : dag.nearestCommon(p0, p1);
      fork = common < 0 ? p1 : common;
    } else if (dag.isAncestor(p0, p1)) {
      // Input 0 feeds input 1: input 0 is the shortcut x, input 1 is f(x).
      kind = 'identity';
      branchIndex = i1;
      shortcutIndex = i0;
      fork = p0;
    } else if (dag.isAncestor(p1, p0)) {
      kind = 'identity';
      fork = p1;
    } else {
      const common = dag.nearestCommon(p0, p1);
      if (common < 0) continue; // two unrelated inputs: a merge, not a residual
      kind = 'projection';
      fork = common;
      // The shortcut is the shorter path from the fork (a 1x1 conv + BN, a pooling); ties: the second input.
      const path0 = pathFrom(fork, p0);
      const path1 = pathFrom(fork, p1);
      [branchPath, shortcutPath] = path0.length < path1.length ? [path1, path0] : [path0, path1];
      if (path0.length < path1.length) {
        branchIndex = i1;
        shortcutIndex = i0;
      }
    }
    const branch = node.inputs[branchIndex]!;
    const shortcut = node.inputs[shortcutIndex]!;
    const branchAt = inputAt(k, branchIndex);
    const shortcutAt = inputAt(k, shortcutIndex);
    // The fork is named by the tensor the shortcut reads when it is the shortcut itself, else by its first use.
    if (fork === shortcutAt && (kind === 'identity' || !laurel || fork === p1)) forkTensor = shortcut;
    else forkTensor = firstUse(fork) ?? { node: g.nodes[fork]!.id, index: 0 };
    const shape = a.outputs[k]?.[0] ?? a.outputs[shortcutAt]?.[shortcut.index] ?? null;
    const width = shape && typeof shape.at(-1) === 'number' ? (shape.at(-1) as number) : null;
    let positions: number | null = shape ? 1 : null;
    for (let d = 1; shape && d < shape.length - 1; d++) positions = typeof shape[d] === 'number' && positions !== null ? positions * (shape[d] as number) : null;
    sites.push({
      id: a.scope.length ? [...a.scope, node.id].join('/') : node.id,
      merge: layer.name,
      node: node.id,
      scope: a.scope,
      branchIndex,
      shortcutIndex,
      branch,
      shortcut,
      branchLayer: layerAt(branchAt),
      shortcutLayer: layerAt(shortcutAt),
      fork: forkTensor,
      forkLayer: layerAt(fork),
      shortcutKind: kind,
      shortcutLayers: kind === 'identity' ? [] : names(shortcutPath ?? pathFrom(fork, shortcutAt)),
      branchLayers: names(branchPath ?? pathFrom(fork, branchAt)),
      shape,
      width,
      positions,
      current: laurel ? laurel.choice : PLAIN,
      inputCount: node.inputs.length,
    });
  }
  return sites;
}
