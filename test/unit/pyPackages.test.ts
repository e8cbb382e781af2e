import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openPyModel } from '../../src/core/pysource/pyModel';
import type { OpenPyModel } from '../../src/core/pysource/pyModel';
import { planPy } from '../../src/core/pysource/pyPlan';
import type { TrainConfig } from '../../src/protocol/runRecords';
import { selectBackend } from '../../src/trainer/backend';
import { trainJob } from '../../src/trainer/jobs';
import { traceSource } from '../../src/trainer/pySourceTrace';
import type { TraceOptions } from '../../src/trainer/pySourceTrace';
import { writeCompanion } from '../../src/util/laurelCompanion';
import { requireSystemDeps, SYSTEM_PYTHON } from './systemDeps';
import { tempFolder } from './tempFolder';

// A model file inside a package imports its siblings through the package (`from mingpt.utils import CfgNode`,
// `from .layers import Block`), as its project runs it. The real case: karpathy/minGPT (MIT), kept verbatim in
// test/fixtures/pytorch/mingpt/ (SOURCES.md there).

const MINGPT = resolve(__dirname, '../../../test/fixtures/pytorch/mingpt');
// minGPT's config is a CfgNode (imported as CN in model.py); model_type None takes the explicit sizes.
const GPT = { model: 'GPT(CN(model_type=None, n_layer=2, n_head=2, n_embd=32, vocab_size=100, block_size=16, embd_pdrop=0.0, resid_pdrop=0.0, attn_pdrop=0.0))', input: 'torch.randint(0, 100, (1, 16))' };
// By hand: token and position embeddings 100·32 + 16·32; per block two LayerNorms 2·64, c_attn 32·96 + 96,
// c_proj 32·32 + 32, c_fc 32·128 + 128, mlp c_proj 128·32 + 32; ln_f 64; lm_head 32·100 (no bias, not tied).
const GPT_PARAMS = 3200 + 512 + 2 * (128 + 3168 + 1056 + 4224 + 4128) + 64 + 3200;

async function open(file: string, opts: TraceOptions): Promise<OpenPyModel> {
  const r = await traceSource(file, { explicit: SYSTEM_PYTHON, ...opts });
  if (!r.ok) assert.fail(`${file}: ${r.error.phase} ${r.error.message} (line ${r.error.line})`);
  return openPyModel(file, readFileSync(file, 'utf8'), r.trace);
}

describe('.py models inside packages (through Python)', function () {
  this.timeout(300_000);
  before(function () {
    requireSystemDeps(this, 'python3-torch', 'python3-numpy');
  });
  const work = tempFolder('laurel-pypkg-');

  it('minGPT: measured in its package, 32,384 parameters, lines 91 and 92 twice each; RW+LR applied imports and counts plain + added', async () => {
    const pkg = join(work(), 'proj', 'mingpt');
    cpSync(MINGPT, pkg, { recursive: true });
    const file = join(pkg, 'model.py');
    const m = await open(file, GPT);
    assert.equal(m.params!.total, GPT_PARAMS);
    assert.deepEqual(m.sites.filter((s) => s.measured).map((s) => [s.line, s.instances]), [[91, 2], [92, 2]]);
    const planned = planPy(m, 'all=rw+lr:r=4');
    assert.equal(planned.cost.addedParams, 4 * (2 + 2 * 32 * 4));
    writeCompanion(pkg);
    writeFileSync(file, planned.text);
    const applied = await open(file, GPT);
    assert.equal(applied.params!.total, GPT_PARAMS + planned.cost.addedParams);
    // The project imports it as a package module: the companion is found by the relative import.
    const r = spawnSync(SYSTEM_PYTHON, ['-c', 'import mingpt.model as m; print(m.LaurelResidual.__module__)'], { cwd: join(work(), 'proj'), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'mingpt.laurel_residual');
  });

  it('minGPT trains one step on the PyTorch engine from a copy of the variant, its package imported from the user folder', async () => {
    const pkg = join(work(), 'train', 'mingpt');
    cpSync(MINGPT, pkg, { recursive: true });
    const text = join(work(), 'corpus.txt');
    writeFileSync(text, readFileSync(resolve(__dirname, '../../../README.md')).subarray(0, 4000));
    const config: TrainConfig = { optimizer: 'adam', learningRate: 3e-3, batchSize: 8, epochs: 1, maxSteps: 1, validationSplit: 0.1, seed: 1, engine: 'pytorch', python: SYSTEM_PYTHON };
    const backend = await selectBackend('wasm');
    const big = { ...GPT, model: GPT.model.replace('vocab_size=100', 'vocab_size=256'), input: 'torch.randint(0, 256, (1, 16))' };
    const run = await trainJob({ modelPath: join(pkg, 'model.py'), data: `text:${text}`, config, outDir: join(work(), 'run'), pyModel: big.model, pyInput: big.input, plan: 'all=rw' }, { backend, signal: new AbortController().signal, sink: {} });
    assert.equal(run.status, 'completed', run.message);
    assert.equal(run.params.added, 4 * 2);
    assert.equal(run.steps, 1);
  });

  describe('what goes wrong is said where', () => {
    const fail = async (files: Record<string, string[]>, main: string, opts: TraceOptions = {}): Promise<{ phase: string; message: string; line: number | null }> => {
      const dir = mkdtempSync(join(work(), 'case-'));
      for (const [name, lines] of Object.entries(files)) {
        mkdirSync(join(dir, name, '..'), { recursive: true });
        writeFileSync(join(dir, name), lines.join('\n') + '\n');
      }
      const r = await traceSource(join(dir, main), { explicit: SYSTEM_PYTHON, ...opts });
      assert.equal(r.ok, false);
      return (r as { error: { phase: string; message: string; line: number | null } }).error;
    };

    it('a relative import whose package fails to import names the package error, at the import line', async () => {
      const e = await fail({ 'pkg/__init__.py': ['raise RuntimeError("boom in __init__")'], 'pkg/layers.py': ['X = 1'], 'pkg/net.py': ['import torch', 'from .layers import X'] }, 'pkg/net.py');
      assert.deepEqual([e.phase, e.line], ['import', 2]);
      assert.match(e.message, /ImportError: attempted relative import .*\(its package did not import: RuntimeError: boom in __init__\)/);
    });

    it('a class that learns nothing is no model: the message lists the classes that need arguments', async () => {
      const e = await fail({ 'net.py': ['import torch', 'from torch import nn', 'class Act(nn.Module):', '    def forward(self, x):', '        return torch.tanh(x)', 'class Net(nn.Module):', '    def __init__(self, width, depth=2):', '        super().__init__()', '        self.f = nn.Linear(width, width)'] }, 'net.py');
      assert.equal(e.phase, 'model');
      assert.match(e.message, /no nn\.Module class of the file builds without arguments \(Net\(width\)\); add a comment such as `# laurel: model = Net\(\.\.\.\)/);
    });
  });
});
