import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { openModel } from '../../src/core/model';
import type { OpenModel } from '../../src/core/model';
import type { ComparisonRecord, ComparisonRow, RunRecord, TrainConfig } from '../../src/protocol/runRecords';
import { selectBackend } from '../../src/trainer/backend';
import type { BackendChoice } from '../../src/protocol/backends';
import { BestCheckpoint } from '../../src/trainer/bestCheckpoint';
import { compareRuns } from '../../src/trainer/compare';
import { comparisonTable } from '../../src/trainer/comparisonTable';
import { loadDataset, parseDataSpec } from '../../src/trainer/data/loadDataset';
import type { Dataset } from '../../src/trainer/data/loadDataset';
import { disposeData, splitOffTest, testSource, withTestSet } from '../../src/trainer/data/testSplit';
import { planRun, taskOf } from '../../src/trainer/runSpec';
import { seedSummary } from '../../src/trainer/seedSummary';
import { trainRun } from '../../src/trainer/train';
import { requireSystemDeps } from './systemDeps';

const root = resolve(__dirname, '../../..');
const example = (f: string): string => join(root, 'examples', f);

/** The epoch the best-validation rule picks: highest val accuracy, the earliest of equals. */
const bestEpoch = (r: RunRecord): number => r.epochs.reduce((b, e) => (e.valAcc! > r.epochs[b - 1]!.valAcc! ? e.epoch : b), 1);

describe('held-out test set', function () {
  this.timeout(300_000);
  let m: OpenModel;
  let backend: BackendChoice;
  let data: Dataset;
  before(async function () {
    m = openModel(example('resnet-mini.json'), readFileSync(example('resnet-mini.json')));
    backend = await selectBackend('wasm');
    const load = (spec: string): Promise<Dataset> => loadDataset(parseDataSpec(spec), taskOf(m));
    data = await withTestSet(await load('synthetic:samples=80:classes=2'), 'synthetic:samples=80:classes=2', {}, load);
  });
  after(function () {
    if (data) disposeData(data);
  });

  it('comes from Fashion-MNIST’s t10k, the named files, or the end of the data; never the training data', function () {
    assert.deepEqual(testSource('fashion-mnist:limit=800', {}), { spec: 'fashion-mnist:test' });
    assert.deepEqual(testSource('synthetic', {}), { split: 0.1 });
    assert.deepEqual(testSource('csv:a.csv', { split: 0.25 }), { split: 0.25 });
    assert.deepEqual(testSource('csv:a.csv', { data: 'csv:b.csv' }), { spec: 'csv:b.csv' });
    assert.throws(() => testSource('csv:a.csv', { data: 'csv:a.csv' }), /are the training data/);
    assert.throws(() => testSource('fashion-mnist:test', {}), /Fashion-MNIST's test set/);
    assert.throws(() => testSource('fashion-mnist', { split: 0.2 }), /its own test set/);
    assert.throws(() => testSource('synthetic', { split: 1 }), /in \(0, 1\)/);
  });

  it('a split holds out the last samples, before the validation split: disjoint, and the same whatever the seed', async function () {
    const full = await loadDataset(parseDataSpec('synthetic:samples=50:classes=2'), taskOf(m));
    const all = full.x.arraySync() as number[][][][];
    const split = splitOffTest(full, 0.1);
    assert.equal(split.samples, 45);
    assert.equal(split.test!.samples, 5);
    assert.deepEqual(split.test!.x.arraySync(), all.slice(45));
    assert.deepEqual(split.x.arraySync(), all.slice(0, 45));
    assert.match(split.adaptations.at(-1)!, /samples 46\.\.50 held out as the test set/);
    disposeData(split);
  });

  it('the best-validation checkpoint is what the test evaluates; the model keeps its own weights', async function () {
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3], activation: 'softmax' })] });
    model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const x = tf.randomNormal([20, 3], 0, 1, 'float32', 1);
    const y = tf.oneHot(tf.tensor1d(Array.from({ length: 20 }, (_, i) => i % 2), 'int32'), 2).toFloat();
    const at1 = (model.evaluate(x, y) as tf.Scalar[]).map((s) => s.dataSync()[0]!);
    const cp = new BestCheckpoint('valAcc');
    cp.offer(model, 1, { valAcc: 0.6 });
    model.setWeights(model.getWeights().map((w) => tf.mul(w, -3)));
    const own = model.getWeights().map((w) => Array.from(w.dataSync()));
    cp.offer(model, 2, { valAcc: 0.6 }); // equal: the earlier stays
    const t = await cp.test(model, { name: 't', x, y, samples: 20 }, y, 8, 2);
    assert.deepEqual([t.epoch, t.by], [1, 'valAcc']);
    assert.ok(Math.abs(t.loss! - at1[0]!) < 1e-6 && Math.abs(t.acc! - at1[1]!) < 1e-6, `${t.loss} vs ${at1[0]}`);
    assert.deepEqual(model.getWeights().map((w) => Array.from(w.dataSync())), own);
    cp.dispose();
    model.dispose();
    tf.dispose([x, y]);
  });

  const cfg = (over: Partial<TrainConfig> = {}): TrainConfig => ({ optimizer: 'adam', learningRate: 3e-3, batchSize: 8, epochs: 3, validationSplit: 0.2, seed: 3, ...over });

  it('TF.js: each run tests its best-validation epoch once; the table shows best val, test loss/acc and MACs', async function () {
    const c = await compareRuns([planRun(m), planRun(m, 'rw+lr:r=4')], data, cfg(), { backend });
    for (const r of c.runs) {
      assert.equal(r.dataset.testSamples, 8);
      assert.equal(r.dataset.trainSamples + r.dataset.valSamples, 72);
      assert.ok(r.test && Number.isFinite(r.test.loss!) && r.test.acc! >= 0 && r.test.acc! <= 1);
      assert.deepEqual([r.test.epoch, r.test.by], [bestEpoch(r), 'valAcc']);
    }
    assert.equal(c.rows[1]!.addedMacs, planRun(m, 'rw+lr:r=4').addedMacs);
    const table = comparisonTable(c);
    assert.match(table, /^run\s+params\s+added\s+MACs\/ex\s+loss\s+acc\s+val loss\s+val acc\s+best val acc\s+test loss\s+test acc/);
    assert.match(table, /test synthetic.*: 8 samples, held out/);
  });

  it('PyTorch: the same rule in the harness, and the same test figures as TF.js from the same start', async function () {
    requireSystemDeps(this, 'python3-torch', 'python3-numpy');
    const { record } = await trainRun(planRun(m, 'rw+lr:r=4'), data, cfg({ engine: 'pytorch' }), { backend });
    assert.ok(record.test && Number.isFinite(record.test.loss!));
    assert.deepEqual([record.test.epoch, record.test.by, record.test.samples], [bestEpoch(record), 'valAcc', 8]);
    // One epoch, no validation: the final weights are tested, and both engines start alike with --torch-init tfjs.
    const one = cfg({ epochs: 1, validationSplit: 0, torchInit: 'tfjs' });
    const [py, js] = [(await trainRun(planRun(m, 'rw+lr:r=4'), data, { ...one, engine: 'pytorch' }, { backend })).record.test!, (await trainRun(planRun(m, 'rw+lr:r=4'), data, one, { backend })).record.test!];
    assert.deepEqual([py.by, js.by, py.epoch], ['final', 'final', 1]);
    assert.ok(Math.abs(py.loss! - js.loss!) < 1e-3, `test loss pytorch ${py.loss} vs tfjs ${js.loss}`);
  });

  it('over seeds the statistics compare test accuracy, beside best val accuracy and test loss', function () {
    const row = (name: string, acc: number): ComparisonRow =>
      ({ name, plan: name, status: 'completed', params: 1000, added: 0, addedPercent: 0, addedMacs: name === 'plain' ? 0 : 2048, final: { loss: 1, acc: 0.5, valLoss: 1, valAcc: 0.7 }, best: { loss: 1, acc: 0.5, valLoss: 1, valAcc: 0.75 }, test: { name: 't', samples: 10, loss: 0.9, acc, epoch: 1, by: 'valAcc' } }) as unknown as ComparisonRow;
    const rec = (seed: number, plain: number, rw: number): ComparisonRecord => ({ seed, rows: [row('plain', plain), row('rw', rw)] }) as unknown as ComparisonRecord;
    const s = seedSummary([rec(1, 0.8012, 0.8123), rec(2, 0.8075, 0.805), rec(3, 0.8101, 0.8191)]);
    assert.equal(s.metric, 'test accuracy');
    assert.match(s.table.split('\n')[0]!, /plan\s+params\s+MACs\/ex\s+best val acc mean ± std\s+test loss mean ± std\s+test accuracy mean ± std\s+seed 1/);
    assert.match(s.table, /rw\s+1,000\s+\+2\.05k\s+0\.7500 ± 0\.0000\s+0\.9000 ± 0\.0000\s+0\.8121 ± 0\.0071/);
    assert.deepEqual(s.verdicts, ['rw vs plain: +0.59 pts test accuracy, 95% CI [−1.23, +2.41], p = 0.300, not significant over 3 seeds (paired t)']);
  });
});
