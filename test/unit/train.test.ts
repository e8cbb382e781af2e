import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openModel } from '../../src/core/model';
import type { RunRecord, TrainConfig } from '../../src/protocol/runRecords';
import { selectBackend } from '../../src/trainer/backend';
import type { BackendChoice } from '../../src/protocol/backends';
import { compareRuns } from '../../src/trainer/compare';
import { comparisonTable } from '../../src/trainer/comparisonTable';
import { loadDataset, parseDataSpec } from '../../src/trainer/data/loadDataset';
import { fileIOHandler } from '../../src/trainer/ioHandler';
import { planRun, taskOf } from '../../src/trainer/runSpec';
import { seedScope } from '../../src/trainer/seed';
import { CURVE_POINTS } from '../../src/trainer/run';
import { trainRun } from '../../src/trainer/train';
import { jobFromRecords, parseRunFile, runSummaryView } from '../../src/extension/trainingRecords';
import { tableRows, tableText } from '../../src/report/trainingTable';
import { alignCurves } from '../../webview/training/curves';
import type { BatchEndEvent } from '../../src/protocol/trainerProtocol';
import type { RunSpec, TrainData } from '../../src/trainer/run';

/** A learnable 2-class task: the label says whether the first four features outweigh the last four. */
function twoClassData(n: number, seed = 3): TrainData {
  let s = seed;
  const rnd = (): number => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1;
  const x = Array.from({ length: n * 8 }, rnd);
  const labels = Array.from({ length: n }, (_, i) => {
    const row = x.slice(i * 8, i * 8 + 8);
    return row.slice(0, 4).reduce((a, b) => a + b, 0) > row.slice(4).reduce((a, b) => a + b, 0) ? 1 : 0;
  });
  return { name: 'two-class', x: tf.tensor2d(x, [n, 8]), y: tf.tensor1d(labels, 'int32'), samples: n, classes: 2, adaptations: ['made in the test'] };
}

function mlp(out: 'softmax' | 'linear', units = 2, extra = false): tf.LayersModel {
  const m = tf.sequential({ name: 'mlp' });
  m.add(tf.layers.dense({ name: 'd1', inputShape: [8], units: 16, activation: 'relu' }));
  if (extra) m.add(tf.layers.dense({ name: 'extra', units: 16, activation: 'relu' }));
  m.add(tf.layers.dense({ name: 'd2', units, activation: out }));
  return m;
}

const spec = (build: () => tf.LayersModel, name = 'mlp'): RunSpec => ({ name, build, model: { file: 'mlp.json', name: 'mlp' }, plan: { spec: null, sites: [] } });

const config = (over: Partial<TrainConfig> = {}): TrainConfig => ({ optimizer: 'adam', learningRate: 0.02, batchSize: 32, epochs: 1, validationSplit: 0, seed: 7, ...over });

describe('trainRun', function () {
  let backend: BackendChoice;
  let data: TrainData;
  let tmp: string;

  before(async function () {
    backend = await selectBackend('cpu');
    data = twoClassData(256);
    tmp = mkdtempSync(join(tmpdir(), 'laurel-train-'));
  });
  after(function () {
    data.x.dispose();
    data.y.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('lowers a finite loss on a learnable task and reports epochs and batches', async function () {
    const epochs: number[] = [];
    const split: [number | undefined, number | undefined][] = [];
    let batches = 0;
    const before = tf.memory().numTensors;
    const { record } = await trainRun(spec(() => mlp('softmax')), data, config({ epochs: 6, validationSplit: 0.25 }), {
      backend,
      throttleMs: 0,
      sink: { batchEnd: () => batches++, epochEnd: (e) => (epochs.push(e.loss), split.push([e.trainSamples, e.valSamples])) },
    });
    // Each epoch says the split it used (the training panel shows it), as the run record does.
    assert.deepEqual(split, Array(6).fill([192, 64]));
    assert.deepEqual([record.dataset.trainSamples, record.dataset.valSamples], [192, 64]);
    assert.equal(record.status, 'completed');
    assert.equal(record.loss, 'categoricalCrossentropy');
    assert.equal(epochs.length, 6);
    assert.ok(epochs.every(Number.isFinite));
    assert.ok(epochs[5]! < epochs[0]! * 0.6, `loss ${epochs.join(' -> ')}`);
    assert.equal(batches, 6 * 6); // 192 training samples / 32
    assert.ok(record.final.acc! > 0.8, `acc ${record.final.acc}`);
    assert.ok(record.final.valLoss !== null && record.final.valAcc !== null);
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  });

  it('uses softmax cross-entropy on logits for a linear classifier head', async function () {
    const { record } = await trainRun(spec(() => mlp('linear')), data, config({ epochs: 3 }), { backend });
    assert.equal(record.loss, 'softmaxCrossEntropyFromLogits');
    assert.ok(record.epochs[2]!.loss < record.epochs[0]!.loss);
    assert.ok(record.final.acc !== null);
  });

  it('stops within one batch of a cancel, and at once when cancelled before it starts', async function () {
    const controller = new AbortController();
    const { record } = await trainRun(spec(() => mlp('softmax')), data, config({ epochs: 5 }), {
      backend,
      signal: controller.signal,
      throttleMs: 0,
      sink: { batchEnd: (e) => e.step === 3 && controller.abort() },
    });
    assert.equal(record.status, 'cancelled');
    assert.equal(record.steps, 3);
    assert.equal(record.message, 'cancelled after 3 step(s)');
    const { record: early } = await trainRun(spec(() => mlp('softmax')), data, config(), { backend, signal: AbortSignal.abort() });
    assert.equal(early.status, 'cancelled');
    assert.equal(early.steps, 0);
  });

  it('stops at the step budget', async function () {
    const { record } = await trainRun(spec(() => mlp('softmax')), data, config({ epochs: 5, maxSteps: 10 }), { backend });
    assert.equal(record.steps, 10);
    assert.equal(record.status, 'completed');
    assert.match(record.message ?? '', /step budget \(10 steps\)/);
  });

  it('stops on a NaN loss from poisoned data, naming epoch and batch and the cause', async function () {
    const poisoned: TrainData = { ...data, x: data.x.clone() };
    const values = poisoned.x.arraySync() as number[][];
    values[100]![3] = NaN;
    poisoned.x.dispose();
    poisoned.x = tf.tensor2d(values);
    const dir = join(tmp, 'nan');
    try {
      const { record } = await trainRun(spec(() => mlp('softmax')), poisoned, config({ epochs: 3 }), { backend, outDir: dir });
      assert.equal(record.status, 'diverged');
      assert.match(record.message!, /^loss became NaN at epoch 1, batch \d of 8 \(step \d\); training stopped: the data contain NaN or Inf values$/);
      assert.ok(record.steps <= 8);
      assert.ok(existsSync(join(dir, 'run.json')) && !existsSync(join(dir, 'model.json')), 'no NaN weights saved');
    } finally {
      poisoned.x.dispose();
    }
  });

  it('stops on a loss driven to Inf/NaN by a huge learning rate', async function () {
    const regression: TrainData = { name: 'reg', x: data.x, y: tf.sum(data.x, 1, true), samples: data.samples, adaptations: [] };
    try {
      const { record } = await trainRun(spec(() => mlp('linear', 1)), regression, config({ optimizer: 'sgd', learningRate: 1e9, epochs: 3 }), { backend });
      assert.equal(record.loss, 'meanSquaredError');
      assert.equal(record.status, 'diverged');
      assert.match(record.message!, /^loss became (NaN|Infinity) at epoch \d, batch \d of 8 \(step \d+\); training stopped: try a lower learning rate \(now 1000000000, sgd\)$/);
    } finally {
      regression.y.dispose();
    }
  });

  it('gives identical first-epoch losses for the same seed, different ones for another seed', async function () {
    const loss = async (seed: number): Promise<number> => (await trainRun(spec(() => mlp('softmax')), data, config({ seed }), { backend })).record.epochs[0]!.loss;
    const a = await loss(11);
    const b = await loss(11);
    const c = await loss(12);
    assert.equal(a, b);
    assert.notEqual(a, c);
  });

  it('initialises the layers two models share identically, whatever lies between them', function () {
    const weights = (extra: boolean): Map<string, number[]> => {
      const scope = seedScope(5);
      try {
        const m = mlp('softmax', 2, extra);
        const out = new Map(m.layers.map((l) => [l.name, Array.from(l.getWeights()[0]!.dataSync())]));
        m.dispose();
        return out;
      } finally {
        scope.restore();
      }
    };
    const random = Math.random;
    const plain = weights(false);
    const longer = weights(true);
    assert.deepEqual(longer.get('d1'), plain.get('d1'));
    // d2's kernel shape is the same (16 -> 2) in both; its values must not depend on 'extra' drawing first.
    assert.deepEqual(longer.get('d2'), plain.get('d2'));
    assert.equal(Math.random, random, 'Math.random restored');
  });

  it('saves model.json + weights.bin that reload with the same predictions, and a complete run record', async function () {
    const dir = join(tmp, 'saved');
    const { record, model } = await trainRun(spec(() => mlp('softmax')), data, config({ epochs: 2, validationSplit: 0.25 }), { backend, outDir: dir, keepModel: true });
    assert.ok(model);
    try {
      const reloaded = await tf.loadLayersModel(fileIOHandler(dir));
      const probe = data.x.slice([0, 0], [16, 8]);
      const [p1, p2] = [model.predict(probe) as tf.Tensor, reloaded.predict(probe) as tf.Tensor];
      assert.deepEqual(Array.from(p2.dataSync()), Array.from(p1.dataSync()));
      tf.dispose([probe, p1, p2]);
      reloaded.dispose();
    } finally {
      model.dispose();
    }
    const onDisk = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as RunRecord;
    assert.deepEqual(onDisk, JSON.parse(JSON.stringify(record)));
    assert.equal(onDisk.kind, 'laurel-run');
    assert.equal(onDisk.seed, 7);
    assert.deepEqual(onDisk.config, config({ epochs: 2, validationSplit: 0.25 }));
    assert.equal(onDisk.backend.name, 'cpu');
    assert.deepEqual(onDisk.backend.tried, [{ candidate: 'cpu', ok: true }]);
    assert.deepEqual(onDisk.params, { total: 8 * 16 + 16 + 16 * 2 + 2, trainable: 178, base: 178, added: 0, addedPercent: 0 });
    assert.deepEqual(onDisk.dataset, { name: 'two-class', samples: 256, trainSamples: 192, valSamples: 64, classes: 2, adaptations: ['made in the test'] });
    assert.equal(onDisk.epochs.length, 2);
    assert.equal(onDisk.steps, 12);
    for (const e of onDisk.epochs) {
      assert.ok(e.samplesPerSec > 0 && e.stepMs > 0 && e.memory.peakBytes >= e.memory.numBytes && e.memory.numTensors > 0);
      assert.equal(e.batches, 6);
    }
    assert.ok(onDisk.stepMs! > 0 && onDisk.samplesPerSec! > 0 && onDisk.peakBytes > 0);
    assert.ok(onDisk.timings.trainMs > 0 && onDisk.timings.firstStepMs! > 0 && onDisk.timings.totalMs >= onDisk.timings.trainMs);
    assert.equal(onDisk.saved?.modelJson, join(dir, 'model.json'));
    assert.ok(onDisk.best.loss! <= onDisk.final.loss!);
  });

  it('keeps the streamed batch curve in the record, and the panel draws the same curve from the file', async function () {
    const dir = join(tmp, 'curve');
    const seen: BatchEndEvent[] = [];
    const { record } = await trainRun(spec(() => mlp('softmax')), data, config({ epochs: 2, validationSplit: 0.25 }), { backend, outDir: dir, throttleMs: 0, sink: { batchEnd: (e) => seen.push(e) } });
    assert.equal(seen.length, 12);
    assert.deepEqual(record.curve, { steps: seen.map((e) => e.step), loss: seen.map((e) => e.loss), acc: seen.map((e) => e.acc ?? null) });
    const { runs } = parseRunFile(readFileSync(join(dir, 'run.json'), 'utf8'), join(dir, 'run.json'));
    const job = jobFromRecords(7, runs);
    assert.equal(job.kind, 'train');
    assert.equal(job.state, 'completed');
    assert.equal(job.model, 'mlp.json');
    assert.equal(job.data, 'two-class');
    assert.match(job.dataNote ?? '', /adapted: made in the test/);
    assert.deepEqual(job.config, { epochs: 2, batchSize: 32, learningRate: 0.02 });
    const run = job.runs[0]!;
    assert.deepEqual(run.steps, record.curve!.steps);
    assert.deepEqual(run.loss, record.curve!.loss);
    assert.deepEqual(run.epochs.map((e) => e.step), [6, 12]); // each epoch at its last step
    assert.deepEqual(run.epochs.map((e) => e.valLoss), record.epochs.map((e) => e.valLoss));
    assert.deepEqual(run.summary, runSummaryView(record));
    assert.equal(tableText(job).rows[0]![0], 'mlp');
    // A long run keeps at most CURVE_POINTS points, the last one included.
    const many = await trainRun(spec(() => mlp('softmax')), data, config({ epochs: 200, batchSize: 64 }), { backend, throttleMs: 0 });
    assert.equal(many.record.steps, 800);
    assert.ok(many.record.curve!.steps.length <= CURVE_POINTS && many.record.curve!.steps.length >= CURVE_POINTS / 2);
    assert.equal(many.record.curve!.steps.at(-1), 800);
  });
});

describe('compareRuns on examples/resnet-mini.json', function () {
  it('trains the baseline and LAuReL plans with the same seed and data, and tabulates ratios', async function () {
    // wasm: a conv step of this net takes ~0.5 s there and ~20 s on the pure-JS cpu backend.
    const backend = await selectBackend('wasm');
    const m = openModel('examples/resnet-mini.json', readFileSync('examples/resnet-mini.json'));
    const data = await loadDataset(parseDataSpec('synthetic:samples=64:classes=10'), taskOf(m), 'auto');
    const tmp = mkdtempSync(join(tmpdir(), 'laurel-compare-'));
    try {
      const runs = ['plain', 'rw', 'rw+lr:r=4'].map((p) => planRun(m, p));
      const done: string[] = [];
      const c = await compareRuns(runs, data, config({ batchSize: 16, maxSteps: 2, validationSplit: 0 }), { backend, outDir: tmp, onRunDone: (r) => done.push(r.name) });
      assert.deepEqual(done, ['plain', 'rw', 'rw+lr:r=4']);
      assert.equal(c.complete, true);
      const [plain, rw, lr] = c.runs;
      assert.equal(plain!.params.added, 0);
      assert.equal(rw!.params.added, 4 * 2); // four sites, softmax RW: 2 each
      assert.equal(rw!.params.total, plain!.params.total + 8);
      assert.equal(lr!.params.total, lr!.params.base + lr!.params.added);
      assert.ok(lr!.params.added > rw!.params.added);
      assert.equal(c.rows[0]!.ratios.stepMs, 1);
      assert.ok(c.rows.every((r) => r.status === 'completed' && Number.isFinite(r.final.loss!)));
      // LR's B starts at zero and the shared layers draw the same initial weights, so RW+LR starts as RW:
      // their first-epoch losses differ only through training, by a little after 2 steps.
      assert.ok(Math.abs(lr!.epochs[0]!.loss - rw!.epochs[0]!.loss) < 0.05 * rw!.epochs[0]!.loss);
      assert.ok(existsSync(join(tmp, '3-rw+lr_r=4', 'model.json')) && existsSync(join(tmp, 'comparison.json')));
      // The comparison file opens in the panel as the run ended: its runs, curves and table.
      const file = join(tmp, 'comparison.json');
      const parsed = parseRunFile(readFileSync(file, 'utf8'), file);
      assert.equal(parsed.comparison?.kind, 'laurel-comparison');
      const job = jobFromRecords(3, parsed.runs, { title: 'comparison' });
      // Batches stream at most once a second (the first always): each curve starts at step 1.
      assert.deepEqual(job.runs.map((r) => [r.name, r.state, r.steps[0]]), [['plain', 'completed', 1], ['rw', 'completed', 1], ['rw+lr:r=4', 'completed', 1]]);
      assert.deepEqual(job.runs.map((r) => r.epochs.map((e) => e.step)), [[2], [2], [2]]);
      assert.deepEqual(tableRows(job).map((r) => r.added), [0, 8, lr!.params.added]);
      assert.equal(tableRows(job)[1]!.ratios.params, rw!.params.total / plain!.params.total);
      assert.equal(alignCurves(job, 'loss').series.length, 3);
      const table = comparisonTable(c);
      assert.match(table, /^run\s+params\s+added\s+MACs\/ex\s+loss/);
      assert.match(table, /rw\+lr:r=4/);
      assert.match(table, /backend wasm \(SIMD, 1 thread\); 1 epoch\(s\), at most 2 steps, batch 16/);
    } finally {
      data.x.dispose();
      data.y.dispose();
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
