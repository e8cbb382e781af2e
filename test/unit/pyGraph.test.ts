import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCompanion } from '../../src/util/laurelCompanion';
import { DEFAULT_OPTIONS, instanceCost, VARIANTS, type Variant } from '../../src/core/laurel/variants';
import { openPyModel, pyCost } from '../../src/core/pysource/pyModel';
import type { OpenPyModel } from '../../src/core/pysource/pyModel';
import { planPy } from '../../src/core/pysource/pyPlan';
import { FIRST_PAINT_BOXES, pyGraphSnapshot, unmeasuredText } from '../../src/extension/pyGraphSnapshot';
import type { GraphSnapshot } from '../../src/protocol/webviewProtocol';
import { traceSource } from '../../src/trainer/pySourceTrace';
import { deltaText } from '../../src/report/figures';
import { menuDeltaText } from '../../webview/format';
import { foldedGroups, foldGroups, visibleBox } from '../../webview/groupFold';
import { pytorchFixture } from './fixturePath';

// The graph of a .py model from real traces (Debian's python3 with torch 1.13) of the shared fixtures; the counts
// are checked against the lens figures of issue 8 and against torch's own parameter count.
const PYTHON = process.env['LAUREL_PYTHON'] ?? '/usr/bin/python3';
const GPT = { model: 'GPT(GPTConfig(n_layer=2, n_head=2, n_embd=64, block_size=32, vocab_size=100))', input: 'torch.randint(0, 100, (1, 16))' };

async function open(file: string, opts: { model?: string; input?: string }, text?: string, path = pytorchFixture(file)): Promise<OpenPyModel> {
  const source = text ?? readFileSync(path, 'utf8');
  const r = await traceSource(path, { explicit: PYTHON, source, ...opts });
  if (!r.ok) assert.fail(`${file}: ${r.error.phase} ${r.error.message}`);
  return openPyModel(path, source, r.trace);
}

/** Structural checks every graph must pass: unique ids, edges between existing boxes, groups as parents only. */
function checkShape(g: GraphSnapshot): void {
  const ids = new Set(g.nodes.map((n) => n.id));
  assert.equal(ids.size, g.nodes.length, 'unique node ids');
  assert.equal(new Set(g.edges.map((e) => e.id)).size, g.edges.length, 'unique edge ids');
  const groups = new Set(g.nodes.filter((n) => n.group).map((n) => n.id));
  for (const n of g.nodes) if (n.parent !== undefined) assert.ok(groups.has(n.parent), `${n.id}: parent ${n.parent} is a group`);
  for (const e of g.edges) {
    assert.ok(ids.has(e.from) && ids.has(e.to), `${e.id}: ${e.from} → ${e.to}`);
    assert.ok(!groups.has(e.from) && !groups.has(e.to), `${e.id} ends at a box, not a group`);
  }
}

/** Leaf boxes' parameters add up to torch's count (tied weights once): an independent check of the attribution. */
const boxParams = (g: GraphSnapshot): number => g.nodes.filter((n) => !n.group).reduce((s, n) => s + (n.params ?? NaN), 0);

const residualEdges = (g: GraphSnapshot): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const e of g.edges) if (e.residual) out[e.residual] = (out[e.residual] ?? 0) + 1;
  return out;
};

/** What switching line `id` alone to `variant` adds, as the core prices it (every instance; PA with the history it would have). */
const lineParams = (m: OpenPyModel, id: string, variant: Variant): number =>
  pyCost(m, new Map([[id, { variant, options: DEFAULT_OPTIONS }]]), m.views[0]).sites.reduce((n, x) => (x.site === id ? n + x.params : n), 0);

/** The menu's live price of each variant on each site (webview code) is the core's exact price (pyCost, PA history included). */
function menuAgrees(g: GraphSnapshot, m: OpenPyModel): void {
  for (const s of g.sites) {
    for (const variant of VARIANTS) {
      const host = variant === 'plain' ? '+0' : deltaText(lineParams(m, s.id, variant), g.planDelta.baseParams);
      assert.equal(menuDeltaText([s], { variant, options: g.options }, g.planDelta.baseParams), host, `${s.id} ${variant}`);
    }
  }
}

const visibleCount = (g: GraphSnapshot): number => foldGroups(g, foldedGroups(g, new Set())).nodes.length;

describe('the graph of a .py model from its trace', function () {
  this.timeout(300_000);
  let gpt: OpenPyModel;
  let gptGraph: GraphSnapshot;

  before(async () => {
    gpt = await open('nanogpt_model.py', GPT);
    gptGraph = pyGraphSnapshot(gpt, DEFAULT_OPTIONS);
  });

  it('nanoGPT: L104 and L105 ×2 as dashed shortcut edges, tok_emb + pos_emb a plain add, 108,544 parameters over the boxes', () => {
    const g = gptGraph;
    checkShape(g);
    assert.deepEqual(residualEdges(g), { L104: 2, L105: 2 });
    assert.deepEqual(g.params, { total: 108_544, trainable: 108_544, nonTrainable: 0 });
    assert.equal(boxParams(g), 108_544, 'lm_head tied to wte is counted once');
    assert.match(g.nodes.find((n) => n.id === 'm:lm_head')!.note!, /6,400 of its parameters are tied/);
    assert.equal(g.origin, 'trace');
    assert.equal(g.name, 'GPT');
    // The shortcut of L104 in the first block comes from the embedding's dropout; in the second, from the first block's L105 add.
    const l104 = g.edges.filter((e) => e.residual === 'L104');
    assert.deepEqual(l104.map((e) => [e.from, e.to, e.shape]), [
      ['m:transformer.drop', 'op:transformer.h.0:add:104', '(1, 16, 64)'],
      ['op:transformer.h.0:add:105', 'op:transformer.h.1:add:104', '(1, 16, 64)'],
    ]);
    const emb = g.nodes.find((n) => n.id === 'op::add:179')!;
    assert.equal(emb.residualSite, undefined);
    assert.equal(emb.parent, undefined);
    // Sites are lines: widths per instance, the menu's prices summed over them (the lens's 4,100 for RW+LR r=16).
    const site = g.sites.find((s) => s.id === 'L104')!;
    assert.deepEqual(site.widths, [64, 64]);
    assert.equal(lineParams(gpt, 'L104', 'rw+lr'), 4_100);
    assert.equal(site.merge, 'L104: x = x + self.attn(self.ln_1(x))');
    assert.equal(site.readonly, undefined);
    menuAgrees(g, gpt);
    // split's three outputs are one box; the LayerNorm class of the file is a leaf box.
    assert.equal(g.nodes.filter((n) => n.layer === 'split' && n.parent === 'm:transformer.h.0.attn').length, 1);
    assert.equal(g.edges.filter((e) => e.from === 'op:transformer.h.0.attn:split:56').length, 3);
  });

  it('nanoGPT: the module hierarchy as groups, Blocks folded at first; folding redirects edges and keeps the totals', () => {
    const g = gptGraph;
    const groups = g.nodes.filter((n) => n.group);
    assert.deepEqual(groups.map((n) => [n.id, n.className, n.parent ?? null, !!n.folded]), [
      ['m:transformer.h.0', 'Block', null, true],
      ['m:transformer.h.0.attn', 'CausalSelfAttention', 'm:transformer.h.0', true],
      ['m:transformer.h.0.mlp', 'MLP', 'm:transformer.h.0', true],
      ['m:transformer.h.1', 'Block', null, true],
      ['m:transformer.h.1.attn', 'CausalSelfAttention', 'm:transformer.h.1', true],
      ['m:transformer.h.1.mlp', 'MLP', 'm:transformer.h.1', true],
    ]);
    assert.equal(g.nodes.find((n) => n.id === 'm:transformer.h.0')!.params, 49_984);
    assert.equal(g.nodes.find((n) => n.id === 'm:transformer.h.0.attn.c_attn')!.layer, 'c_attn');
    const folded = foldGroups(g, foldedGroups(g, new Set()));
    checkShape(folded);
    assert.deepEqual(folded.nodes.map((n) => n.id), ['input', 'op::arange:174', 'm:transformer.wte', 'm:transformer.wpe', 'op::add:179', 'm:transformer.drop', 'm:transformer.h.0', 'm:transformer.h.1', 'm:transformer.ln_f', 'op::__getitem__:190', 'm:lm_head']);
    const block = folded.nodes.find((n) => n.id === 'm:transformer.h.0')!;
    assert.equal(block.group, undefined);
    assert.equal(block.outputShape, '(1, 16, 64) · residual L104, L105');
    assert.deepEqual(residualEdges(folded), {}, 'every residual merge is inside a folded Block');
    assert.deepEqual(folded.edges.filter((e) => e.to === 'm:transformer.h.1').map((e) => e.from), ['m:transformer.h.0']);
    assert.equal(boxParams(folded), 108_544);
    // One Block unfolded (its attention and MLP stay folded): its two residual edges are back, drawn and clickable.
    const one = foldGroups(g, foldedGroups(g, new Set(['m:transformer.h.0'])));
    checkShape(one);
    assert.deepEqual(residualEdges(one), { L104: 1, L105: 1 });
    assert.equal(one.nodes.find((n) => n.id === 'm:transformer.h.0')!.group, true);
    assert.equal(one.nodes.find((n) => n.id === 'm:transformer.h.0.attn')!.group, undefined, 'still folded');
  });

  it('nanoGPT: node ↔ source line (a click reveals the call line; line 104 highlights its boxes, line 27 every LayerNorm)', () => {
    const g = gptGraph;
    const at = (line: number): string[] => g.nodes.filter((n) => n.lines?.includes(line)).map((n) => n.id);
    assert.deepEqual(at(104), ['m:transformer.h.0.ln_1', 'm:transformer.h.0.attn', 'op:transformer.h.0:add:104', 'm:transformer.h.1.ln_1', 'm:transformer.h.1.attn', 'op:transformer.h.1:add:104']);
    assert.deepEqual(at(27).map((id) => id.replace(/^m:/, '')), ['transformer.h.0.ln_1', 'transformer.h.0.ln_2', 'transformer.h.1.ln_1', 'transformer.h.1.ln_2', 'transformer.ln_f']);
    assert.equal(g.nodes.find((n) => n.id === 'm:transformer.h.0.attn.c_attn')!.line, 56);
    assert.equal(g.nodes.find((n) => n.id === 'm:transformer.h.1')!.line, 181);
    // Folded, a Block shows the lines of everything inside it.
    const byId = new Map(g.nodes.map((n) => [n.id, n]));
    const folded = foldedGroups(g, new Set());
    assert.equal(visibleBox(byId, folded, 'm:transformer.h.1.attn.c_attn'), 'm:transformer.h.1');
    assert.ok(foldGroups(g, folded).nodes.find((n) => n.id === 'm:transformer.h.1')!.lines!.includes(56));
  });

  it('nanoGPT after RW on L104: the LaurelResidual call is the merge box, priced as now RW, its inner calls not drawn', async () => {
    const planned = planPy(gpt, 'L104=rw');
    // The edited file imports laurel_residual.py from its folder, as the editor writes it beside the model.
    const dir = mkdtempSync(join(tmpdir(), 'laurel-pygraph-'));
    writeCompanion(dir);
    const m = await open('nanogpt_model.py', GPT, planned.text, join(dir, 'model.py')).finally(() => rmSync(dir, { recursive: true, force: true }));
    const g = pyGraphSnapshot(m, DEFAULT_OPTIONS);
    checkShape(g);
    // The import block moved the lines down by five.
    assert.deepEqual(residualEdges(g), { L109: 2, L110: 2 });
    const merges = g.nodes.filter((n) => n.residualSite === 'L109');
    assert.deepEqual(merges.map((n) => [n.className, n.params]), [['LaurelResidual', 2], ['LaurelResidual', 2]], 'one module per Block');
    assert.equal(g.sites.find((s) => s.id === 'L109')!.current.label, 'RW');
    assert.equal(g.nodes.some((n) => n.parent !== undefined && n.parent.includes('laurel')), false);
    assert.deepEqual(g.planDelta, { baseParams: 108_544, addedParams: 4, percent: (4 / 108_544) * 100, switched: 1 });
    assert.equal(boxParams(g), 108_548);
  });

  it('ResNet18 (pytorch-cifar): L37 ×8 with identity and projection shortcuts, 11,173,962 parameters over the boxes', async () => {
    const m = await open('cifar_resnet.py', { model: 'ResNet18()', input: 'torch.randn(1, 3, 32, 32)' });
    const g = pyGraphSnapshot(m, DEFAULT_OPTIONS);
    checkShape(g);
    assert.deepEqual(residualEdges(g), { L37: 8 });
    assert.equal(boxParams(g), 11_173_962);
    const site = g.sites.find((s) => s.id === 'L37')!;
    assert.deepEqual(site.widths, [64, 64, 128, 128, 256, 256, 512, 512]);
    assert.equal(site.kindText, 'identity+projection');
    menuAgrees(g, m);
    assert.equal(lineParams(m, 'L37', 'rw'), 16);
    assert.equal(lineParams(m, 'L37', 'lr'), [64, 64, 128, 128, 256, 256, 512, 512].reduce((s, w) => s + instanceCost({ variant: 'lr', options: DEFAULT_OPTIONS }, w).params, 0));
    // Empty shortcut Sequentials pass the tensor through (no box); projection shortcuts are groups of conv + bn.
    assert.equal(g.nodes.some((n) => n.id === 'm:layer1.0.shortcut'), false);
    assert.deepEqual(g.nodes.filter((n) => n.parent === 'm:layer2.0.shortcut').map((n) => n.className), ['Conv2d', 'BatchNorm2d']);
    assert.deepEqual(g.nodes.filter((n) => n.group && n.folded).map((n) => n.className), ['BasicBlock', 'BasicBlock', 'BasicBlock', 'BasicBlock', 'BasicBlock', 'BasicBlock', 'BasicBlock', 'BasicBlock']);
    // The identity shortcut of layer1.1 starts at layer1.0's last relu; projection ones at the previous stage's output.
    const e = g.edges.filter((x) => x.residual === 'L37');
    assert.deepEqual(e.slice(0, 3).map((x) => [x.from, x.to]), [
      ['op::relu:96', 'op:layer1.0:add_:37'],
      ['op:layer1.0:relu:38', 'op:layer1.1:add_:37'],
      ['m:layer2.0.shortcut.1', 'op:layer2.0:add_:37'],
    ]);
    const folded = foldGroups(g, foldedGroups(g, new Set()));
    checkShape(folded);
    assert.ok(folded.nodes.length < 30, `${folded.nodes.length} boxes at first`);
  });

  it('TransformerNet (fast neural style): L75 ×5, 1,679,235 parameters, ResidualBlocks folded', async () => {
    const m = await open('fast_neural_style_transformer_net.py', { input: 'torch.randn(1, 3, 64, 64)' });
    const g = pyGraphSnapshot(m, DEFAULT_OPTIONS);
    checkShape(g);
    assert.deepEqual(residualEdges(g), { L75: 5 });
    assert.equal(boxParams(g), 1_679_235);
    assert.deepEqual(g.sites.map((s) => [s.id, s.widths, s.kind]), [['L75', [128, 128, 128, 128, 128], 'identity']]);
    assert.equal(g.nodes.filter((n) => n.group && n.folded && n.className === 'ResidualBlock').length, 5);
  });

  it('a large model opens folded: nanoGPT with 12 layers lays out at most FIRST_PAINT_BOXES boxes at first', async () => {
    const m = await open('nanogpt_model.py', { model: 'GPT(GPTConfig(n_layer=12, n_head=2, n_embd=32, block_size=16, vocab_size=50))', input: 'torch.randint(0, 50, (1, 8))' });
    const g = pyGraphSnapshot(m, DEFAULT_OPTIONS);
    checkShape(g);
    assert.deepEqual(residualEdges(g), { L104: 12, L105: 12 });
    assert.ok(g.nodes.length > FIRST_PAINT_BOXES, `${g.nodes.length} boxes in all`);
    assert.ok(visibleCount(g) <= FIRST_PAINT_BOXES, `${visibleCount(g)} at first`);
    assert.equal(g.nodes.filter((n) => n.group && n.folded && n.className === 'Block').length, 12);
  });

  it('without a measurement the view says why: untrusted, not allowed, running, failed (located), changed since', () => {
    assert.match(unmeasuredText('model.py', { kind: 'none', trusted: false }, false), /runs its code: trust this workspace first/);
    assert.match(unmeasuredText('model.py', { kind: 'none', trusted: true }, false), /allow measuring/);
    assert.match(unmeasuredText('model.py', { kind: 'running' }, true), /^Measuring model\.py/);
    assert.equal(unmeasuredText('model.py', { kind: 'failed', error: { phase: 'forward', message: 'RuntimeError: shapes', line: 42 } }, true), 'model.py could not be measured (forward, line 42): RuntimeError: shapes');
    assert.match(unmeasuredText('model.py', { kind: 'none', trusted: true }, true), /changed since it was measured: the graph redraws after the next measurement/);
    assert.throws(() => pyGraphSnapshot(openPyModel('model.py', 'import torch\n'), DEFAULT_OPTIONS), /not measured/);
  });
});
