import type { CallNode, Shape, TensorRef } from '../ir';
import { layerByName } from '../ir';
import { fromLayerConfig, LAUREL_CLASS } from '../laurel/laurelConfig';
import { DEFAULT_OPTIONS } from '../laurel/variants';
import type { VariantChoice } from '../laurel/variants';
import { shapeOf } from './analyze';
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
}

const MERGES = new Set(['Add', LAUREL_CLASS]);

/** Every residual site of an analysed model, nested models included, in graph order. */
export function findResiduals(a: GraphAnalysis): ResidualSite[] {
  const sites: ResidualSite[] = [];
  const g = a.graph;
  const layers = layerByName(g);
  const ancestors = ancestorSets(g.nodes);
  const order = new Map(g.nodes.map((n, i) => [n.id, i]));

  for (const node of g.nodes) {
    const layer = layers.get(node.layer)!;
    if (a.nested.has(layer.name) && node.callIndex === 0) sites.push(...findResiduals(a.nested.get(layer.name)!));
    if (!MERGES.has(layer.className) || node.inputs.length < 2) continue;
    const laurel = layer.className === LAUREL_CLASS ? fromLayerConfig(layer.config) : undefined;
    const pair = laurel ? [laurel.branchIndex, laurel.shortcutIndex] : node.inputs.length === 2 ? [0, 1] : undefined;
    if (!pair) continue;
    const [i0, i1] = pair as [number, number];
    const t0 = node.inputs[i0];
    const t1 = node.inputs[i1];
    if (!t0 || !t1) continue;
    const anc0 = ancestors.get(t0.node)!;
    const anc1 = ancestors.get(t1.node)!;
    let kind: ShortcutKind;
    let branchIndex = i0;
    let shortcutIndex = i1;
    let fork: TensorRef;
    if (laurel) {
      // The file says which input is which; only the kind is derived.
      const b = node.inputs[laurel.branchIndex]!;
      const s = node.inputs[laurel.shortcutIndex]!;
      kind = ancestors.get(b.node)!.has(s.node) ? 'identity' : 'projection';
      fork = kind === 'identity' ? s : nearestCommon(ancestors.get(b.node)!, ancestors.get(s.node)!, order, g.nodes) ?? s;
    } else if (anc1.has(t0.node)) {
      // Input 0 feeds input 1: input 0 is the shortcut x, input 1 is f(x).
      kind = 'identity';
      branchIndex = i1;
      shortcutIndex = i0;
      fork = t0;
    } else if (anc0.has(t1.node)) {
      kind = 'identity';
      fork = t1;
    } else {
      const common = nearestCommon(anc0, anc1, order, g.nodes);
      if (!common) continue; // two unrelated inputs: a merge, not a residual
      kind = 'projection';
      fork = common;
      // The shortcut is the shorter path from the fork (a 1x1 conv + BN, a pooling); ties: the second input.
      const len0 = between(anc0, ancestors, fork.node).size + 1;
      const len1 = between(anc1, ancestors, fork.node).size + 1;
      if (len0 < len1) {
        branchIndex = i1;
        shortcutIndex = i0;
      }
    }
    const branch = node.inputs[branchIndex]!;
    const shortcut = node.inputs[shortcutIndex]!;
    const nodeLayer = (id: string): string => g.nodes[order.get(id)!]!.layer;
    const path = (t: TensorRef): string[] =>
      t.node === fork.node ? [] : [...between(ancestors.get(t.node)!, ancestors, fork.node), t.node].sort((x, y) => order.get(x)! - order.get(y)!).map(nodeLayer);
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
      branchLayer: nodeLayer(branch.node),
      shortcutLayer: nodeLayer(shortcut.node),
      fork,
      forkLayer: nodeLayer(fork.node),
      shortcutKind: kind,
      shortcutLayers: kind === 'identity' ? [] : path(shortcut),
      branchLayers: path(branch),
      shape,
      width,
      positions,
      current: laurel ? laurel.choice : { variant: 'plain', options: DEFAULT_OPTIONS },
    });
  }
  return sites;
}

/** For each call node, the ids of every node it (transitively) depends on. Nodes come topologically sorted. */
function ancestorSets(nodes: CallNode[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const n of nodes) {
    const s = new Set<string>();
    for (const t of n.inputs) {
      s.add(t.node);
      for (const x of out.get(t.node) ?? []) s.add(x);
    }
    out.set(n.id, s);
  }
  return out;
}

/** The common ancestor latest in topological order: the point two branches forked from. */
function nearestCommon(a: Set<string>, b: Set<string>, order: Map<string, number>, nodes: CallNode[]): TensorRef | undefined {
  let best: string | undefined;
  for (const x of a) if (b.has(x) && (best === undefined || order.get(x)! > order.get(best)!)) best = x;
  if (best === undefined) return undefined;
  // The fork's output that the two paths use; multi-output forks are rare, take the first one consumed.
  const consumer = nodes.find((n) => n.inputs.some((t) => t.node === best));
  return consumer?.inputs.find((t) => t.node === best) ?? { node: best, index: 0 };
}

/** Ancestors of a node (given as its ancestor set) that descend from `from`. */
function between(anc: Set<string>, ancestors: Map<string, Set<string>>, from: string): Set<string> {
  const s = new Set<string>();
  for (const x of anc) if (ancestors.get(x)!.has(from)) s.add(x);
  return s;
}
