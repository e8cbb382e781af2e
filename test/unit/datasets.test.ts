import * as assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { DatasetMismatchError, FASHION_MNIST_DIR, fashionMnistSpec, loadDataset, parseDataSpec } from '../../src/trainer/data/loadDataset';
import type { Adaptation, Task } from '../../src/trainer/data/loadDataset';
import { classifier, dataTestSetup, dispose, rejects } from './datasetChecks';
import { requireSystemDeps } from './systemDeps';

// Built-in datasets: Fashion-MNIST from Debian's package and the synthetic sets (dataFiles.test.ts: the file formats).

const tempDir = dataTestSetup();

describe('Fashion-MNIST (Debian dataset-fashion-mnist)', function () {
  // npm test installs the package as root; elsewhere these skip with the install command (fail in CI).
  beforeEach(function () {
    requireSystemDeps(this, 'dataset-fashion-mnist');
    assert.ok(existsSync(join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz')));
  });

  it('loads 60,000 training images with 6,000 of each class', async function () {
    const d = await loadDataset(parseDataSpec('fashion-mnist'), classifier([28, 28], 10, 'sparseCategoricalCrossentropy'));
    assert.equal(d.samples, 60000);
    assert.deepEqual(d.x.shape, [60000, 28, 28]);
    assert.deepEqual(d.y.shape, [60000, 1]);
    assert.equal(d.classes, 10);
    const counts = new Array<number>(10).fill(0);
    for (const label of d.y.dataSync()) counts[label]++;
    assert.deepEqual(counts, new Array(10).fill(6000));
    const first = d.x.dataSync().subarray(0, 784);
    assert.ok(first.some((v) => v > 0), 'the first image is all zero');
    assert.ok(first.every((v) => v >= 0 && v <= 1), 'pixels in [0, 1]');
    assert.ok(d.adaptations.some((a) => /scaled/.test(a)));
    dispose(d);
  });

  it('loads the 10,000 test images, one-hot for a softmax output', async function () {
    const d = await loadDataset(parseDataSpec('fashion-mnist:test'), classifier([28, 28], 10), [{ kind: 'one-hot', classes: 10 }]);
    assert.deepEqual(d.x.shape, [10000, 28, 28]);
    assert.deepEqual(d.y.shape, [10000, 10]);
    assert.deepEqual(tf.tidy(() => Array.from(d.y.sum(0).dataSync())), new Array(10).fill(1000));
    dispose(d);
  });

  it('says how it does not fit a (None, 96, 96, 3) model and what would make it fit', async function () {
    const task = classifier([96, 96, 3], 10);
    const e = (await rejects(loadDataset(parseDataSpec('fashion-mnist'), task), /./, DatasetMismatchError)) as DatasetMismatchError;
    assert.match(e.message, /the model expects input \(None, 96, 96, 3\), the data has \(60000, 28, 28\)/);
    assert.match(e.message, /the model outputs \(None, 10\), the labels are \(60000,\) \(integers 0\.\.9\)/);
    const offers: Adaptation[] = [
      { kind: 'add-channel-axis' },
      { kind: 'resize', to: [96, 96] },
      { kind: 'repeat-channels', to: 3 },
      { kind: 'one-hot', classes: 10 },
    ];
    assert.deepEqual(e.offers, offers);
    assert.deepEqual(e.alternatives, [{ kind: 'pad', to: [96, 96] }]);

    const before = tf.memory().numTensors;
    const d = await loadDataset(parseDataSpec('fashion-mnist:limit=64'), task, e.offers);
    assert.deepEqual(d.x.shape, [64, 96, 96, 3]);
    assert.deepEqual(d.y.shape, [64, 10]);
    assert.deepEqual(tf.tidy(() => Array.from(d.y.sum(1).dataSync())), new Array(64).fill(1));
    const [r, g, b] = tf.tidy(() => tf.split(d.x, 3, 3).map((t) => t.dataSync()));
    assert.deepEqual(r, g);
    assert.deepEqual(r, b);
    assert.ok(d.adaptations.some((a) => /resized \(bilinear\) 28×28 -> 96×96/.test(a)), d.adaptations.join('; '));
    assert.ok(d.adaptations.some((a) => /first 64 of 60000/.test(a)));
    // 'auto' applies the same offers.
    const auto = await loadDataset(parseDataSpec('fashion-mnist:limit=64'), task, 'auto');
    assert.deepEqual(auto.x.dataSync(), d.x.dataSync());
    dispose(d);
    dispose(auto);
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  });

  it('offers keep-classes when the model outputs fewer classes, filtering before the limit', async function () {
    const task = classifier([96, 96, 3], 8);
    const e = (await rejects(loadDataset(parseDataSpec('fashion-mnist'), task), /the labels are \(60000,\) \(integers 0\.\.9\) \(keep-classes=8 trains on classes 0\.\.7 only, dropping the samples of 8\.\.9\)/, DatasetMismatchError)) as DatasetMismatchError;
    assert.deepEqual(e.offers, [
      { kind: 'keep-classes', classes: 8 },
      { kind: 'add-channel-axis' },
      { kind: 'resize', to: [96, 96] },
      { kind: 'repeat-channels', to: 3 },
      { kind: 'one-hot', classes: 8 },
    ]);
    assert.match(e.message, /Adaptations that make it fit: keep-classes=8, add-channel-axis, resize=96x96, repeat-channels=3, one-hot=8 \(or instead: pad=96x96\)/);

    const d = await loadDataset(parseDataSpec('fashion-mnist:limit=64'), task, 'auto');
    assert.equal(d.samples, 64, 'the limit counts kept samples');
    assert.deepEqual(d.x.shape, [64, 96, 96, 3]);
    assert.deepEqual(d.y.shape, [64, 8]);
    assert.equal(d.classes, 8);
    assert.deepEqual(tf.tidy(() => Array.from(d.y.sum(1).dataSync())), new Array(64).fill(1));
    assert.ok(d.adaptations.includes('kept classes 0..7: 48,000 of 60,000 samples'), d.adaptations.join('; '));
    assert.ok(d.adaptations.includes('kept the first 64 of 48000 samples'), d.adaptations.join('; '));
    // The same samples, in order, as the unlimited load's filtered labels (sparse, to read them back).
    const sparse = classifier([28, 28], 8, 'sparseCategoricalCrossentropy');
    const all = await loadDataset(parseDataSpec('fashion-mnist:test'), sparse, [{ kind: 'keep-classes', classes: 8 }]);
    assert.equal(all.samples, 8000);
    assert.ok(all.y.dataSync().every((v) => v < 8));
    const raw = await loadDataset(parseDataSpec('fashion-mnist:test:limit=100'), classifier([28, 28], 10, 'sparseCategoricalCrossentropy'));
    const expected = Array.from(raw.y.dataSync()).filter((v) => v < 8);
    assert.deepEqual(Array.from(all.y.dataSync().subarray(0, expected.length)), expected);
    // Wherever it stands in an explicit list, it runs first (one-hot=8 would refuse labels 8 and 9).
    const late = await loadDataset(parseDataSpec('fashion-mnist:limit=64'), task, [...e.offers.slice(1), e.offers[0]]);
    assert.deepEqual(late.x.dataSync(), d.x.dataSync());
    // Without it the other offers do not apply, and the refusal names it.
    await rejects(loadDataset(parseDataSpec('fashion-mnist:limit=64'), task, e.offers.slice(1)), /one-hot=8 does not apply: it needs integer labels in 0\.\.7, the data has 0\.\.9 \(keep-classes=8 first keeps only those samples\)/);
    [d, all, raw, late].forEach(dispose);
  });

  it('sizes the memory cap on the kept samples', async function () {
    // 48,000 kept × 96 × 96 × 3 float32 (+ 8 label floats) is 5.3 GB, not the 6.6 GB of all 60,000.
    await rejects(loadDataset(parseDataSpec('fashion-mnist'), classifier([96, 96, 3], 8), 'auto'), /48000 samples of \(None, 96, 96, 3\) would take 4\.9 GiB.*use limit=19412 or less/);
  });

  it('refuses an adapted dataset over the memory cap and names a limit that fits', async function () {
    // 60,000 × 96 × 96 × 3 float32 is about 6.6 GB: refused before anything is allocated.
    await rejects(loadDataset(parseDataSpec('fashion-mnist'), classifier([96, 96, 3], 10), 'auto'), /would take 6\.2 GiB, over the 2\.0 GiB cap; use limit=19411 or less/);
    await rejects(loadDataset(parseDataSpec('fashion-mnist:test:limit=100'), classifier([28, 28], 10), 'auto', { maxBytes: 1e5 }), /310 KiB, over the 98 KiB cap; use limit=31 or less/);
  });

  it('pads 28×28 to LeNet’s 32×32 with a centred zero border', async function () {
    const task = classifier([32, 32, 1], 10, 'sparseCategoricalCrossentropy');
    const e = (await rejects(loadDataset(parseDataSpec('fashion-mnist:test:limit=4'), task), /\(None, 32, 32, 1\)/, DatasetMismatchError)) as DatasetMismatchError;
    assert.deepEqual(e.offers, [{ kind: 'add-channel-axis' }, { kind: 'pad', to: [32, 32] }]);
    const plain = await loadDataset(parseDataSpec('fashion-mnist:test:limit=4'), classifier([28, 28], 10, 'sparseCategoricalCrossentropy'));
    const d = await loadDataset(parseDataSpec('fashion-mnist:test:limit=4'), task, e.offers);
    assert.deepEqual(d.x.shape, [4, 32, 32, 1]);
    const inner = tf.tidy(() => d.x.slice([0, 2, 2, 0], [4, 28, 28, 1]).reshape([4, 28, 28]).dataSync());
    assert.deepEqual(inner, plain.x.dataSync());
    assert.equal(tf.tidy(() => d.x.sum().dataSync()[0]), tf.tidy(() => plain.x.sum().dataSync()[0]));
    dispose(d);
    dispose(plain);
  });

  it('says to install the package when the files are missing', async function () {
    const spec = fashionMnistSpec('train', 4, join(tempDir(), 'nowhere'));
    await rejects(loadDataset(spec, classifier([28, 28], 10)), /Fashion-MNIST is not installed \(.*nowhere\/train-images-idx3-ubyte\.gz.* missing\): install Debian's dataset-fashion-mnist package/);
  });

  it('offers flatten for a dense model', async function () {
    const task = classifier([784], 10, 'sparseCategoricalCrossentropy');
    const e = (await rejects(loadDataset(parseDataSpec('fashion-mnist:test:limit=8'), task), /expects input \(None, 784\), the data has \(8, 28, 28\)/, DatasetMismatchError)) as DatasetMismatchError;
    assert.deepEqual(e.offers, [{ kind: 'flatten' }]);
    const d = await loadDataset(parseDataSpec('fashion-mnist:test:limit=8'), task, 'auto');
    assert.deepEqual(d.x.shape, [8, 784]);
    dispose(d);
  });
});

describe('synthetic datasets', function () {
  const dense = classifier([20], 4);

  it('is deterministic for a seed and differs for another', async function () {
    const a = await loadDataset({ kind: 'synthetic', samples: 64, seed: 1 }, dense);
    const b = await loadDataset(parseDataSpec('synthetic:samples=64:seed=1'), dense);
    const c = await loadDataset({ kind: 'synthetic', samples: 64, seed: 2 }, dense);
    assert.deepEqual(a.x.dataSync(), b.x.dataSync());
    assert.deepEqual(a.y.dataSync(), b.y.dataSync());
    assert.notDeepEqual(a.x.dataSync(), c.x.dataSync());
    // Standard normal inputs; every class present.
    const x = Array.from(a.x.dataSync());
    const mean = x.reduce((s, v) => s + v, 0) / x.length;
    const variance = x.reduce((s, v) => s + (v - mean) ** 2, 0) / x.length;
    assert.ok(Math.abs(mean) < 0.1 && Math.abs(variance - 1) < 0.15, `mean ${mean}, variance ${variance}`);
    assert.ok(tf.tidy(() => Array.from(a.y.sum(0).dataSync())).every((n) => n > 0));
    [a, b, c].forEach(dispose);
  });

  it('fits dense, NHWC, sequence and regression models', async function () {
    const cases: { task: Task; x: number[]; y: number[] }[] = [
      { task: dense, x: [16, 20], y: [16, 4] },
      { task: classifier([8, 8, 3], 5), x: [16, 8, 8, 3], y: [16, 5] },
      { task: classifier([12, 16], 3, 'sparse_categorical_crossentropy'), x: [16, 12, 16], y: [16, 1] },
      // Per-token outputs over a free sequence length.
      { task: { inputShape: [null, null, 16], outputShape: [null, null, 7] }, x: [16, 32, 16], y: [16, 32, 7] },
      { task: { inputShape: [null, 6], outputShape: [null, 1], loss: 'meanSquaredError' }, x: [16, 6], y: [16, 1] },
      { task: { inputShape: [null, 6], outputShape: [null, 1], loss: 'binaryCrossentropy' }, x: [16, 6], y: [16, 1] },
    ];
    for (const { task, x, y } of cases) {
      const d = await loadDataset({ kind: 'synthetic', samples: 16, seed: 3 }, task);
      assert.deepEqual(d.x.shape, x, JSON.stringify(task));
      assert.deepEqual(d.y.shape, y, JSON.stringify(task));
      const values = Array.from(d.y.dataSync());
      if (task.loss === 'meanSquaredError') assert.ok(values.some((v) => !Number.isInteger(v)));
      else assert.ok(values.every((v) => Number.isInteger(v) && v >= 0 && v < (y[y.length - 1] === 1 ? 7 : 2)));
      dispose(d);
    }
  });

  it('is learnable: a small dense model gets well above chance on held-out samples', async function () {
    const d = await loadDataset({ kind: 'synthetic', samples: 1024, seed: 5 }, dense);
    const model = tf.sequential({
      layers: [tf.layers.dense({ inputShape: [20], units: 32, activation: 'relu' }), tf.layers.dense({ units: 4, activation: 'softmax' })],
    });
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const [xTrain, xTest] = tf.split(d.x, [768, 256]);
    const [yTrain, yTest] = tf.split(d.y, [768, 256]);
    await model.fit(xTrain, yTrain, { epochs: 15, batchSize: 64, verbose: 0 });
    const [, acc] = model.evaluate(xTest, yTest) as tf.Scalar[];
    const accuracy = acc.dataSync()[0];
    assert.ok(accuracy > 0.7, `held-out accuracy ${accuracy} (chance 0.25)`);
    tf.dispose([xTrain, xTest, yTrain, yTest, acc]);
    model.dispose();
    dispose(d);
  });

  it('uses fewer classes than outputs when asked, and refuses more', async function () {
    const d = await loadDataset(parseDataSpec('synthetic:samples=200:classes=2'), dense);
    const sums = tf.tidy(() => Array.from(d.y.sum(0).dataSync()));
    assert.ok(sums[0] > 0 && sums[1] > 0 && sums[2] === 0 && sums[3] === 0, String(sums));
    assert.equal(d.classes, 2);
    dispose(d);
    const e = (await rejects(loadDataset({ kind: 'synthetic', classes: 6 }, dense), /2\.\.4 classes/, DatasetMismatchError)) as DatasetMismatchError;
    assert.deepEqual(e.offers, []);
  });

  it('keeps the same task when the sample count changes (samples are a prefix)', async function () {
    const small = await loadDataset({ kind: 'synthetic', samples: 8, seed: 9 }, dense);
    const large = await loadDataset({ kind: 'synthetic', samples: 32, seed: 9, limit: 16 }, dense);
    assert.equal(large.samples, 16);
    assert.deepEqual(small.y.dataSync(), large.y.dataSync().subarray(0, 8 * 4));
    dispose(small);
    dispose(large);
  });
});

