import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { graphSnapshot } from '../../src/extension/graphSnapshot';
import type { GraphAnalysis } from '../../src/core/analysis/analyze';
import { capRank, DEFAULT_OPTIONS, VARIANTS } from '../../src/core/laurel/variants';
import { choiceSpec } from '../../src/core/laurel/planSpec';
import { deltaText } from '../../src/report/figures';
import { menuDeltaText } from '../../webview/format';
import { openModel, planModel, plannedBytes } from '../../src/core/model';
import type { OpenModel } from '../../src/core/model';
import type { GraphSnapshot } from '../../src/protocol/webviewProtocol';
import { collapseBlocks } from '../../webview/collapse';
import { layoutGraph } from '../../webview/layout';
import type { ElkLike, GraphLayout } from '../../webview/layout';
import { fixturePath } from './fixturePath';

const repoRoot = (): string => {
  // out/test/unit (bundled) or test/unit: examples/ sits at the repository root.
  for (const up of ['../..', '../../..']) {
    const p = join(__dirname, up, 'examples');
    try {
      readFileSync(join(p, 'resnet-mini.json'));
      return join(__dirname, up);
    } catch {
      /* try the next level */
    }
  }
  throw new Error('examples/resnet-mini.json not found');
};

const open = (file: string): OpenModel => openModel(file, readFileSync(file));

/** Calls and tensor edges over the whole IR, nested graphs included (each analysed once). */
function irCounts(a: GraphAnalysis): { nodes: number; edges: number } {
  let nodes = a.graph.nodes.length;
  let edges = a.graph.nodes.reduce((n, c) => n + c.inputs.length, 0);
  for (const sub of a.nested.values()) {
    const c = irCounts(sub);
    nodes += c.nodes;
    edges += c.edges;
  }
  return { nodes, edges };
}

/** A Keras model holding a nested model 'block' (conv + residual add) that is called twice. */
function nestedModel(): unknown {
  const input = (name: string) => ({ class_name: 'InputLayer', name, config: { name, batch_input_shape: [null, 8, 8, 4], dtype: 'float32' }, inbound_nodes: [] });
  const conv = (name: string, from: string) => ({ class_name: 'Conv2D', name, config: { name, filters: 4, kernel_size: [3, 3], padding: 'same' }, inbound_nodes: [[[from, 0, 0, {}]]] });
  const block = {
    class_name: 'Model',
    name: 'block',
    config: {
      name: 'block',
      layers: [input('block_in'), conv('block_conv', 'block_in'), { class_name: 'Add', name: 'block_add', config: { name: 'block_add' }, inbound_nodes: [[['block_conv', 0, 0, {}], ['block_in', 0, 0, {}]]] }],
      input_layers: [['block_in', 0, 0]],
      output_layers: [['block_add', 0, 0]],
    },
    inbound_nodes: [[['input_1', 0, 0, {}]], [['block', 0, 0, {}]]],
  };
  return { class_name: 'Model', config: { name: 'outer', layers: [input('input_1'), block], input_layers: [['input_1', 0, 0]], output_layers: [['block', 1, 0]] } };
}

function checkAgainstModel(m: OpenModel, g: GraphSnapshot): void {
  const ir = irCounts(m.analysis);
  assert.equal(g.nodes.length, ir.nodes);
  assert.equal(g.edges.length, ir.edges);
  const ids = new Set(g.nodes.map((n) => n.id));
  assert.equal(ids.size, g.nodes.length, 'node ids are unique');
  for (const e of g.edges) assert.ok(ids.has(e.from) && ids.has(e.to), `edge ${e.id} joins known nodes`);
  assert.equal(new Set(g.edges.map((e) => e.id)).size, g.edges.length, 'edge ids are unique');
  assert.equal(g.sites.length, m.sites.length);
  assert.equal(g.edges.filter((e) => e.residual).length, m.sites.length, 'one residual edge per site');
  for (const s of g.sites) {
    const edge = g.edges.find((e) => e.id === s.edge)!;
    assert.equal(edge.residual, s.id);
    assert.equal(g.nodes.find((n) => n.id === edge.to)!.residualSite, s.id);
  }
  const sum = g.nodes.reduce((n, x) => n + (x.parent === undefined ? x.params ?? 0 : 0), 0);
  assert.equal(sum, m.params.total, 'top-level node params add up to the total');
}

describe('graph snapshot', () => {
  it('resnet-mini: every call and tensor, residual edges, menu prices as planModel prices them', () => {
    const m = open(join(repoRoot(), 'examples', 'resnet-mini.json'));
    const g = graphSnapshot(m);
    checkAgainstModel(m, g);
    assert.ok(g.sites.length > 0);
    assert.equal(g.title, 'resnet-mini.json');
    for (const s of g.sites) {
      for (const variant of VARIANTS) {
        // The menu caps a rank at or above D as Apply does; the plan gets the capped rank written out.
        const sc = planModel(m, choiceSpec(capRank({ variant, options: DEFAULT_OPTIONS }, s.width), s.id)).cost.sites.find((c) => c.site === s.id)!;
        assert.equal(menuDeltaText([s], { variant, options: g.options }, g.planDelta.baseParams), variant === 'plain' ? '+0' : deltaText(sc.params, g.planDelta.baseParams), `${s.id} ${variant}`);
      }
    }
    assert.deepEqual(g.planDelta, { baseParams: m.params.total, addedParams: 0, percent: 0, switched: 0 });
  });

  it('ResNet-50 (tfjs legacy): 177 calls, 16 residual edges, menu prices and plan delta equal planModel', () => {
    const m = open(fixturePath('tfjs-legacy-resnet50-tensorspace.json'));
    const g = graphSnapshot(m);
    checkAgainstModel(m, g);
    assert.equal(g.nodes.length, 177);
    assert.equal(g.edges.filter((e) => e.residual).length, 16);
    assert.equal(g.params.total, 25_636_712);
    const add1 = g.nodes.find((n) => n.id === 'add_1')!;
    assert.equal(add1.outputShape, '(?, 55, 55, 256)');
    assert.equal(add1.residualSite, 'add_1');
    const all = planModel(m, 'all=rw+lr');
    const choice = { variant: 'rw+lr' as const, options: g.options };
    for (const s of g.sites) {
      assert.equal(menuDeltaText([s], choice, g.planDelta.baseParams), deltaText(all.cost.sites.find((c) => c.site === s.id)!.params, g.planDelta.baseParams));
    }
    assert.equal(menuDeltaText(g.sites, choice, g.planDelta.baseParams), deltaText(all.cost.addedParams, g.planDelta.baseParams));
  });

  it('the menu prices with the given options (the user\'s settings)', () => {
    const m = open(fixturePath('tfjs-legacy-resnet50-tensorspace.json'));
    const options = { ...DEFAULT_OPTIONS, rank: 4, rwNorm: 'sigmoid-single' as const, paMode: 'lowrank-shared' as const };
    const g = graphSnapshot(m, options);
    assert.deepEqual(g.options, options);
    const cost = planModel(m, 'all=pa', options).cost;
    const base = g.planDelta.baseParams;
    for (const s of g.sites) assert.equal(menuDeltaText([s], { variant: 'pa', options: g.options }, base), deltaText(cost.sites.find((c) => c.site === s.id)!.params, base));
    assert.equal(menuDeltaText([g.sites[0]!], { variant: 'rw', options: g.options }, base), deltaText(1, base));
  });

  it('a switched site shows its variant label and the plan delta', () => {
    const file = fixturePath('tfjs-legacy-resnet50-tensorspace.json');
    const m = open(file);
    const planned = planModel(m, 'add_1=lr:r=8,add_2=rw');
    const m2 = openModel(file, plannedBytes(m, planned));
    const g = graphSnapshot(m2);
    checkAgainstModel(m2, g);
    const byId = new Map(g.sites.map((s) => [s.id, s]));
    assert.equal(byId.get('add_1')!.current.label, 'LR r=8');
    assert.equal(byId.get('add_1')!.current.rank, 8);
    assert.equal(byId.get('add_2')!.current.variant, 'rw');
    assert.equal(g.planDelta.switched, 2);
    assert.equal(g.planDelta.addedParams, planned.cost.addedParams);
    assert.equal(g.planDelta.baseParams, m.params.total);
    assert.equal(g.nodes.find((n) => n.id === 'add_1')!.className, 'LaurelResidual');
  });

  it('every fixture builds a consistent snapshot', () => {
    for (const f of ['keras-resnet18-custom-doubleencoded.json', 'keras1-inceptionv3-kerasjs.json', 'keras2-fc-densenet103-tiramisu-sequential-listconfig.json', 'keras3-transformer-encoder-opsAdd-dotkeras-config.json', 'tfjs-legacy-inceptionv3-tensorspace.json', 'tfjs-legacy-mobilenetv2-nsfwjs.json']) {
      const m = open(fixturePath(f));
      checkAgainstModel(m, graphSnapshot(m));
    }
  });

  it('a nested model becomes a group holding its calls; its residual site is scoped', () => {
    const model = nestedModel();
    const m = openModel('nested.json', new TextEncoder().encode(JSON.stringify(model)));
    const g = graphSnapshot(m);
    checkAgainstModel(m, g);
    const group = g.nodes.find((n) => n.id === 'block')!;
    assert.equal(group.group, true);
    assert.equal(group.params, 4 * 3 * 3 * 4 + 4);
    assert.deepEqual(g.nodes.filter((n) => n.parent === 'block').map((n) => n.id), ['block/block_in', 'block/block_conv', 'block/block_add']);
    const second = g.nodes.find((n) => n.id === 'block#1')!;
    assert.equal(second.group, undefined, 'a later call of a nested model is one box');
    assert.equal(second.params, 0, 'weights are counted at the first call');
    assert.deepEqual(g.sites.map((s) => [s.id, s.edge]), [['block/block_add', 'block/block_add:in1']]);
    assert.equal(g.edges.find((e) => e.residual)!.from, 'block/block_in');
  });
});

describe('collapse blocks', () => {
  it('ResNet-50: each block\'s branch folds into one box; edges stay consistent and the 16 residual edges stay', () => {
    const g = graphSnapshot(open(fixturePath('tfjs-legacy-resnet50-tensorspace.json')));
    for (const s of g.sites) assert.ok(s.branchNodes.length >= 7, `${s.id} branch ${s.branchNodes.join(',')}`);
    const c = collapseBlocks(g);
    const folded = c.nodes.filter((n) => n.id.startsWith('collapsed:'));
    assert.equal(folded.length, 16);
    const ids = new Set(c.nodes.map((n) => n.id));
    assert.equal(ids.size, c.nodes.length);
    for (const e of c.edges) assert.ok(ids.has(e.from) && ids.has(e.to), `${e.id}`);
    assert.equal(new Set(c.edges.map((e) => e.id)).size, c.edges.length);
    assert.equal(c.edges.filter((e) => e.residual).length, 16);
    assert.equal(c.nodes.length, g.nodes.length - g.sites.reduce((n, s) => n + s.branchNodes.length, 0) + 16);
    const params = (x: GraphSnapshot): number => x.nodes.reduce((n, v) => n + (v.params ?? 0), 0);
    assert.equal(params(c), params(g), 'folding keeps every parameter');
    // Expanding one block brings its layers back.
    const one = collapseBlocks(g, new Set(['add_1']));
    assert.equal(one.nodes.filter((n) => n.id.startsWith('collapsed:')).length, 15);
    assert.ok(one.nodes.some((n) => n.id === 'res2a_branch2a'));
  });

  it('a graph without foldable blocks is returned as it is', () => {
    const g = graphSnapshot(open(fixturePath('tfjs-legacy-inceptionv3-tensorspace.json')));
    assert.equal(collapseBlocks(g), g);
  });
});

describe('graph layout (elkjs in Node)', () => {
  // elkjs is the webview's dependency; where it is not installed this smoke test is skipped.
  const loadElk = (): ElkLike | undefined => {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const ELK = require('elkjs/lib/elk.bundled.js') as new () => ElkLike;
      return new ELK();
    } catch {
      return undefined;
    }
  };
  // A fixed-pitch estimate: the webview measures with a canvas, Node has none.
  const measure = (text: string, bold: boolean): number => text.length * (bold ? 7.5 : 7);

  const check = (g: GraphSnapshot, l: GraphLayout): void => {
    assert.equal(l.nodes.size, g.nodes.length, 'every node laid out');
    for (const n of l.nodes.values()) {
      for (const v of [n.x, n.y, n.width, n.height]) assert.ok(Number.isFinite(v), `${n.node.id} has coordinates`);
      assert.ok(n.width > 0 && n.height > 0);
    }
    assert.equal(l.edges.size, g.edges.length, 'every edge routed');
    for (const e of g.edges) {
      const route = l.edges.get(e.id)!;
      assert.ok(route.points.length >= 2, `${e.id} has a route`);
      // The route ends on the target's box (touching its border).
      const end = route.points.at(-1)!;
      const t = l.nodes.get(e.to)!;
      assert.ok(end.x >= t.x - 1 && end.x <= t.x + t.width + 1 && end.y >= t.y - 1 && end.y <= t.y + t.height + 1, `${e.id} ends on ${e.to}`);
    }
  };

  it('lays out the ResNet-50 snapshot: coordinates for every node and route for every edge, quickly', async function () {
    const elk = loadElk();
    if (!elk) return this.skip();
    const g = graphSnapshot(open(fixturePath('tfjs-legacy-resnet50-tensorspace.json')));
    await layoutGraph(elk, graphSnapshot(open(join(repoRoot(), 'examples', 'resnet-mini.json'))), measure); // warm up the JIT
    // CPU time as well as wall time: on a shared machine the wall clock mostly measures waiting for a core.
    const timed = async (s: GraphSnapshot): Promise<{ l: GraphLayout; wall: number; cpu: number }> => {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const l = await layoutGraph(elk, s, measure);
      const c = process.cpuUsage(c0);
      return { l, wall: performance.now() - t0, cpu: (c.user + c.system) / 1000 };
    };
    const r1 = await timed(g);
    check(g, r1.l);
    const c = collapseBlocks(g);
    check(c, (await timed(c)).l);
    const g2 = graphSnapshot(open(fixturePath('tfjs-legacy-inceptionv3-tensorspace.json')));
    const r2 = await timed(g2);
    check(g2, r2.l);
    console.log(`      layout: ResNet-50 ${g.nodes.length} nodes ${r1.wall.toFixed(0)} ms wall / ${r1.cpu.toFixed(0)} ms CPU; InceptionV3 ${g2.nodes.length} nodes ${r2.wall.toFixed(0)} ms wall / ${r2.cpu.toFixed(0)} ms CPU`);
    assert.ok(r1.cpu < 3000 && r2.cpu < 3000, 'well under a few seconds of CPU');
  });

  it('writes shapes on the edges when asked, in room ELK keeps free of the boxes', async function () {
    const elk = loadElk();
    if (!elk) return this.skip();
    const file = fixturePath('tfjs-legacy-resnet50-tensorspace.json');
    const m = open(file);
    const g = graphSnapshot(openModel(file, plannedBytes(m, planModel(m, 'add_1=lr:r=8'))));
    const plain = await layoutGraph(elk, g, measure);
    assert.deepEqual([...plain.edges.values()].filter((e) => e.label).map((e) => e.label!.text), ['LR r=8'], 'shapes only when asked; the switched residual\'s variant always');
    const l = await layoutGraph(elk, g, measure, { edgeShapes: true });
    check(g, l);
    const boxes = [...l.nodes.values()].filter((n) => !n.node.group);
    const overlap = (a: { x: number; y: number; width: number; height: number }, b: typeof a): boolean =>
      a.x < b.x + b.width - 0.5 && b.x < a.x + a.width - 0.5 && a.y < b.y + b.height - 0.5 && b.y < a.y + a.height - 0.5;
    for (const e of g.edges) {
      const label = l.edges.get(e.id)!.label;
      assert.ok(label, `${e.id} has a label`);
      const site = e.residual === 'add_1';
      assert.equal(label.text, site ? `LR r=8 · ${e.shape}` : e.shape);
      assert.ok(label.width > 0 && label.height > 0);
      for (const b of boxes) assert.ok(!overlap(label, b), `${e.id}'s label (${label.text}) overlaps ${b.node.id}`);
    }
    assert.ok(l.height > plain.height, 'the labels took room of their own');
  });

  it('lays out a nested model inside its group box', async function () {
    const elk = loadElk();
    if (!elk) return this.skip();
    const g = graphSnapshot(openModel('nested.json', new TextEncoder().encode(JSON.stringify(nestedModel()))));
    const l = await layoutGraph(elk, g, measure);
    check(g, l);
    const group = l.nodes.get('block')!;
    for (const n of g.nodes.filter((x) => x.parent === 'block')) {
      const c = l.nodes.get(n.id)!;
      assert.ok(c.x >= group.x && c.y >= group.y && c.x + c.width <= group.x + group.width && c.y + c.height <= group.y + group.height, `${n.id} inside its group`);
    }
  });
});
