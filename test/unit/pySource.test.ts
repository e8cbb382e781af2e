import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeCompanion } from '../../src/util/laurelCompanion';
import type { PyTrace } from '../../src/core/pysource/pyTrace';
import { openPyModel, openPyModels, pyCost } from '../../src/core/pysource/pyModel';
import type { OpenPyModel } from '../../src/core/pysource/pyModel';
import { planPy } from '../../src/core/pysource/pyPlan';
import { traceAllSources, traceSource } from '../../src/trainer/pySourceTrace';
import { DEFAULT_OPTIONS } from '../../src/core/laurel/variants';
import { buildPyLenses, PY_OPEN_GRAPH } from '../../src/extension/pyLensSpecs';
import { pyGraphSnapshot } from '../../src/extension/pyGraphSnapshot';
import type { GraphSnapshot } from '../../src/protocol/webviewProtocol';
import type { TraceOptions } from '../../src/trainer/pySourceTrace';
import { pytorchFixture } from './fixturePath';
import { tempFolder } from './tempFolder';

// Through the real Python with torch 1.13 (Debian's python3-torch): the checkable figures of issue 8 and
// shared/fixtures/pytorch/SOURCES.md, the edits round trip, and every located error.
const PYTHON = process.env['LAUREL_PYTHON'] ?? '/usr/bin/python3';
const GPT = { model: 'GPT(GPTConfig(n_layer=2, n_head=2, n_embd=64, block_size=32, vocab_size=100))', input: 'torch.randint(0, 100, (1, 16))' };
const RESNET = { model: 'ResNet18()', input: 'torch.randn(1, 3, 32, 32)' };

async function trace(file: string, opts: TraceOptions = {}): Promise<PyTrace> {
  const r = await traceSource(file, { explicit: PYTHON, ...opts });
  if (!r.ok) assert.fail(`${file}: ${r.error.phase} ${r.error.message} (line ${r.error.line})`);
  return r.trace;
}

async function open(file: string, opts: TraceOptions = {}): Promise<OpenPyModel> {
  return openPyModel(file, readFileSync(file, 'utf8'), await trace(file, opts));
}

const residualLines = (t: PyTrace): Record<number, number> => {
  const out: Record<number, number> = {};
  for (const a of t.adds) if (a.residual && a.line) out[a.line] = (out[a.line] ?? 0) + 1;
  return out;
};

describe('.py models through Python (tracer, pricing, edits)', function () {
  this.timeout(300_000);
  const work = tempFolder('laurel-pysource-');
  const copy = (name: string): string => {
    const p = join(work(), name);
    copyFileSync(pytorchFixture(name), p);
    return p;
  };

  it('nanoGPT small: 108,544 parameters (tied lm_head once), lines 104 and 105 twice each, tok_emb + pos_emb no residual', async () => {
    const t = await trace(pytorchFixture('nanogpt_model.py'), GPT);
    assert.deepEqual(t.params, { total: 108_544, trainable: 108_544, nonTrainable: 0 });
    assert.deepEqual(residualLines(t), { 104: 2, 105: 2 });
    const emb = t.adds.filter((a) => a.line === 179);
    assert.equal(emb.length, 1);
    assert.equal(emb[0]!.residual, false);
    for (const a of t.adds.filter((x) => x.residual)) {
      assert.equal(a.width, 64);
      assert.equal(a.axis, -1);
      assert.equal(a.positions, 16);
      assert.equal(a.shortcutKind, 'identity');
      assert.equal(a.shortcut, 0, 'x in `x + self.attn(..)`');
    }
    // The module-call tree for the graph: Block calls at line 181, their leaf calls with shapes.
    const blocks = t.calls.filter((c) => c.cls === 'Block');
    assert.deepEqual(blocks.map((b) => [b.path, b.line]), [['transformer.h.0', 181], ['transformer.h.1', 181]]);
    const cAttn = t.calls.find((c) => c.path === 'transformer.h.0.attn.c_attn')!;
    assert.equal(cAttn.leaf, true);
    assert.deepEqual(t.nodes[cAttn.outputs[0]!]!.shape, [1, 16, 192]);
    assert.equal(cAttn.line, 56);
  });

  it('an unsaved text is measured as if it were the file (sent on stdin)', async () => {
    const file = pytorchFixture('nanogpt_model.py');
    const t = await trace(file, { ...GPT, source: '\n\n' + readFileSync(file, 'utf8') });
    assert.deepEqual(residualLines(t), { 106: 2, 107: 2 });
  });

  it('lenses: static at once (not measured yet + Measure), exact after measuring, one per variant with the cost over every instance', async () => {
    const file = pytorchFixture('nanogpt_model.py');
    const text = readFileSync(file, 'utf8');
    const lines = (specs: { line: number; title: string; command: string; args: unknown[] }[], line: number): string[] => specs.filter((s) => s.line === line - 1).map((s) => s.title + (s.args.length ? ` -> ${s.args.join(' ')}` : ''));
    const statics = buildPyLenses(openPyModel(file, text), { kind: 'none', trusted: true }, DEFAULT_OPTIONS);
    assert.deepEqual(lines(statics, 104), ['residual (not measured yet)']);
    assert.deepEqual(lines(statics, 18), ['nn.Module · not measured yet', 'Measure']);
    const exact = buildPyLenses(openPyModel(file, text, await trace(file, GPT)), { kind: 'measured' }, DEFAULT_OPTIONS);
    assert.deepEqual(lines(exact, 118), ['108,544 params (108,544 trainable) · 4 residuals on 2 lines · LAuReL none', `Open graph ->  ${GPT.model}`]);
    assert.deepEqual(lines(exact, 94), ['×2 · 49,984 params each']);
    assert.deepEqual(lines(exact, 104), [
      'residual · D=64 · ×2 · identity · now plain',
      'RW +4 (0.0037%) -> L104=rw',
      'LR r=16 +4,096 (3.77%) -> L104=lr',
      'RW+LR r=16 +4,100 (3.78%) -> L104=rw+lr',
      'PA k=3 +3 (0.0028%) -> L104=pa', // the line's two instances: 1 term, then 2 (the first one's x)
      'Gemma3n r=16 +4,224 (3.89%) -> L104=gemma',
    ]);
  });

  it('ResNet18: 11,173,962 parameters; line 37 eight times, identity and projection, D on the channel axis', async () => {
    const t = await trace(pytorchFixture('cifar_resnet.py'), RESNET);
    assert.equal(t.params.total, 11_173_962);
    assert.deepEqual(residualLines(t), { 37: 8 });
    const adds = t.adds.filter((a) => a.residual);
    assert.deepEqual(adds.map((a) => a.width), [64, 64, 128, 128, 256, 256, 512, 512]);
    assert.deepEqual(adds.map((a) => a.shortcutKind), ['identity', 'identity', 'projection', 'identity', 'projection', 'identity', 'projection', 'identity']);
    assert.ok(adds.every((a) => a.axis === 1 && a.shortcut === 1));
    assert.deepEqual(adds.map((a) => a.positions), [1024, 1024, 256, 256, 64, 64, 16, 16]);
  });

  it('TransformerNet: 1,679,235 parameters, line 75 five times; the model and input guessed (no-argument class, Conv2d(3))', async () => {
    const t = await trace(pytorchFixture('fast_neural_style_transformer_net.py'));
    assert.equal(t.model, 'TransformerNet()');
    assert.equal(t.input, 'torch.randn(2, 3, 32, 32)');
    assert.equal(t.params.total, 1_679_235);
    assert.deepEqual(residualLines(t), { 75: 5 });
    const t64 = await trace(pytorchFixture('fast_neural_style_transformer_net.py'), { input: 'torch.randn(1, 3, 64, 64)' });
    assert.equal(t64.params.total, 1_679_235);
    assert.deepEqual(residualLines(t64), { 75: 5 });
  });

  for (const [name, opts, plainTotal, line] of [
    ['nanogpt_model.py', GPT, 108_544, 104],
    ['cifar_resnet.py', RESNET, 11_173_962, 37],
    ['fast_neural_style_transformer_net.py', {}, 1_679_235, 75],
  ] as const) {
    it(`${name}: apply RW+LR, count = plain + added; switch to RW; plain again gives the original bytes`, async () => {
      const file = copy(name);
      const original = readFileSync(file, 'utf8');
      const m = await open(file, opts);
      const planned = planPy(m, `L${line}=rw+lr:r=8`);
      assert.equal(planned.cost.baseParams, plainTotal);
      writeCompanion(work());
      writeFileSync(file, planned.text);
      const applied = await open(file, opts);
      assert.equal(applied.params!.total, plainTotal + planned.cost.addedParams);
      const site = applied.sites.find((s) => s.current.variant === 'rw+lr')!;
      assert.equal(site.instances, m.sites.find((s) => s.line === line)!.instances);
      const rw = planPy(applied, `${site.id}=rw`);
      assert.equal(rw.edits.length, 1, 'a switch edits only the __init__ line');
      writeFileSync(file, rw.text);
      const switched = await open(file, opts);
      assert.equal(switched.params!.total, plainTotal + 2 * site.instances);
      assert.equal(planPy(switched, 'plain').text, original);
    });
  }

  // PA on a source: each rewritten add gathers its earlier activations at run time (laurel_residual.py's
  // history); the price (terms per instance from the trace order) must equal PyTorch's count of the applied file.
  for (const [name, opts, plainTotal, plans] of [
    ['nanogpt_model.py', GPT, 108_544, ['all=pa', 'all=rw+pa:k=2', 'all=rw+lr+pa:r=4', 'L105=rw+lr+pa:r=4,L104=lr:r=2', 'all=pa:pa=lowrank-per-j:r=2:k=4']],
    ['cifar_resnet.py', RESNET, 11_173_962, ['all=rw+lr+pa:r=4', 'all=pa:pa=lowrank-shared:r=4']],
    ['fast_neural_style_transformer_net.py', {}, 1_679_235, ['all=rw+pa', 'all=rw+lr+pa:r=8:k=3']],
  ] as const) {
    it(`${name}: PA plans (${plans.join(' · ')}) priced exactly as PyTorch counts the applied file; plain restores the bytes`, async () => {
      const file = copy(name);
      const original = readFileSync(file, 'utf8');
      const m = await open(file, opts);
      writeCompanion(work());
      for (const spec of plans) {
        const planned = planPy(m, spec);
        assert.equal(planned.cost.baseParams, plainTotal);
        writeFileSync(file, planned.text);
        const applied = await open(file, opts);
        assert.equal(applied.params!.total, plainTotal + planned.cost.addedParams, spec);
        assert.equal(pyCost(applied, new Map()).baseParams, plainTotal, `${spec}: the applied file prices what it holds (its PA terms from the trace)`);
        assert.equal(planPy(applied, 'plain').text, original, spec);
        writeFileSync(file, original);
      }
    });
  }

  it('the applied nanoGPT imports from its own folder and trains one step (the LAuReL weights get gradients)', async () => {
    const file = copy('nanogpt_model.py');
    const m = await open(file, GPT);
    writeCompanion(work());
    writeFileSync(file, planPy(m, 'all=rw+lr').text);
    const script = [
      'import torch, nanogpt_model as g',
      'torch.manual_seed(0)',
      `m = ${GPT.model.replace(/GPT/g, 'g.GPT')}`,
      'x = torch.randint(0, 100, (4, 16))',
      'm(x)  # the first call learns D',
      'opt = torch.optim.AdamW(m.parameters(), lr=1e-2)',
      'before = m.transformer.h[0].laurel_attn.lr_up.detach().clone()',
      'logits, loss = m(x, x)',
      'loss.backward(); opt.step()',
      'print(sum(p.numel() for p in m.parameters()), float((m.transformer.h[0].laurel_attn.lr_up - before).abs().max()) > 0, loss.item() > 0)',
    ].join('\n');
    const r = spawnSync(PYTHON, ['-c', script], { cwd: work(), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim().split('\n').pop(), `${108_544 + 2 * 2 * (2 + 2 * 16 * 64)} True True`);
  });

  it('nanoGPT with RW+LR+PA trains one step from its own folder: every parameter gets a gradient, the count is the price', async () => {
    const file = copy('nanogpt_model.py');
    const m = await open(file, GPT);
    writeCompanion(work());
    const planned = planPy(m, 'all=rw+lr+pa:r=4');
    writeFileSync(file, planned.text);
    const script = [
      'import torch, nanogpt_model as g',
      'torch.manual_seed(0)',
      `m = ${GPT.model.replace(/GPT/g, 'g.GPT')}`,
      'opt = torch.optim.AdamW(m.parameters(), lr=1e-2)  # made before the first call, as the engine does',
      'x = torch.randint(0, 100, (4, 16))',
      'logits, loss = m(x, x)',
      'loss.backward(); opt.step()',
      'print(sum(p.numel() for p in m.parameters()), all(p.grad is not None for p in m.parameters()), [b.laurel_attn.terms for b in m.transformer.h], [b.laurel_mlp.terms for b in m.transformer.h])',
    ].join('\n');
    const r = spawnSync(PYTHON, ['-c', script], { cwd: work(), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    // Execution order attn0, mlp0, attn1, mlp1 (one shape): terms 1, 2, 3, 3.
    assert.equal(r.stdout.trim().split('\n').pop(), `${108_544 + planned.cost.addedParams} True [1, 3] [2, 3]`);
  });

  it('several models in one file: each measured and priced on its own, a shared line priced per model, a failing one shown at its class', async () => {
    const file = copy('cifar_resnet.py');
    const comments = ['# laurel: model = ResNet18(); input = torch.randn(1, 3, 32, 32)', '# laurel: model = ResNet34()', '# laurel: model = ResNet(BasicBlock)', ''];
    writeFileSync(file, readFileSync(file, 'utf8') + comments.join('\n'));
    const r = await traceAllSources(file, { explicit: PYTHON });
    if (!r.ok) assert.fail(r.error.message);
    assert.deepEqual(r.models.map((x) => (x.ok ? [x.trace.model, x.trace.params.total] : [x.model, x.error.phase])), [['ResNet18()', 11_173_962], ['ResNet34()', 21_282_122], ['ResNet(BasicBlock)', 'model']]);
    const text = readFileSync(file, 'utf8');
    const m = openPyModels(file, text, r.models);
    assert.deepEqual(m.views.map((v) => v.sites.map((s) => [s.id, s.instances])), [[['L37', 8]], [['L37', 16]]]);
    const lenses = buildPyLenses(m, { kind: 'measured' }, DEFAULT_OPTIONS);
    const at = (line: number): string[] => lenses.filter((l) => l.line === line - 1).map((l) => l.title);
    assert.ok(at(73).some((t) => t.startsWith('ResNet18(): 11,173,962 params')) && at(73).some((t) => t.startsWith('ResNet34(): 21,282,122 params')), at(73).join(' | '));
    assert.ok(at(73).some((t) => /^ResNet\(BasicBlock\): not measured: model = ResNet\(BasicBlock\): TypeError/.test(t)), at(73).join(' | '));
    assert.ok(at(14).some((t) => t.startsWith('×8 in ResNet18(), ×16 in ResNet34()')), at(14).join(' | '));
    assert.ok(at(37).includes('RW +16 (0.00014%) in ResNet18() · +32 (0.00015%) in ResNet34()'), at(37).join(' | '));
    // Each model has its own graph: the lens names it, and the view draws that model's residuals.
    assert.deepEqual(lenses.filter((l) => l.command === PY_OPEN_GRAPH).map((l) => [l.line + 1, l.title, l.args]), [[73, 'Graph of ResNet18()', [undefined, 'ResNet18()']], [73, 'Graph of ResNet34()', [undefined, 'ResNet34()']]]);
    const shortcuts = (g: GraphSnapshot): number => g.edges.filter((e) => e.residual === 'L37').length;
    const g34 = pyGraphSnapshot(m, DEFAULT_OPTIONS, 'ResNet34()');
    assert.deepEqual([g34.name, shortcuts(g34), g34.params.total], ['ResNet34()', 16, 21_282_122]);
    const first = pyGraphSnapshot(m, DEFAULT_OPTIONS);
    assert.deepEqual([first.name, shortcuts(first), first.params.total], ['ResNet18()', 8, 11_173_962]);
    const planned = planPy(m, 'L37=rw+lr:r=4');
    assert.deepEqual(planned.costs.map((c) => c.addedParams), [2 * 8 + 2 * 4 * 2 * (64 + 128 + 256 + 512), 2 * 16 + 2 * 4 * (3 * 64 + 4 * 128 + 6 * 256 + 3 * 512)]);
    writeCompanion(work());
    writeFileSync(file, planned.text);
    const again = await traceAllSources(file, { explicit: PYTHON });
    assert.ok(again.ok);
    assert.deepEqual(again.models.flatMap((x) => (x.ok ? [x.trace.params.total] : [])), [11_173_962 + planned.costs[0]!.addedParams, 21_282_122 + planned.costs[1]!.addedParams]);
  });

  it('a library residual (nn.TransformerEncoderLayer) is reported at the calling line, not editable', async () => {
    const file = join(work(), 'enc.py');
    writeFileSync(file, ['import torch', 'from torch import nn', 'class Enc(nn.Module):', '    def __init__(self):', '        super().__init__()', '        self.emb = nn.Embedding(50, 32)', '        self.layer = nn.TransformerEncoderLayer(32, 4, 64, batch_first=True)', '    def forward(self, x):', '        return self.layer(self.emb(x))', ''].join('\n'));
    const m = await open(file);
    assert.deepEqual(m.sites.map((s) => [s.id, s.instances, s.library, s.editable]), [['L9', 2, 'TransformerEncoderLayer', false]]);
    assert.throws(() => planPy(m, 'L9=rw'), /library code/);
  });

  describe('errors are located at the last frame in the file, never a throw', () => {
    const fail = async (lines: string[], opts: TraceOptions = {}): Promise<{ phase: string; message: string; line: number | null }> => {
      const file = join(work(), `bad_${Math.random().toString(36).slice(2)}.py`);
      writeFileSync(file, lines.join('\n') + '\n');
      const r = await traceSource(file, { explicit: PYTHON, ...opts });
      assert.equal(r.ok, false);
      return (r as { error: { phase: string; message: string; line: number | null } }).error;
    };
    const head = ['import torch', 'from torch import nn'];
    it('a missing package', async () => {
      const e = await fail([...head, 'import einops']);
      assert.deepEqual([e.phase, e.line], ['import', 3]);
      assert.match(e.message, /ModuleNotFoundError: No module named 'einops'/);
    });
    it('a sibling module that is not there', async () => {
      const e = await fail([...head, '', 'from .layers import Block']);
      assert.deepEqual([e.phase, e.line], ['import', 4]);
      assert.match(e.message, /ImportError/);
    });
    it('an API newer than the installed torch', async () => {
      const e = await fail([...head, 'class M(nn.Module):', '    def __init__(self):', '        super().__init__()', '        self.n = nn.RMSNorm(8)', 'model = M()']);
      assert.deepEqual([e.phase, e.line], ['import', 6]);
      assert.match(e.message, /AttributeError: .*RMSNorm/);
    });
    it('a model expression that fails', async () => {
      const e = await fail([...head, 'class M(nn.Module):', '    def __init__(self, d):', '        super().__init__()', '        self.f = nn.Linear(d, d)'], { model: 'M(4, 5)', input: 'torch.randn(1, 4)' });
      assert.equal(e.phase, 'model');
      assert.match(e.message, /^model = M\(4, 5\): TypeError/);
    });
    it('an input of the wrong shape, from the laurel comment', async () => {
      const e = await fail([...head, '# laurel: model = M(); input = torch.randn(2, 5)', 'class M(nn.Module):', '    def __init__(self):', '        super().__init__()', '        self.f = nn.Linear(4, 4)', '    def forward(self, x):', '        return x + self.f(x)']);
      assert.deepEqual([e.phase, e.line], ['forward', 9]);
      assert.match(e.message, /RuntimeError: mat1 and mat2 shapes cannot be multiplied/);
    });
    it('ResNet18() is a function: named in what to add, never called unasked', async () => {
      const r = await traceSource(pytorchFixture('cifar_resnet.py'), { explicit: PYTHON });
      assert.equal(r.ok, false);
      const e = (r as { error: { phase: string; message: string } }).error;
      assert.equal(e.phase, 'model');
      assert.match(e.message, /functions of the file that may build one: ResNet18, ResNet34, ResNet50, ResNet101, ResNet152; add a comment such as `# laurel: model = ResNet18\(\); input = /);
    });
    it('a guessed input that does not fit says so', async () => {
      const e = await fail([...head, 'class M(nn.Module):', '    def __init__(self):', '        super().__init__()', '        self.f = nn.Linear(4, 4)', '    def forward(self, x):', '        return x + self.f(x.transpose(0, 1))']);
      assert.deepEqual([e.phase, e.line], ['forward', 8]);
      assert.match(e.message, /the input was guessed from the first layer: add `# laurel: input = \.\.\.`/);
    });
    it('no model to guess: says what to add', async () => {
      const e = await fail([...head, 'class M(nn.Module):', '    def __init__(self, d):', '        super().__init__()']);
      assert.equal(e.phase, 'model');
      assert.match(e.message, /# laurel: model = /);
    });
    it('a forward pass past the time limit is stopped', async () => {
      const e = await fail([...head, 'class M(nn.Module):', '    def __init__(self):', '        super().__init__()', '        self.f = nn.Linear(4, 4)', '    def forward(self, x):', '        while True:', '            x = self.f(x) * 0'], { input: 'torch.randn(1, 4)', limitMs: 1500 });
      assert.match(`${e.phase} ${e.message}`, /timeout|past 1.5 s/);
    });
    it('no Python with torch: a message that says how to get one', async () => {
      const named = await traceSource(pytorchFixture('cifar_resnet.py'), { explicit: join(work(), 'no-such-python') });
      assert.deepEqual(named.ok ? null : [named.error.phase, named.error.message.includes('no-such-python')], ['torch', true]);
      const missing = await traceSource(pytorchFixture('cifar_resnet.py'), { python: join(work(), 'no-such-python') });
      assert.equal(missing.ok, false);
      assert.match((missing as { error: { message: string } }).error.message, /no-such-python: spawn .*ENOENT/);
      // A Python without torch (the pyenv python3 on PATH here, if any): the tracer says torch is missing.
      const bare = spawnSync('python3', ['-c', 'import torch'], { encoding: 'utf8' });
      if (bare.status === 0 || bare.error) return;
      const r = await traceSource(pytorchFixture('cifar_resnet.py'), { python: 'python3', ...RESNET });
      assert.deepEqual(r.ok ? null : [r.error.phase, /No module named 'torch'/.test(r.error.message)], ['torch', true]);
    });
  });
});

describe('.py edits on awkward text (through Python)', function () {
  this.timeout(300_000);
  const work = tempFolder('laurel-pyedits-');

  it('CRLF line ends, quotes, backslashes, non-ASCII and a trailing comment: the applied file runs, plain restores the bytes', async () => {
    const src = [
      'import torch',
      'from torch import nn',
      '',
      'class Net(nn.Module):',
      '    def __init__(self):',
      '        super().__init__()',
      '        self.f = nn.Linear(8, 8)',
      '',
      '    def forward(self, x, tag="a\\"b\\\\c ✓"):',
      '        x = x + self.f(x) * len(tag)  # the "residual" ✓',
      '        x = (x +',
      '             self.f(x))',
      '        return x',
      '# laurel: model = Net(); input = torch.randn(2, 8)',
      '',
    ].join('\r\n');
    const file = join(work(), 'net.py');
    writeFileSync(file, src);
    writeCompanion(work());
    const m = openPyModel(file, src, await trace(file));
    assert.deepEqual(m.sites.map((s) => [s.id, s.instances, s.editable]), [['L10', 1, true], ['L11', 1, true]]);
    assert.equal(planPy(m, 'all=pa:k=2').cost.addedParams, 1 + 2, 'PA: L10 has no earlier activation (1 term), L11 has L10\'s x (2 terms)');
    const planned = planPy(m, 'all=gemma:r=2');
    assert.ok(!/[^\r]\n/.test(planned.text), 'CRLF kept');
    assert.match(planned.text, /self\.laurel_f = LaurelResidual\(variant="gemma", rank=2\)  # laurel replaces: "x \+ self\.f\(x\) \* len\(tag\)"\r\n/);
    writeFileSync(file, planned.text);
    const applied = await open(file);
    assert.equal(applied.params!.total, 72 + 2 * (2 * 2 * 8 + 8));
    assert.deepEqual(applied.sites.map((s) => s.current.variant), ['gemma', 'gemma']);
    assert.equal(planPy(applied, 'plain').text, src);
  });

  it('without a measurement the lines are candidates that cannot be switched yet', () => {
    const m = openPyModel('x.py', readFileSync(pytorchFixture('nanogpt_model.py'), 'utf8'));
    assert.deepEqual(m.sites.map((s) => [s.id, s.measured]), [['L104', false], ['L105', false]]);
    assert.throws(() => planPy(m, 'L104=rw'), /not measured yet|measure the model first/);
  });
});

describe('laurel inspect / apply on a .py file (the CLI through Python)', function () {
  this.timeout(300_000);
  const root = join(__dirname, '..', '..', '..');
  const cli = (...args: string[]): { code: number; out: string; err: string } => {
    const r = spawnSync(process.execPath, [join(root, 'bin', 'laurel.js'), ...args], { encoding: 'utf8', env: { ...process.env, LAUREL_PYTHON: PYTHON } });
    return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
  };
  const work = tempFolder('laurel-pycli-');
  before(() => {
    spawnSync(process.execPath, ['esbuild.mjs'], { cwd: root, stdio: 'inherit' });
  });

  it('inspect --json: format pytorch, params, residuals with line, code, instances, editable, width, shortcutKind; apply -o; the count is plain + added', () => {
    const file = join(work(), 'resnet.py');
    copyFileSync(pytorchFixture('cifar_resnet.py'), file);
    const r = cli('inspect', file, '--model', RESNET.model, '--input', RESNET.input, '--json', '--plan', 'L37=lr:r=4');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.format, 'pytorch');
    assert.deepEqual(j.params, { total: 11_173_962, trainable: 11_173_962, nonTrainable: 0 });
    assert.deepEqual(j.residuals.map((s: Record<string, unknown>) => [s['id'], s['line'], s['code'], s['instances'], s['editable'], s['width'], s['shortcutKind']]), [['L37', 37, 'out += self.shortcut(x)', 8, true, null, 'mixed']]);
    const added = 2 * 4 * 2 * (64 + 128 + 256 + 512);
    assert.equal(j.plan.addedParams, added);
    const out = join(work(), 'resnet_lr.py');
    const a = cli('apply', file, '--model', RESNET.model, '--input', RESNET.input, '--plan', 'L37=lr:r=4', '-o', out);
    assert.equal(a.code, 0, a.err);
    assert.match(readFileSync(out, 'utf8'), /out = self\.laurel_out\(out, self\.shortcut\(x\)\)/);
    assert.equal(readFileSync(file, 'utf8'), readFileSync(pytorchFixture('cifar_resnet.py'), 'utf8'), '-o leaves the source alone');
    const again = JSON.parse(cli('inspect', out, '--model', RESNET.model, '--input', RESNET.input, '--json').out);
    assert.equal(again.params.total, 11_173_962 + added);
  });

  it('an error is printed at FILE:LINE and exits 1; a bad plan names the sites', () => {
    const file = join(work(), 'bad.py');
    writeFileSync(file, 'import torch\nimport einops\n');
    const r = cli('inspect', file);
    assert.equal(r.code, 1);
    assert.match(r.err, /bad\.py:2: import: ModuleNotFoundError: No module named 'einops'/);
    const p = cli('inspect', pytorchFixture('fast_neural_style_transformer_net.py'), '--plan', 'L99=rw');
    assert.equal(p.code, 1);
    assert.match(p.err, /no residual site matches 'L99'; the sites are L75/);
  });

  it('inspect without --model lists every model of the file (each class that builds alone, the outermost first)', () => {
    const file = join(work(), 'two_models.py');
    writeFileSync(file, ['import torch', 'from torch import nn', 'class Blk(nn.Module):', '    def __init__(self):', '        super().__init__()', '        self.f = nn.Linear(6, 6)', '    def forward(self, x):', '        return x + self.f(x)', 'class Net(nn.Module):', '    def __init__(self):', '        super().__init__()', '        self.a, self.b = Blk(), Blk()', '    def forward(self, x):', '        return self.b(self.a(x))', ''].join('\n'));
    const r = cli('inspect', file, '--json', '--plan', 'all=pa');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.deepEqual(j.models.map((x: { model: string; params: { total: number }; residuals: { id: string; instances: number }[]; plan: { addedParams: number } }) => [x.model, x.params.total, x.residuals.map((s) => [s.id, s.instances]), x.plan.addedParams]), [['Net()', 84, [['L8', 2]], 1 + 2], ['Blk()', 42, [['L8', 1]], 1]]);
    const text = cli('inspect', file);
    assert.match(text.out, /model Net\(\)[\s\S]*model Blk\(\)/);
  });

  it('with several no-argument classes the outermost one is measured', async () => {
    const file = join(work(), 'two.py');
    writeFileSync(file, ['import torch', 'from torch import nn', 'class Blk(nn.Module):', '    def __init__(self):', '        super().__init__()', '        self.f = nn.Linear(6, 6)', '    def forward(self, x):', '        return x + self.f(x)', 'class Net(nn.Module):', '    def __init__(self):', '        super().__init__()', '        self.a, self.b = Blk(), Blk()', '    def forward(self, x):', '        return self.b(self.a(x))', ''].join('\n'));
    const t = await trace(file);
    assert.equal(t.model, 'Net()');
    assert.deepEqual(residualLines(t), { 8: 2 });
  });
});
