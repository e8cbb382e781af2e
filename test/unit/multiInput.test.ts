import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { toPyTorch } from '../../src/core/export/pytorch';
import { openModel } from '../../src/core/model';
import type { OpenModel } from '../../src/core/model';
import type { BackendChoice } from '../../src/protocol/backends';
import type { TrainConfig } from '../../src/protocol/runRecords';
import { selectBackend } from '../../src/trainer/backend';
import { DatasetError, loadDataset, parseDataSpec } from '../../src/trainer/data/loadDataset';
import { generateSynthetic } from '../../src/trainer/data/synthetic';
import type { Task } from '../../src/trainer/data/task';
import { disposeData, splitOffTest } from '../../src/trainer/data/testSplit';
import { findTorchPython } from '../../src/trainer/pythonFinder';
import { npyBytes } from '../../src/trainer/pytorchScript';
import { commandAnswer } from '../../src/extension/commandFacts';
import { datasetPicks, npyInputTitle, npySeveralSpec } from '../../src/extension/datasetPicks';
import { DEFAULT_OPTIONS } from '../../src/core/laurel/variants';
import { RpcError } from '../../src/protocol/rpcChannel';
import { TrainerClient } from '../../src/trainer/trainerClient';
import { planRun, taskOf } from '../../src/trainer/runSpec';
import { trainRun } from '../../src/trainer/train';
import type { TrainData } from '../../src/trainer/run';
import { fixturePath } from './fixturePath';
import { requireSystemDeps } from './systemDeps';

// Models with several inputs train: the synthetic data give one array per input, and both engines feed them.
// The real case is tfjs-examples' seq2seq (encoder LSTM states as the decoder LSTM's initial_state).

const SEQ2SEQ = 'tfjs-seq2seq-lstm-initial-state-tfjs-examples.json';
const seq2seq = (): OpenModel => openModel(SEQ2SEQ, readFileSync(fixturePath(SEQ2SEQ)));

/** The least-squares residual (sum of squares) of y on the columns of `a` (normal equations, Gaussian elimination). */
function residual(a: number[][], y: number[]): number {
  const k = a[0]!.length;
  const m = Array.from({ length: k }, (_, i) => [...Array.from({ length: k }, (_, j) => a.reduce((s, r) => s + r[i]! * r[j]!, 0)), a.reduce((s, r, n) => s + r[i]! * y[n]!, 0)]);
  for (let c = 0; c < k; c++) {
    const p = m.reduce((best, r, i) => (i >= c && Math.abs(r[c]!) > Math.abs(m[best]![c]!) ? i : best), c);
    [m[c], m[p]] = [m[p]!, m[c]!];
    for (let r = 0; r < k; r++) {
      if (r === c) continue;
      const f = m[r]![c]! / m[c]![c]!;
      for (let j = c; j <= k; j++) m[r]![j]! -= f * m[c]![j]!;
    }
  }
  const w = m.map((r, i) => r[k]! / r[i]!);
  return a.reduce((s, r, n) => s + (r.reduce((t, v, i) => t + v * w[i]!, 0) - y[n]!) ** 2, 0);
}

describe('several inputs: data', () => {
  // Main input [B, 4, 3] (per position), another [B, 5]; per-position regression output [B, 4, 1].
  const task: Task = {
    inputShape: [null, 4, 3],
    outputShape: [null, 4, 1],
    loss: 'meanSquaredError',
    inputs: [
      { name: 'seq', shape: [null, 4, 3] },
      { name: 'ctx', shape: [null, 5] },
    ],
    mainInput: 0,
  };

  it('one array per input at its shape; the targets are a linear map of the main position and the other input, not of the main one alone', () => {
    const d = generateSynthetic({ samples: 200, seed: 3 }, task, 2 ** 30);
    assert.deepEqual(d.inputs?.map((i) => [i.xShape, i.x.length]), [[[4, 3], 200 * 12], [[5], 200 * 5]]);
    assert.equal(d.x, d.inputs![0]!.x);
    assert.deepEqual(d.yShape, [4, 1]);
    const rows: number[][] = [];
    const own: number[][] = [];
    const y: number[] = [];
    for (let s = 0; s < 200; s++) {
      for (let p = 0; p < 4; p++) {
        const main = [...d.x.subarray(s * 12 + p * 3, s * 12 + p * 3 + 3)];
        rows.push([...main, ...d.inputs![1]!.x.subarray(s * 5, s * 5 + 5)]);
        own.push(main);
        y.push(d.y[s * 4 + p]!);
      }
    }
    const total = y.reduce((a, v) => a + v * v, 0);
    assert.ok(residual(rows, y) < 1e-6 * total, `both inputs explain the targets: residual ${residual(rows, y)} of ${total}`);
    assert.ok(residual(own, y) > 0.3 * total, `the main input alone leaves ${residual(own, y)} of ${total}`);
  });

  it('token ids for an input that feeds an Embedding, within its vocabulary; the same seed gives the same data', () => {
    const ids: Task = { ...task, inputs: [task.inputs![0]!, { name: 'tokens', shape: [null, 6], tokenIds: { vocabulary: 11, layer: 'emb' } }] };
    const a = generateSynthetic({ samples: 50, seed: 1 }, ids, 2 ** 30);
    const tokens = a.inputs![1]!.x;
    assert.ok(tokens.every((v) => Number.isInteger(v) && v >= 0 && v < 11));
    assert.ok(new Set(tokens).size > 8, 'ids spread over the vocabulary');
    assert.ok(a.notes.some((n) => n.includes("Embedding 'emb'")), a.notes.join('; '));
    const b = generateSynthetic({ samples: 50, seed: 1 }, ids, 2 ** 30);
    assert.deepEqual([b.x, b.inputs![1]!.x, b.y], [a.x, tokens, a.y]);
    // The main input (here the second, [B, 4] ids per position) feeding an Embedding: its ids, the other input floats.
    const mainIds: Task = { ...task, outputShape: [null, 4, 1], inputs: [{ name: 'ctx', shape: [null, 5] }, { name: 'tokens', shape: [null, 4, 1], tokenIds: { vocabulary: 9, layer: 'emb' } }], mainInput: 1 };
    const c = generateSynthetic({ samples: 50, seed: 1 }, mainIds, 2 ** 30);
    assert.ok(c.inputs![1]!.x.every((v) => Number.isInteger(v) && v >= 0 && v < 9));
    assert.ok(!c.inputs![0]!.x.every(Number.isInteger), 'the other input is not ids');
  });

  it('a model with one input gets the data it got before: no inputs list, the same arrays', () => {
    const one: Task = { inputShape: [null, 4, 3], outputShape: [null, 4, 1], loss: 'meanSquaredError' };
    const d = generateSynthetic({ samples: 20, seed: 3 }, one, 2 ** 30);
    assert.equal(d.inputs, undefined);
    // The main input's arrays do not depend on the other inputs: a multi-input model's main x is a one-input model's x.
    assert.deepEqual(generateSynthetic({ samples: 20, seed: 3 }, task, 2 ** 30).x, d.x);
  });

  it('a file format giving one x is refused for a model with several inputs, naming them, before anything is read', async () => {
    for (const spec of ['npy:/nonexistent/x.npy,/nonexistent/y.npy', 'csv:/nonexistent/data.csv', 'idx:/nonexistent/i,/nonexistent/l']) {
      await assert.rejects(loadDataset(parseDataSpec(spec), task), (e: unknown) => {
        assert.ok(e instanceof DatasetError, String(e));
        assert.match(e.message, /gives one x, but the model has 2 inputs: 'seq' \(None, 4, 3\), 'ctx' \(None, 5\)\. Give one \.npy per input in this order \(npy:X1\.npy\+X2\.npy,Y\.npy\), or synthetic/);
        return true;
      });
    }
  });

  describe('.npy: one x file per input (npy:X1.npy+X2.npy,Y.npy)', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'laurel-npy-multi-'));
      const values = (n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => (i % 7) - 3);
      writeFileSync(join(dir, 'seq.npy'), npyBytes(values(6 * 12), [6, 4, 3]));
      writeFileSync(join(dir, 'ctx.npy'), npyBytes(values(6 * 5), [6, 5]));
      writeFileSync(join(dir, 'y.npy'), npyBytes(values(6 * 4), [6, 4, 1]));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));
    const at = (f: string): string => join(dir, f);

    it('the spec splits at a + right after .npy only: names with a + in them stay whole', () => {
      assert.deepEqual(parseDataSpec('npy:a.npy+b.NPY,y.npy:limit=3'), { kind: 'npy', x: 'a.npy', moreX: ['b.NPY'], y: 'y.npy', limit: 3 });
      assert.deepEqual(parseDataSpec('npy:my+data.npy,y.npy'), { kind: 'npy', x: 'my+data.npy', y: 'y.npy' });
      assert.deepEqual(parseDataSpec('npy:/runs/a+b/enc.npy+/runs/c+d/dec.npy,/runs/y.npy'), { kind: 'npy', x: '/runs/a+b/enc.npy', moreX: ['/runs/c+d/dec.npy'], y: '/runs/y.npy' });
      assert.deepEqual(parseDataSpec(npySeveralSpec(['/d+1/enc.npy', '/d+1/dec.npy'], '/d+1/y.npy')), { kind: 'npy', x: '/d+1/enc.npy', moreX: ['/d+1/dec.npy'], y: '/d+1/y.npy' });
    });

    it('loads one tensor per input in the given order; files in the wrong order or count are refused naming the input', async () => {
      const d = await loadDataset(parseDataSpec(`npy:${at('seq.npy')}+${at('ctx.npy')},${at('y.npy')}`), task);
      try {
        assert.deepEqual(d.inputs?.map((t) => t.shape), [[6, 4, 3], [6, 5]]);
        assert.equal(d.x, d.inputs![0]);
        assert.deepEqual([...d.inputs![1]!.dataSync()].slice(0, 5), [-3, -2, -1, 0, 1]);
      } finally {
        disposeData(d);
      }
      await assert.rejects(loadDataset(parseDataSpec(`npy:${at('ctx.npy')}+${at('seq.npy')},${at('y.npy')}`), task), /input 1 'seq' expects \(None, 4, 3\), its file has \(6, 5\)\. No adaptation/);
      await assert.rejects(loadDataset(parseDataSpec(`npy:${at('seq.npy')}+${at('ctx.npy')}+${at('ctx.npy')},${at('y.npy')}`), task), /gives 3 x files, but the model has 2 inputs/);
      const one: Task = { inputShape: [null, 4, 3], outputShape: [null, 4, 1], loss: 'meanSquaredError' };
      await assert.rejects(loadDataset(parseDataSpec(`npy:${at('seq.npy')}+${at('ctx.npy')},${at('y.npy')}`), one), /2 x files are given, but the model has one input \(None, 4, 3\)/);
    });
  });
});

describe(`several inputs: ${SEQ2SEQ}`, function () {
  this.timeout(600_000);
  let backend: BackendChoice;
  let data: TrainData;
  const config: TrainConfig = { optimizer: 'adam', learningRate: 0.01, batchSize: 16, epochs: 2, validationSplit: 0.25, seed: 5 };

  before(async function () {
    backend = await selectBackend('wasm');
    data = await loadDataset(parseDataSpec('synthetic:samples=64'), taskOf(seq2seq()));
  });
  after(() => data && disposeData(data));

  it("the task has both inputs, free time axes at 32, and follows the decoder's input (nearest the output)", () => {
    const task = taskOf(seq2seq());
    assert.deepEqual(task.inputs?.map((i) => [i.name, i.shape]), [['input_1', [null, null, 81]], ['input_2', [null, null, 108]]]);
    assert.equal(task.mainInput, 1);
    assert.deepEqual(data.inputs?.map((t) => t.shape), [[64, 32, 81], [64, 32, 108]]);
    assert.deepEqual(data.y.shape, [64, 32, 108]);
    // Both inputs are fixed at the data's size for the memory estimate: every call is counted.
    assert.equal(planRun(seq2seq()).memory!('tfjs', 16, 'adam', 0, data.inputs!.map((t) => t.shape.slice(1))).uncounted, 0);
    assert.ok(planRun(seq2seq()).memory!('tfjs', 16, 'adam', 0).uncounted > 0, 'without the sizes the free time axes are not counted');
    // One-hot targets per decoder position (softmax over 108 characters).
    assert.deepEqual([...tf.tidy(() => data.y.sum(-1).reshape([-1]).dataSync())].every((v) => v === 1), true);
  });

  it('a test split cuts every input alike', () => {
    const copy = { ...data, inputs: data.inputs!.map((t) => t.clone()), y: data.y.clone() };
    copy.x = copy.inputs[0]!;
    const cut = splitOffTest(copy, 0.25);
    assert.deepEqual(cut.inputs?.map((t) => t.shape[0]), [48, 48]);
    assert.deepEqual(cut.test?.inputs?.map((t) => t.shape), [[16, 32, 81], [16, 32, 108]]);
    disposeData(cut);
  });

  it('TF.js: plan price = the trained model\'s weights (747,628); a short run ends with a finite, lower loss', async function () {
    const run = planRun(seq2seq());
    assert.equal(run.baseParams! + run.addedParams!, 747_628);
    const { record } = await trainRun(run, data, config, { backend });
    assert.equal(record.status, 'completed', record.message);
    assert.equal(record.params.total, 747_628, 'TF.js countParams() of the trained model');
    assert.equal(record.params.added, 0);
    const losses = record.epochs.map((e) => e.loss);
    assert.ok(losses.every(Number.isFinite), `losses ${losses}`);
    assert.ok(losses[1]! < losses[0]!, `losses ${losses}`);
    assert.ok(Number.isFinite(record.epochs[1]!.valLoss), 'validation on both inputs');
  });

  it('PyTorch: the generated module takes both inputs; a short run ends with a finite loss and the module has the plan\'s weights', async function () {
    requireSystemDeps(this, 'python3-torch', 'python3-numpy');
    const m = seq2seq();
    const code = toPyTorch(m, undefined);
    assert.deepEqual(code.unsupported, []);
    assert.match(code.code, /def forward\(self, \w+, \w+\):/);
    const python = (await findTorchPython()).python;
    const warnings: string[] = [];
    const { record } = await trainRun(planRun(m), data, { ...config, engine: 'pytorch' }, {
      backend,
      engine: { name: 'pytorch', device: 'cpu', python, reason: 'test' },
      sink: { log: (e) => e.level !== 'info' && warnings.push(e.message) },
    });
    assert.equal(record.status, 'completed', record.message);
    assert.deepEqual(warnings, [], 'no count mismatch between the module and the file');
    assert.equal(record.params.total, 747_628);
    assert.equal(record.params.trainable, 747_628, "the module's own parameter count");
    assert.ok(record.epochs.every((e) => Number.isFinite(e.loss) && Number.isFinite(e.valLoss)), JSON.stringify(record.epochs.map((e) => [e.loss, e.valLoss])));
  });

  it("the extension's data picker: synthetic data naming both inputs and one .npy per input; IDX, CSV and Fashion-MNIST are not offered", () => {
    const facts = commandAnswer(seq2seq(), { what: 'outputs' }, DEFAULT_OPTIONS);
    assert.ok(facts.what === 'outputs');
    assert.deepEqual(facts.inputs, [{ name: 'input_1', shape: [null, null, 81] }, { name: 'input_2', shape: [null, null, 108] }]);
    const files = [{ path: '/w/data.csv', relative: 'data.csv' }, { path: '/w/x.npy', relative: 'x.npy' }, { path: '/w/y.npy', relative: 'y.npy' }];
    const picks = datasetPicks({ fashionMnist: true, files, limit: 0, inputs: facts.inputs });
    assert.deepEqual(picks.map((p) => [p.label, p.spec]), [['synthetic', 'synthetic'], ['Browse…', undefined]]);
    assert.equal(picks[0]!.description, "one array per input: 'input_1' (None, None, 81), 'input_2' (None, None, 108)");
    assert.equal(npyInputTitle(facts.inputs, 1), "LAuReL: the x .npy of input 2 of 2, 'input_2' (None, None, 108)");
    assert.deepEqual(parseDataSpec(npySeveralSpec(['/d/enc.npy', '/d/dec.npy'], '/d/y.npy')), { kind: 'npy', x: '/d/enc.npy', moreX: ['/d/dec.npy'], y: '/d/y.npy' });
    // A one-input model keeps every pick.
    assert.equal(datasetPicks({ fashionMnist: true, files, limit: 0, inputs: [facts.inputs[0]!] }).length, 5);
  });

  it('through the trainer process (what `laurel train` and the extension\'s Train run): trains on synthetic data, refuses a CSV naming both inputs', async function () {
    const script = resolve('dist/trainer.js');
    if (!existsSync(script)) execFileSync(process.execPath, ['esbuild.mjs'], { stdio: 'inherit' });
    const out = mkdtempSync(join(tmpdir(), 'laurel-multi-'));
    const client = new TrainerClient({ script, backend: 'wasm' });
    try {
      const params = { modelPath: fixturePath(SEQ2SEQ), adapt: 'auto', config: { ...config, epochs: 1, maxSteps: 2 }, outDir: out };
      await assert.rejects(client.train({ ...params, data: 'csv:/nonexistent.csv' }), (e: unknown) => e instanceof RpcError && e.name === 'DatasetError' && /the model has 2 inputs: 'input_1' \(None, None, 81\), 'input_2' \(None, None, 108\)/.test(e.message));
      const record = await client.train({ ...params, data: 'synthetic:samples=32' });
      assert.equal(record.status, 'completed', record.message);
      assert.equal(record.steps, 2);
      assert.equal(record.params.total, 747_628);
      assert.ok(existsSync(join(out, 'weights.bin')));
    } finally {
      await client.dispose();
      rmSync(out, { recursive: true, force: true });
    }
  });
});
