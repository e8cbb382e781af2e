import type { Shape, TensorRef } from '../ir';
import { graphIndex } from '../graphIndex';
import { fromLayerConfig, LAUREL_CLASS } from '../laurel/laurelConfig';
import { DEFAULT_OPTIONS } from '../laurel/variants';
import type { VariantChoice } from '../laurel/variants';
import { shapeOf } from './analyze';
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

/** Every residual site of an analysed model, nested models included, in graph order. */
export function findResiduals(a: GraphAnalysis): ResidualSite[] {
  const sites: ResidualSite[] = [];
  const g = a.graph;
  const index = graphIndex(g);
  const dag = new DagQueries(g.nodes, index.inputs);
  // Positions of the tensors the finder is asked about (merge inputs, forks): each is a merge input or
  // a fork's first use, so they are the inputs' positions, found without a name lookup.
  const tensorAt = new Map<TensorRef, number>();
  // The tensor of a node that its first consumer reads: how a fork is named (multi-output forks are rare).
  const firstUse: (TensorRef | undefined)[] = new Array(g.nodes.length);
  g.nodes.forEach((n, k) => {
    const inputsAt = index.inputs[k]!;
    n.inputs.forEach((t, j) => {
      const p = inputsAt[j]!;
      if (p >= 0 && !firstUse[p]) firstUse[p] = t;
    });
  });
  const at = (t: TensorRef): number => tensorAt.get(t) ?? index.position(t.node) ?? -1;
  const forkOf = (x: TensorRef, y: TensorRef): TensorRef | undefined => {
    const i = at(x) < 0 || at(y) < 0 ? -1 : dag.nearestCommon(at(x), at(y));
    if (i < 0) return undefined;
    const t = firstUse[i] ?? { node: g.nodes[i]!.id, index: 0 };
    tensorAt.set(t, i);
    return t;
  };
  const isAncestor = (x: TensorRef, y: TensorRef): boolean => at(x) >= 0 && at(y) >= 0 && dag.isAncestor(at(x), at(y));

  g.nodes.forEach((node, k) => {
    const layer = g.layers[index.layerAt[k]!]!;
    if (layer.subgraph && node.callIndex === 0 && a.nested.has(layer.name)) sites.push(...findResiduals(a.nested.get(layer.name)!));
    if (!MERGES.has(layer.className) || node.inputs.length < 2) return;
    tensorAt.clear();
    node.inputs.forEach((t, j) => tensorAt.set(t, index.inputs[k]![j]!));
    const laurel = layer.className === LAUREL_CLASS ? fromLayerConfig(layer.config) : undefined;
    const pair = laurel ? [laurel.branchIndex, laurel.shortcutIndex] : node.inputs.length === 2 ? [0, 1] : undefined;
    if (!pair) return;
    const [i0, i1] = pair as [number, number];
    const t0 = node.inputs[i0];
    const t1 = node.inputs[i1];
    if (!t0 || !t1) return;
    let kind: ShortcutKind;
    let branchIndex = i0;
    let shortcutIndex = i1;
    let fork: TensorRef;
    // Layers strictly between the fork and a merge input, with that input: its path from the fork.
    const paths = new Map<TensorRef, number[]>();
    const pathOf = (t: TensorRef): number[] => {
      if (!paths.has(t)) paths.set(t, t.node === fork.node ? [] : [...dag.between(at(fork), at(t)), at(t)]);
      return paths.get(t)!;
    };
    if (laurel) {
      // The file says which input is which; only the kind is derived.
      const b = node.inputs[laurel.branchIndex]!;
      const s = node.inputs[laurel.shortcutIndex]!;
      kind = isAncestor(s, b) ? 'identity' : 'projection';
      fork = kind === 'identity' ? s : forkOf(b, s) ?? s;
    } else if (isAncestor(t0, t1)) {
      // Input 0 feeds input 1: input 0 is the shortcut x, input 1 is f(x).
      kind = 'identity';
      branchIndex = i1;
      shortcutIndex = i0;
      fork = t0;
    } else if (isAncestor(t1, t0)) {
      kind = 'identity';
      fork = t1;
    } else {
      const common = forkOf(t0, t1);
      if (!common) return; // two unrelated inputs: a merge, not a residual
      kind = 'projection';
      fork = common;
      // The shortcut is the shorter path from the fork (a 1x1 conv + BN, a pooling); ties: the second input.
      if (pathOf(t0).length < pathOf(t1).length) {
        branchIndex = i1;
        shortcutIndex = i0;
      }
    }
    const branch = node.inputs[branchIndex]!;
    const shortcut = node.inputs[shortcutIndex]!;
    const nodeLayer = (t: TensorRef): string => g.nodes[at(t)]!.layer;
    const path = (t: TensorRef): string[] => pathOf(t).map((i) => g.nodes[i]!.layer);
    const shape = a.shapes.get(node.id)?.[0] ?? shapeOf(a, shortcut);
    const width = shape && typeof shape.at(-1) === 'number' ? (shape.at(-1) as number) : null;
    const middle = shape ? shape.slice(1, -1) : null;
    const positions = middle && middle.every((d) => typeof d === 'number') ? middle.reduce<number>((p, d) => p * (d as number), 1) : null;
    sites.push({
      id: [...a.scope, node.id].join('/'),
      merge: layer.name,
      node: node.id,
      scope: a.scope,
      branchIndex,
      shortcutIndex,
      branch,
      shortcut,
      branchLayer: nodeLayer(branch),
      shortcutLayer: nodeLayer(shortcut),
      fork,
      forkLayer: nodeLayer(fork),
      shortcutKind: kind,
      shortcutLayers: kind === 'identity' ? [] : path(shortcut),
      branchLayers: path(branch),
      shape,
      width,
      positions,
      current: laurel ? laurel.choice : { variant: 'plain', options: DEFAULT_OPTIONS },
      inputCount: node.inputs.length,
    });
  });
  return sites;
}
