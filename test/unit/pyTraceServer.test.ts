import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TraceSetResult } from '../../src/core/pysource/pyTrace';
import { TraceServer } from '../../src/trainer/pyTraceServer';
import { pytorchFixture } from './fixturePath';

// The warm tracer through the real Python with torch: the same answers as the one-shot tracer, a pass past its
// limit or a cancel stops only that request (the server answers the next one), unsaved text, dispose.
const PYTHON = process.env['LAUREL_PYTHON'] ?? '/usr/bin/python3';
const GPT = { models: ['GPT(GPTConfig(n_layer=2, n_head=2, n_embd=64, block_size=32, vocab_size=100))'], inputs: ['torch.randint(0, 100, (1, 16))'] };
const totals = (r: TraceSetResult): (number | string)[] => (r.ok ? r.models.map((m) => (m.ok ? m.trace.params.total : m.error.phase)) : [r.error.phase]);

describe('warm tracer (laurel_trace.py --serve, one forked child per request)', function () {
  this.timeout(300_000);
  let dir = '';
  let server: TraceServer;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'laurel-serve-'));
    server = new TraceServer(PYTHON);
  });
  after(() => {
    server.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('measures files one after another with the figures of the one-shot tracer', async () => {
    assert.deepEqual(totals(await server.trace(pytorchFixture('nanogpt_model.py'), GPT)), [108_544]);
    assert.deepEqual(totals(await server.trace(pytorchFixture('fast_neural_style_transformer_net.py'))), [1_679_235]);
    const r = await server.trace(pytorchFixture('cifar_resnet.py'), { models: ['ResNet18()', 'ResNet34()'], inputs: ['torch.randn(1, 3, 32, 32)'] });
    assert.deepEqual(totals(r), [11_173_962, 21_282_122]);
  });

  it('an unsaved text is measured as the file; a sibling import resolves from its folder', async () => {
    writeFileSync(join(dir, 'sib.py'), 'WIDTH = 6\n');
    const source = ['import torch', 'from torch import nn', 'from sib import WIDTH', 'class Net(nn.Module):', '    def __init__(self):', '        super().__init__()', '        self.f = nn.Linear(WIDTH, WIDTH)', '    def forward(self, x):', '        return x + self.f(x)', ''].join('\n');
    const r = await server.trace(join(dir, 'net.py'), { source });
    assert.deepEqual(totals(r), [42]);
  });

  it('a pass past the limit and a cancel stop that request only; the next one is answered', async () => {
    const loop = ['import torch', 'from torch import nn', 'class M(nn.Module):', '    def __init__(self):', '        super().__init__()', '        self.f = nn.Linear(4, 4)', '    def forward(self, x):', '        while True:', '            x = self.f(x) * 0', ''].join('\n');
    const slow = await server.trace(join(dir, 'slow.py'), { source: loop, inputs: ['torch.randn(1, 4)'], limitMs: 1500 });
    assert.deepEqual(totals(slow), ['timeout']);
    const abort = new AbortController();
    const cancelled = server.trace(join(dir, 'slow.py'), { source: loop, inputs: ['torch.randn(1, 4)'], signal: abort.signal });
    setTimeout(() => abort.abort(), 1500);
    const c = await cancelled;
    assert.equal(c.ok ? 'ok' : c.error.message, 'cancelled');
    assert.deepEqual(totals(await server.trace(pytorchFixture('fast_neural_style_transformer_net.py'))), [1_679_235]);
  });
});
