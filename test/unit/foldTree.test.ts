import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { synthModelText } from '../../bench/synthModels';
import { openModel } from '../../src/core/model';
import { graphSnapshot } from '../../src/extension/graphSnapshot';
import type { GraphNode, GraphSnapshot } from '../../src/protocol/webviewProtocol';
import { FOLD, FOLD_PREFIX, foldLarge } from '../../webview/foldTree';
import { Folds } from '../../webview/folds';
import { foldedGroups, foldGroups } from '../../webview/groupFold';
import { fixturePath } from './fixturePath';

// Large graphs open folded level by level (webview/foldTree.ts): checked on synthetic ResNets of 2,000 and
// 20,000 layers (bench/synthModels.ts: 7 identity blocks of 6 layers and one projection block of 8, repeated)
// and on the real fixtures, against counts taken from the source snapshot, not from the fold.

const synth = (layers: number): GraphSnapshot => graphSnapshot(openModel('synth.json', new TextEncoder().encode(synthModelText({ layers, block: 'conv' }))));
const fixture = (file: string): GraphSnapshot => graphSnapshot(openModel(file, readFileSync(fixturePath(file))));
const shown = (g: GraphSnapshot, toggles: Set<string> = new Set()): GraphSnapshot => foldGroups(g, foldedGroups(g, toggles));

/** Every node of the source once, parents are groups listed before their members, made groups hold two or more. */
function checkTree(src: GraphSnapshot, g: GraphSnapshot): void {
  const ids = g.nodes.map((n) => n.id);
  assert.equal(new Set(ids).size, ids.length, 'unique ids');
  const made = g.nodes.filter((n) => n.id.startsWith(FOLD_PREFIX));
  assert.deepEqual(g.nodes.filter((n) => !n.id.startsWith(FOLD_PREFIX)).map((n) => n.id), src.nodes.map((n) => n.id), 'the source nodes, in their order');
  const seen = new Map<string, GraphNode>();
  const members = new Map<string, number>();
  for (const n of g.nodes) {
    if (n.parent !== undefined) {
      assert.ok(seen.get(n.parent)?.group, `${n.id}: its parent ${n.parent} is a group listed before it`);
      members.set(n.parent, (members.get(n.parent) ?? 0) + 1);
    }
    seen.set(n.id, n);
  }
  for (const n of made) assert.ok((members.get(n.id) ?? 0) >= 2, `${n.id} holds two or more`);
  assert.deepEqual(g.edges, src.edges, 'edges untouched');
}

/** Parameters of the boxes shown add up to the model's (a folded group counts what it holds). */
const shownParams = (g: GraphSnapshot): number => g.nodes.filter((n) => !n.group).reduce((s, n) => s + n.params!, 0);

describe('large graphs open folded, level by level', function () {
  this.timeout(120_000);

  it('2,000 layers: the 39 repeats of 7 identity blocks and a projection are one box ×39; the first view is small', () => {
    const src = synth(2000);
    const g = foldLarge(src);
    checkTree(src, g);
    const first = shown(g);
    assert.ok(first.nodes.length <= FOLD.open, `${first.nodes.length} boxes at first`);
    assert.equal(shownParams(first), src.params.total);
    const run = g.nodes.find((n) => n.layer.endsWith('×39'))!;
    assert.ok(run, 'a run of 39');
    assert.equal(run.parent, undefined, 'at the top');
    assert.equal(run.className, '39 repeats · 1,950 layers'); // 39 × (7 × 6 + 8)
    const units = g.nodes.filter((n) => n.parent === run.id);
    assert.equal(units.length, 39);
    for (const u of units) {
      const blocks = g.nodes.filter((n) => n.parent === u.id);
      assert.deepEqual(blocks.map((b) => b.className), [...Array(7).fill('6 layers'), '8 layers'], u.id);
    }
    // A block holds its residual: unfolded, its add's shortcut edge is drawn and clickable again.
    const block = g.nodes.find((n) => n.parent === units[3]!.id)!;
    assert.ok(first.nodes.some((n) => n.id === units[3]!.id && n.folded), 'the units show folded');
    const open = shown(g, new Set([units[3]!.id, block.id]));
    const site = src.sites.find((s) => block.id === `${FOLD_PREFIX}blk:${s.branchNodes[0]}`)!;
    assert.ok(open.edges.some((e) => e.residual === site.id && e.to === site.node), 'its residual edge');
    assert.equal(open.nodes.length, first.nodes.length + 8 + 6, 'an open group is drawn around what it holds');
    assert.equal(shownParams(open), src.params.total);
    for (const e of open.edges) assert.ok(open.nodes.some((n) => n.id === e.from) && open.nodes.some((n) => n.id === e.to), `${e.id} between shown boxes`);
  });

  it('20,000 layers: at most FOLD.level boxes a level, every node once', () => {
    const src = synth(20_000);
    const g = foldLarge(src);
    checkTree(src, g);
    assert.ok(shown(g).nodes.length <= FOLD.open);
    const perLevel = new Map<string | undefined, number>();
    for (const n of g.nodes) perLevel.set(n.parent, (perLevel.get(n.parent) ?? 0) + 1);
    for (const [p, k] of perLevel) assert.ok(k <= FOLD.level, `${p ?? 'top'}: ${k} boxes`);
    assert.ok(g.nodes.some((n) => n.layer.endsWith('×399')));
    // The run's 399 repeats in 20 parts of 20, named by their first and last block.
    assert.deepEqual(g.nodes.filter((n) => n.parent === g.nodes.find((r) => r.layer.endsWith('×399'))!.id).slice(0, 2).map((n) => n.layer), ['b0 … b159', 'b160 … b319']);
  });

  it('models that fit are drawn as they are (ResNet-50, Inception v3)', () => {
    for (const f of ['keras1-resnet50-kerasjs.json', 'keras1-inceptionv3-kerasjs.json']) {
      const src = fixture(f);
      assert.equal(foldLarge(src), src, f);
    }
  });

  it('ResNet-50 folded to 20 a level: its four stages, each block ending at its merge', () => {
    const src = fixture('keras1-resnet50-kerasjs.json');
    const g = foldLarge(src, { auto: 0, level: 20, open: 0 });
    checkTree(src, g);
    const top = shown(g);
    // The stages are where the output shape changes: 3, 4, 6 and 3 blocks (16 residuals).
    const stages = top.nodes.filter((n) => n.id.startsWith(`${FOLD_PREFIX}part:`) && n.outputShape.includes('residual'));
    assert.deepEqual(stages.map((n) => n.outputShape.replace(/^.*· /, '')), ['residual merge_1, merge_2, merge_3', '4 residuals', '6 residuals', 'residual merge_14, merge_15, merge_16']);
    const blocks = g.nodes.filter((n) => n.id.startsWith(`${FOLD_PREFIX}blk:`));
    assert.equal(blocks.length, 16);
    const byId = new Map(g.nodes.map((n) => [n.id, n]));
    for (const s of src.sites) assert.ok(blocks.some((b) => b.id === byId.get(s.node)!.parent), `${s.merge} ends a block`);
    assert.equal(shownParams(top), src.params.total);
  });

  it('FC-DenseNet103 (400 layers): its dense blocks fold into runs', () => {
    const src = fixture('keras2-fc-densenet103-tiramisu-sequential-listconfig.json');
    const g = foldLarge(src);
    checkTree(src, g);
    const first = shown(g);
    assert.ok(first.nodes.length <= FOLD.level, `${first.nodes.length} boxes`);
    // The five dense blocks down (4, 5, 7, 10, 12 layers of 4) less one each, and up: the fixture's growth.
    const runs = first.nodes.filter((n) => /×\d+$/.test(n.layer)).map((n) => Number(n.layer.replace(/^.*×/, '')));
    assert.deepEqual(runs, [3, 4, 6, 9, 11, 14, 12, 10, 7, 5, 4]);
    assert.equal(shownParams(first), src.params.total);
  });

  it('a chain of distinct layers is cut into parts', () => {
    const nodes: GraphNode[] = Array.from({ length: 1000 }, (_, i) => ({ id: `n${i}`, layer: `n${i}`, className: `C${i}`, outputShape: '(?, 4)', params: i, trainable: i, nonTrainable: 0 }));
    const edges = nodes.slice(1).map((n, i) => ({ id: `${n.id}:in0`, from: `n${i}`, to: n.id, shape: '(?, 4)' }));
    const src = { ...synth(100), nodes, edges, sites: [] };
    const g = foldLarge(src);
    checkTree(src, g);
    const parts = g.nodes.filter((n) => n.parent === undefined);
    assert.equal(parts.length, 32, 'as many parts as layers a part');
    assert.equal(parts[0]!.layer, 'n0 … n31');
    const top = shown(g);
    assert.equal(shownParams(top), (999 * 1000) / 2);
  });

  it('Folds: a double-click toggles one group, Fold all / Unfold all, reveal opens the groups around a layer', () => {
    const src = synth(2000);
    const folds = new Folds();
    const g = folds.structured(src, false, new Set());
    assert.equal(folds.structured(src, false, new Set()), g, 'cached per snapshot');
    const first = folds.shown(g).nodes.length;
    assert.ok(folds.hasFolds(g));
    folds.reveal(g, 'b100_conv2');
    const open = folds.shown(g);
    assert.ok(open.nodes.some((n) => n.id === 'b100_conv2'), 'the layer is shown');
    assert.ok(open.nodes.length > first);
    folds.all(g); // one is folded: unfold all
    assert.equal(folds.shown(g).nodes.filter((n) => !n.group).length, src.nodes.length);
    folds.all(g);
    assert.equal(folds.shown(g).nodes.length, 4, 'input, the ×39 run, the last ×7 blocks, the tail');
    assert.ok(!folds.foldable(g, 'b100_conv2') && folds.foldable(g, g.nodes.find((n) => n.group)!.id));
  });
});
