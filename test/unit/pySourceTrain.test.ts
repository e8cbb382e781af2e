import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { TrainConfig } from '../../src/protocol/runRecords';
import { selectBackend } from '../../src/trainer/backend';
import type { BackendChoice } from '../../src/protocol/backends';
import { comparisonTable } from '../../src/trainer/comparisonTable';
import { compareJob, trainJob } from '../../src/trainer/jobs';
import { pySourceRuns, textData } from '../../src/trainer/pySourceRuns';
import { writePySourceFolder } from '../../src/trainer/pytorchScript';
import { pytorchFixture } from './fixturePath';
import { requireSystemDeps, SYSTEM_PYTHON } from './systemDeps';

// `laurel train|compare model.py`: real PyTorch sources of shared/fixtures/pytorch trained by the PyTorch engine
// (Debian's python3-torch). Short runs: the CPU is shared.

const GPT = 'GPT(GPTConfig(n_layer=2, n_head=2, n_embd=64, block_size=32, vocab_size=256, dropout=0.0))';
const GPT_INPUT = 'torch.randint(0, 256, (1, 32))';
const config = (over: Partial<TrainConfig> = {}): TrainConfig => ({
  optimizer: 'adam', learningRate: 3e-3, batchSize: 16, epochs: 2, validationSplit: 0.1, seed: 42, engine: 'pytorch', python: SYSTEM_PYTHON, ...over,
});
const sha = (file: string): string => createHash('sha1').update(readFileSync(file)).digest('hex');

describe('PyTorch sources: train and compare', function () {
  this.timeout(300_000);
  let backend: BackendChoice;
  let tmp: string;
  let text: string;
  const ctx = (): Parameters<typeof trainJob>[1] => ({ backend, signal: new AbortController().signal, sink: {} });

  before(async function () {
    requireSystemDeps(this, 'python3-torch', 'python3-numpy');
    backend = await selectBackend('wasm');
    tmp = mkdtempSync(join(tmpdir(), 'laurel-pytrain-'));
    // A few KB of English: this repository's own README.
    text = join(tmp, 'corpus.txt');
    writeFileSync(text, readFileSync(join(__dirname, '../../../README.md')).subarray(0, 6000));
  });
  after(() => tmp && rmSync(tmp, { recursive: true, force: true }));

  it('text:FILE: byte windows of the context length, next-byte targets, refusals located', function () {
    const f = join(tmp, 'abc.txt');
    writeFileSync(f, 'abcdefghij');
    const d = textData(`text:${f}`, 4, 256);
    assert.deepEqual(d.x.shape, [2, 4]);
    assert.deepEqual(Array.from(d.x.dataSync()), [...'abcdefgh'].map((c) => c.charCodeAt(0)));
    assert.deepEqual(Array.from(d.y.dataSync()), [...'bcdefghi'].map((c) => c.charCodeAt(0)));
    d.x.dispose();
    d.y.dispose();
    assert.throws(() => textData(`text:${f}`, 8, 256), /10 bytes make fewer than 2 windows of 9 bytes/);
    assert.throws(() => textData(`text:${f}`, 4, 100), /byte 100 at offset 3 is not a token of the model's vocabulary of 100/);
  });

  it('every module a plan does not touch starts from the same weights as in plain (nanoGPT, ResNet18)', async function () {
    const cases = [
      { file: pytorchFixture('nanogpt_model.py'), model: GPT, input: GPT_INPUT, plans: ['plain', 'rw+lr:r=8'] },
      { file: pytorchFixture('cifar_resnet.py'), model: 'ResNet18()', input: 'torch.randn(1, 3, 32, 32)', plans: ['plain', 'rw'] },
    ];
    for (const c of cases) {
      const { runs } = await pySourceRuns({ modelPath: c.file, data: 'synthetic', config: config(), outDir: tmp, pyModel: c.model, pyInput: c.input }, c.plans);
      // The run folder the engine writes, built under the run's seed as laurel_train.py builds it.
      const dumps = runs.map((r, i) => {
        const dir = join(tmp, `init-${basename(c.file, '.py')}-${i}`);
        mkdirSync(dir);
        const folder = writePySourceFolder(dir, r.pySource!.fileName, r.pySource!.text);
        writeFileSync(join(dir, 'config.json'), JSON.stringify({ pySource: { file: folder.file, userDir: r.pySource!.userDir, model: r.pySource!.model } }));
        const py = `import sys, hashlib, json\nsys.path.insert(0, ${JSON.stringify(dir)})\nimport torch, laurel_model\ntorch.manual_seed(42)\nm = laurel_model.build()\nprint(json.dumps({k: hashlib.sha1(v.detach().contiguous().numpy().tobytes()).hexdigest() for k, v in m.state_dict().items()}))`;
        const p = spawnSync(SYSTEM_PYTHON, ['-c', py, join(dir, 'config.json')], { encoding: 'utf8' });
        assert.equal(p.status, 0, p.stderr);
        // The last line: nanoGPT prints a warning of its own on stdout first.
        return JSON.parse(p.stdout.trim().split('\n').pop()!) as Record<string, string>;
      });
      const [plain, variant] = dumps as [Record<string, string>, Record<string, string>];
      const shared = Object.keys(plain).filter((k) => k in variant);
      assert.equal(shared.length, Object.keys(plain).length, `${c.file}: every plain entry is in the variant`);
      assert.ok(shared.length > 10);
      for (const k of shared) assert.equal(variant[k], plain[k], `${c.file}: ${k} starts from the same weights`);
      // The variant's own entries are the LAuReL modules the rewrite added, nothing else.
      const added = Object.keys(variant).filter((k) => !(k in plain));
      assert.ok(added.length > 0);
      for (const k of added) assert.match(k, /laurel|rw_logits|lr_(down|up)/i, k);
    }
  });

  it('compares plain and RW+LR on nanoGPT over a text file: finite, falling losses and the table; the file untouched', async function () {
    const file = pytorchFixture('nanogpt_model.py');
    const before = sha(file);
    const out = join(tmp, 'cmp');
    const c = await compareJob({ modelPath: file, data: `text:${text}`, config: config(), outDir: out, pyModel: GPT, pyInput: GPT_INPUT, plans: ['plain', 'rw+lr:r=8'] }, ctx());
    assert.equal(sha(file), before);
    assert.equal(c.runs.length, 2);
    for (const r of c.runs) {
      assert.equal(r.status, 'completed', r.message);
      assert.equal(r.loss, 'tokenCrossEntropy');
      const [e1, e2] = r.epochs;
      assert.ok(e1 && e2 && Number.isFinite(e1.loss) && Number.isFinite(e2.loss) && Number.isFinite(e2.valLoss!));
      assert.ok(e2.loss < e1.loss, `${r.name}: loss ${e1.loss} then ${e2.loss}`);
    }
    // nanoGPT's count (tied lm_head once) plus RW (2 per site) and LR (2 * 64 * 8 per site), 4 sites.
    assert.equal(c.runs[0]!.params.total, 118_528);
    assert.equal(c.runs[1]!.params.added, 4 * (2 + 2 * 64 * 8));
    // Added MACs per example, as for a Keras file: RW's two scalings and LR's A·(B·x) per position, 32 positions, 4 sites.
    assert.equal(c.runs[0]!.params.addedMacs, 0);
    assert.equal(c.runs[1]!.params.addedMacs, 4 * 32 * (2 * 64 + 2 * 64 * 8));
    const table = comparisonTable(c);
    assert.match(table, /^plain\s+118,528/m);
    assert.match(table, /^rw\+lr:r=8\s+122,632/m);
    assert.ok(readFileSync(join(out, '2-rw+lr_r=8', 'model.py'), 'utf8').includes('LaurelResidual'));
  });

  it('trains ResNet18 (pytorch-cifar) one step on synthetic images in NCHW', async function () {
    const file = pytorchFixture('cifar_resnet.py');
    const r = await trainJob({ modelPath: file, data: 'synthetic:samples=16:classes=10', config: config({ batchSize: 8, epochs: 1, maxSteps: 1 }), outDir: join(tmp, 'resnet'), pyModel: 'ResNet18()', pyInput: 'torch.randn(1, 3, 32, 32)', plan: 'rw' }, ctx());
    assert.equal(r.status, 'completed', r.message);
    assert.equal(r.steps, 1);
    assert.equal(r.loss, 'softmaxCrossEntropyFromLogits');
    assert.equal(r.params.base, 11_173_962);
    assert.equal(r.params.added, 16);
    assert.ok(r.dataset.adaptations.includes('NHWC to NCHW for PyTorch'));
  });

  it('refuses text data for a classifier and image data for a language model, before training', async function () {
    await assert.rejects(
      trainJob({ modelPath: pytorchFixture('nanogpt_model.py'), data: 'synthetic', config: config(), outDir: join(tmp, 'x'), pyModel: GPT, pyInput: GPT_INPUT }, ctx()),
      /language model \(per-token logits over 256 tokens\): give --data text:FILE/,
    );
    await assert.rejects(
      trainJob({ modelPath: pytorchFixture('nanogpt_model.py'), data: `text:${text}`, config: config({ engine: 'tfjs' }), outDir: join(tmp, 'x'), pyModel: GPT, pyInput: GPT_INPUT }, ctx()),
      /is a PyTorch source: it trains on the PyTorch engine/,
    );
  });
});
