import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ComparisonRecord, TrainConfig } from '../../src/protocol/runRecords';
import { selectBackend } from '../../src/trainer/backend';
import type { BackendChoice } from '../../src/protocol/backends';
import { trainJob } from '../../src/trainer/jobs';
import { pySourceRuns } from '../../src/trainer/pySourceRuns';
import { pytorchFixture } from './fixturePath';
import { requireSystemDeps, SYSTEM_PYTHON } from './systemDeps';

// PyTorch sources on the PyTorch engine beyond the basics of pySourceTrain.test.ts: real Fashion-MNIST from the
// file's `# laurel:` comment, the image adaptations for ResNet18, the loss options, two processes (DDP) with
// LaurelResidual's lazy weights, and the memory check before the start. Short runs: the CPU is shared.

const root = resolve(__dirname, '../../..');
const SMALL_CNN = join(root, 'test', 'fixtures', 'pytorch', 'small_cnn.py');
const GPT = 'GPT(GPTConfig(n_layer=2, n_head=2, n_embd=64, block_size=32, vocab_size=256, dropout=0.0))';
const GPT_INPUT = 'torch.randint(0, 256, (1, 32))';
const config = (over: Partial<TrainConfig> = {}): TrainConfig => ({
  optimizer: 'adam', learningRate: 3e-3, batchSize: 16, epochs: 1, validationSplit: 0.1, seed: 42, engine: 'pytorch', python: SYSTEM_PYTHON, ...over,
});
// SmallNet by hand: stem 1·16·9 + 16, two blocks of two 3×3 16→16 convs and two BatchNorms (16·16·9·2 + 4·16), head 16·10 + 10.
const SMALL_CNN_PARAMS = 160 + 2 * (2 * 16 * 16 * 9 + 4 * 16) + 170;

describe('PyTorch sources on the engine: Fashion-MNIST, losses, processes, memory', function () {
  this.timeout(300_000);
  let backend: BackendChoice;
  let tmp: string;
  const ctx = (): Parameters<typeof trainJob>[1] => ({ backend, signal: new AbortController().signal, sink: {} });

  before(async function () {
    requireSystemDeps(this, 'python3-torch', 'python3-numpy', 'dataset-fashion-mnist');
    backend = await selectBackend('wasm');
    tmp = mkdtempSync(join(tmpdir(), 'laurel-pyengine-'));
    if (!existsSync(join(root, 'dist', 'cli.js'))) spawnSync(process.execPath, ['esbuild.mjs'], { cwd: root, stdio: 'inherit' });
  });
  after(() => tmp && rmSync(tmp, { recursive: true, force: true }));

  it('laurel compare small_cnn.py: model, input and Fashion-MNIST from its # laurel: comment; both plans learn', function () {
    const out = join(tmp, 'cnn');
    const r = spawnSync(process.execPath, [join(root, 'bin', 'laurel.js'), 'compare', SMALL_CNN, '--plans', 'plain;rw+lr:r=4', '--epochs', '2', '--batch-size', '32', '--lr', '0.003', '--python', SYSTEM_PYTHON, '--out', out], { encoding: 'utf8', cwd: tmp });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /on .*small_cnn\.py with fashion-mnist:limit=1200/);
    assert.match(r.stdout, /data fashion-mnist train, 1200 samples.*added a channel axis: \(28, 28\) -> \(28, 28, 1\).*NHWC to NCHW for PyTorch/);
    const c = JSON.parse(readFileSync(join(out, 'comparison.json'), 'utf8')) as ComparisonRecord;
    const [plain, lr] = c.runs;
    assert.equal(plain!.params.total, SMALL_CNN_PARAMS);
    // RW (2) and LR (2·16·4) at each of the two blocks' adds (one line, D = 16).
    assert.equal(lr!.params.added, 2 * (2 + 2 * 16 * 4));
    for (const run of c.runs) {
      assert.equal(run.status, 'completed', run.message);
      assert.equal(run.loss, 'softmaxCrossEntropyFromLogits');
      assert.equal(run.dataset.samples, 1200);
      // Ten classes: chance is 0.1; two short epochs of real images reach well above it.
      assert.ok(run.final.valAcc! > 0.4, `${run.name}: val acc ${run.final.valAcc}`);
    }
  });

  it('flags override the comment; loss=mse regresses the logits on one-hot labels', async function () {
    const r = await trainJob({ modelPath: SMALL_CNN, data: 'fashion-mnist:limit=96', adapt: 'auto', pyLoss: 'mse', config: config({ maxSteps: 2 }), outDir: join(tmp, 'mse') }, ctx());
    assert.equal(r.status, 'completed', r.message);
    assert.equal(r.loss, 'meanSquaredError');
    assert.equal(r.dataset.samples, 96);
    assert.ok(r.final.loss! > 0 && r.final.loss! < 1, `${r.final.loss}`);
  });

  it("loss=model (the comment's) trains nanoGPT on the loss its forward returns", async function () {
    const file = join(tmp, 'gpt_model.py');
    writeFileSync(file, `# laurel: model=${GPT} input=${GPT_INPUT} loss=model\n${readFileSync(pytorchFixture('nanogpt_model.py'), 'utf8')}`);
    const corpus = join(tmp, 'corpus.txt');
    writeFileSync(corpus, readFileSync(join(root, 'README.md')).subarray(0, 4000));
    const r = await trainJob({ modelPath: file, data: `text:${corpus}`, plan: 'rw', config: config({ epochs: 2 }), outDir: join(tmp, 'gpt') }, ctx());
    assert.equal(r.status, 'completed', r.message);
    assert.equal(r.loss, 'model');
    const [e1, e2] = r.epochs;
    assert.ok(e2!.loss < e1!.loss && Math.abs(e1!.loss - Math.log(256)) < 1, `${e1!.loss} then ${e2!.loss}`);
    await assert.rejects(trainJob({ modelPath: SMALL_CNN, data: 'fashion-mnist:limit=32', adapt: 'auto', pyLoss: 'model', config: config({ maxSteps: 1 }), outDir: join(tmp, 'nomodel') }, ctx()), /loss=model: SmallNet\.forward takes no targets argument/);
    await assert.rejects(trainJob({ modelPath: file, data: `text:${corpus}`, pyLoss: 'mse', config: config(), outDir: join(tmp, 'x') }, ctx()), /loss=mse is for class outputs/);
  });

  it('ResNet18 (pytorch-cifar) on Fashion-MNIST with the adaptations: grey to 3 channels, 28 to 32', async function () {
    const file = pytorchFixture('cifar_resnet.py');
    const p = { modelPath: file, data: 'fashion-mnist:limit=32', config: config({ batchSize: 16, maxSteps: 1 }), outDir: join(tmp, 'resnet'), pyModel: 'ResNet18()', pyInput: 'torch.randn(1, 3, 32, 32)', plan: 'rw' };
    await assert.rejects(trainJob(p, ctx()), /does not fit|adapt/i);
    const r = await trainJob({ ...p, adapt: 'auto' }, ctx());
    assert.equal(r.status, 'completed', r.message);
    assert.equal(r.params.base, 11_173_962);
    const adapted = r.dataset.adaptations.join('; ');
    assert.match(adapted, /zero-padded \(centred\) 28×28 -> 32×32/);
    assert.match(adapted, /repeated the single channel 3 times/);
    // Class indices stay indices (PyTorch's cross-entropy): no one-hot adaptation is asked for.
    assert.doesNotMatch(adapted, /one-hot/);
    assert.match(adapted, /NHWC to NCHW/);
  });

  it('two processes (torchrun, gloo): LaurelResidual takes its lazy weights before DDP wraps the model', async function () {
    const r = await trainJob({ modelPath: SMALL_CNN, data: 'synthetic:samples=64:classes=10', plan: 'rw+lr:r=4', config: config({ processes: 2 }), outDir: join(tmp, 'ddp') }, ctx());
    assert.equal(r.status, 'completed', r.message);
    assert.equal(r.engine?.processes, 2);
    assert.equal(r.params.added, 260);
    assert.ok(Number.isFinite(r.final.loss));
  });

  it('memory: estimated from the trace before the start, and a run that cannot fit is refused', async function () {
    const { runs } = await pySourceRuns({ modelPath: SMALL_CNN, data: 'fashion-mnist', config: config(), outDir: tmp }, ['plain']);
    const e = runs[0]!.memory!('pytorch', 32, 'adam', 1000);
    // Adam: weight, gradient and two moments.
    assert.equal(e.weightBytes, 4 * 4 * SMALL_CNN_PARAMS);
    // Per example, the outputs autograd keeps: stem conv and ReLU (16·14·14 each), per block conv, BN, ReLU, conv,
    // BN, add, ReLU (7 × 16·14·14), the mean (16) and the logits (10).
    assert.equal(e.activationBytesPerExample, 4 * (2 * 3136 + 2 * 7 * 3136 + 16 + 10));
    assert.equal(e.totalBytes, e.weightBytes + 1000 + 32 * e.activationBytesPerExample);

    // A model that keeps ~200 MB per example: 2,000 of them in one batch is far beyond any machine's memory.
    const big = join(tmp, 'big.py');
    writeFileSync(big, '# laurel: model=Big() input=torch.randn(1, 1, 28, 28)\nimport torch\nfrom torch import nn\n\nclass Big(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.up = nn.Upsample(scale_factor=16)\n        self.conv = nn.Conv2d(1, 64, 3, padding=1)\n        self.head = nn.Linear(64, 10)\n\n    def forward(self, x):\n        return self.head(torch.relu(self.conv(self.up(x))).mean((2, 3)))\n');
    const out = join(tmp, 'big-run');
    await assert.rejects(trainJob({ modelPath: big, data: 'synthetic:samples=2000:classes=10', config: config({ batchSize: 2000, validationSplit: 0 }), outDir: out }, ctx()), /not started: memory estimate .* GiB.*more than the machine's available memory allows.*--batch-size \d+/);
    assert.ok(!existsSync(join(out, 'model.pt')));
  });
});
