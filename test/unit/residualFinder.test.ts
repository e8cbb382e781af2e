/**
 * The residual finder walks only the window between two nodes (DagQueries); these tests hold it to the
 * definition it replaced, kept here as the oracle: one ancestor set per call, the fork the common
 * ancestor latest in order, path lengths from set intersections. Same sites, kinds, forks, paths and
 * sides on every fixture (plain and with every site made LAuReL), on synthetic models of 2,000 layers,
 * and on random DAGs with shared inputs, multi-output forks, unrelated inputs and LaurelResidual merges.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { GraphAnalysis } from '../../src/core/analysis/analyze';
import { analyze } from '../../src/core/analysis/analyze';
import { DagQueries } from '../../src/core/analysis/dagQueries';
import { findResiduals } from '../../src/core/analysis/residuals';
import type { CallNode, Layer, ModelGraph, TensorRef } from '../../src/core/ir';
import { layerByName } from '../../src/core/ir';
import { fromLayerConfig, LAUREL_CLASS } from '../../src/core/laurel/laurelConfig';
import { openModel, planModel, plannedBytes } from '../../src/core/model';
import { readModel } from '../../src/core/read/readModel';
import { synthModelText } from '../../bench/synthModels';
import { fixturePath } from './fixturePath';

interface OracleSite {
  node: string;
  branchIndex: number;
  shortcutIndex: number;
  fork: TensorRef;
  shortcutKind: string;
  shortcutLayers: string[];
  branchLayers: string[];
}

/** The finder before DagQueries, as it was (quadratic: every call's ancestor set). */
function oracle(g: ModelGraph, nested: (layer: Layer) => OracleSite[]): OracleSite[] {
  const sites: OracleSite[] = [];
  const layers = layerByName(g);
  const ancestors = new Map<string, Set<string>>();
  for (const n of g.nodes) {
    const s = new Set<string>();
    for (const t of n.inputs) {
      s.add(t.node);
      for (const x of ancestors.get(t.node) ?? []) s.add(x);
    }
    ancestors.set(n.id, s);
  }
  const order = new Map(g.nodes.map((n, i) => [n.id, i]));
  const nearestCommon = (a: Set<string>, b: Set<string>): TensorRef | undefined => {
    let best: string | undefined;
    for (const x of a) if (b.has(x) && (best === undefined || order.get(x)! > order.get(best)!)) best = x;
    if (best === undefined) return undefined;
    const consumer = g.nodes.find((n) => n.inputs.some((t) => t.node === best));
    return consumer?.inputs.find((t) => t.node === best) ?? { node: best, index: 0 };
  };
  const between = (anc: Set<string>, from: string): Set<string> => new Set([...anc].filter((x) => ancestors.get(x)!.has(from)));
  for (const node of g.nodes) {
    const layer = layers.get(node.layer)!;
    if (layer.subgraph && node.callIndex === 0) sites.push(...nested(layer));
    if ((layer.className !== 'Add' && layer.className !== LAUREL_CLASS) || node.inputs.length < 2) continue;
    const laurel = layer.className === LAUREL_CLASS ? fromLayerConfig(layer.config) : undefined;
    const pair = laurel ? [laurel.branchIndex, laurel.shortcutIndex] : node.inputs.length === 2 ? [0, 1] : undefined;
    if (!pair) continue;
    const [i0, i1] = pair as [number, number];
    const t0 = node.inputs[i0];
    const t1 = node.inputs[i1];
    if (!t0 || !t1) continue;
    const anc0 = ancestors.get(t0.node)!;
    const anc1 = ancestors.get(t1.node)!;
    let kind: string;
    let branchIndex = i0;
    let shortcutIndex = i1;
    let fork: TensorRef;
    if (laurel) {
      const b = node.inputs[laurel.branchIndex]!;
      const s = node.inputs[laurel.shortcutIndex]!;
      kind = ancestors.get(b.node)!.has(s.node) ? 'identity' : 'projection';
      fork = kind === 'identity' ? s : nearestCommon(ancestors.get(b.node)!, ancestors.get(s.node)!) ?? s;
    } else if (anc1.has(t0.node)) {
      kind = 'identity';
      branchIndex = i1;
      shortcutIndex = i0;
      fork = t0;
    } else if (anc0.has(t1.node)) {
      kind = 'identity';
      fork = t1;
    } else {
      const common = nearestCommon(anc0, anc1);
      if (!common) continue;
      kind = 'projection';
      fork = common;
      if (between(anc0, fork.node).size < between(anc1, fork.node).size) {
        branchIndex = i1;
        shortcutIndex = i0;
      }
    }
    const path = (t: TensorRef): string[] =>
      t.node === fork.node ? [] : [...between(ancestors.get(t.node)!, fork.node), t.node].sort((x, y) => order.get(x)! - order.get(y)!).map((id) => g.nodes[order.get(id)!]!.layer);
    const shortcut = node.inputs[shortcutIndex]!;
    sites.push({ node: node.id, branchIndex, shortcutIndex, fork, shortcutKind: kind, shortcutLayers: kind === 'identity' ? [] : path(shortcut), branchLayers: path(node.inputs[branchIndex]!) });
  }
  return sites;
}

const oracleOf = (g: ModelGraph): OracleSite[] => oracle(g, (l) => oracleOf(l.subgraph!));

function assertSame(a: GraphAnalysis, label: string): number {
  const got = findResiduals(a).map((s) => ({ node: s.node, branchIndex: s.branchIndex, shortcutIndex: s.shortcutIndex, fork: s.fork, shortcutKind: s.shortcutKind, shortcutLayers: s.shortcutLayers, branchLayers: s.branchLayers }));
  assert.deepEqual(got, oracleOf(a.graph), label);
  return got.length;
}

const FIXTURES = [
  'tfjs-legacy-resnet50-tensorspace.json',
  'tfjs-legacy-mobilenetv2-nsfwjs.json',
  'tfjs-legacy-inceptionv3-tensorspace.json',
  'keras1-resnet50-kerasjs.json',
  'keras1-inceptionv3-kerasjs.json',
  'keras-resnet18-custom-doubleencoded.json',
  'keras2-fc-densenet67-tiramisu-functional.json',
  'keras3-resnet1d-dotkeras-config.json',
  'keras3-transformer-encoder-opsAdd-dotkeras-config.json',
];

/** A deterministic generator (tests must not depend on Math.random). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** A random topologically ordered call graph: mostly local edges, some long ones, several inputs. */
function randomGraph(seed: number, size: number): ModelGraph {
  const rand = lcg(seed);
  const pick = (below: number): number => (rand() < 0.8 ? Math.max(0, below - 1 - Math.floor(rand() * 6)) : Math.floor(rand() * below));
  const layers: Layer[] = [];
  const nodes: CallNode[] = [];
  const inputCount = 1 + Math.floor(rand() * 3);
  for (let i = 0; i < size; i++) {
    const name = `n${i}`;
    let className = 'Dense';
    let config: Record<string, unknown> = {};
    let inputs: TensorRef[] = [];
    if (i >= inputCount) {
      const r = rand();
      const arity = r < 0.55 ? 1 : r < 0.9 ? 2 : 3;
      if (arity > 1) className = rand() < 0.8 ? 'Add' : LAUREL_CLASS;
      // Tensor index 1 now and then: a second output of a multi-output node.
      inputs = Array.from({ length: arity }, () => ({ node: `n${pick(i)}`, index: rand() < 0.1 ? 1 : 0 }));
      if (className === LAUREL_CLASS) {
        const b = Math.floor(rand() * arity);
        config = { variant: 'rw', branch_index: b, shortcut_index: (b + 1 + Math.floor(rand() * (arity - 1))) % arity };
      }
    } else {
      className = 'InputLayer';
    }
    layers.push({ name, className, sourceClassName: className, config, trainable: true, path: [] });
    nodes.push({ id: name, layer: name, callIndex: 0, inputs });
  }
  return { name: 'random', className: 'Functional', layers, nodes, inputs: [], outputs: [] };
}

const bare = (graph: ModelGraph): GraphAnalysis => ({ graph, scope: [], outputs: [], layerInfo: [], shapes: new Map(), layers: new Map(), params: { trainable: 0, nonTrainable: 0 }, unknownLayers: [], problems: [], nested: new Map() });

describe('residual finder (window walks) against the ancestor-set definition', () => {
  for (const file of FIXTURES) {
    it(`${file}: same sites, plain and with every site LAuReL`, () => {
      const bytes = readFileSync(fixturePath(file));
      const m = openModel(file, bytes);
      assert.equal(assertSame(m.analysis, file), m.sites.length);
      if (!m.sites.length) return;
      const laurel = plannedBytes(m, planModel(m, 'all=rw+lr:r=4'));
      assertSame(analyze(readModel(file, laurel)), `${file} with LAuReL`);
    });
  }

  it('synthetic models of 2,000 layers (dense and conv blocks, projections)', () => {
    for (const block of ['dense', 'conv'] as const) {
      const doc = readModel(`${block}.json`, new TextEncoder().encode(synthModelText({ layers: 2000, block, projectionEvery: 3 })));
      const n = assertSame(analyze(doc), block);
      assert.ok(n >= 2000 / 8, `${block}: ${n} sites`);
    }
  });

  it('random DAGs: the same sites, forks and paths', () => {
    let sites = 0;
    let projections = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const a = bare(randomGraph(seed, 20 + (seed % 60)));
      assertSame(a, `seed ${seed}`);
      const found = findResiduals(a);
      sites += found.length;
      projections += found.filter((s) => s.shortcutKind === 'projection').length;
    }
    // The generator must exercise both kinds, or the comparison says little.
    assert.ok(sites > 1000 && projections > 200, `${sites} sites, ${projections} projections`);
  });

  it('DagQueries answers like brute force on random DAGs', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const g = randomGraph(seed * 7, 60);
      const q = new DagQueries(g.nodes);
      const idx = new Map(g.nodes.map((n, i) => [n.id, i]));
      const anc = g.nodes.map(() => new Set<number>());
      g.nodes.forEach((n, i) => n.inputs.forEach((t) => [idx.get(t.node)!, ...anc[idx.get(t.node)!]!].forEach((x) => anc[i]!.add(x))));
      for (let u = 0; u < 60; u++) {
        for (let v = 0; v < 60; v++) {
          assert.equal(q.isAncestor(u, v), anc[v]!.has(u), `seed ${seed} ${u} -> ${v}`);
          const common = [...anc[u]!].filter((x) => anc[v]!.has(x));
          assert.equal(q.nearestCommon(u, v), common.length ? Math.max(...common) : -1, `seed ${seed} common ${u} ${v}`);
          const between = [...anc[v]!].filter((x) => anc[x]!.has(u)).sort((x, y) => x - y);
          assert.deepEqual(q.between(u, v), between, `seed ${seed} between ${u} ${v}`);
        }
      }
    }
  });
});
