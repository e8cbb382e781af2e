import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { openModel } from '../../src/core/model';
import type { OpenModel } from '../../src/core/model';
import { selectBackend } from '../../src/trainer/backend';
import { loadDataset, parseDataSpec } from '../../src/trainer/data/loadDataset';
import { planRun, taskOf } from '../../src/trainer/runSpec';
import { trainRun } from '../../src/trainer/train';

/**
 * A sentiment-style model (token ids → Embedding → pooling → one sigmoid unit), written as TF.js saves it.
 * Its single sigmoid trains with binary cross-entropy, so generated targets must be 0/1: they were the
 * regression logits once, and TF.js reported accuracy 0.000 while PyTorch thresholded them to 0.7.
 */
function sentimentFile(): OpenModel {
  const m = tf.sequential({ name: 'sentiment' });
  m.add(tf.layers.embedding({ name: 'emb', inputDim: 50, outputDim: 8, inputLength: 12 }));
  m.add(tf.layers.globalAveragePooling1d({ name: 'pool' }));
  m.add(tf.layers.dense({ name: 'out', units: 1, activation: 'sigmoid' }));
  const text = JSON.stringify({ format: 'layers-model', modelTopology: m.toJSON(null, false), weightsManifest: [] });
  m.dispose();
  return openModel('sentiment.json', Buffer.from(text));
}

describe('a single sigmoid output (binary classifier)', function () {
  it('asks the data for 0/1 targets, and both classes occur', async function () {
    const m = sentimentFile();
    const task = taskOf(m);
    assert.equal(task.loss, 'binaryCrossentropy');
    const data = await loadDataset(parseDataSpec('synthetic:samples=200'), task);
    try {
      assert.equal(data.classes, 2);
      const y = Array.from(data.y.dataSync());
      assert.deepEqual([...new Set(y)].sort(), [0, 1]);
      const ones = y.filter((v) => v === 1).length;
      assert.ok(ones > 40 && ones < 160, `${ones} of 200 positive`);
    } finally {
      data.x.dispose();
      data.y.dispose();
    }
  });

  it('trains on TF.js with an accuracy above chance (it read 0.000 when targets were not 0/1)', async function () {
    this.timeout(120000);
    const backend = await selectBackend('cpu');
    const m = sentimentFile();
    const data = await loadDataset(parseDataSpec('synthetic:samples=400'), taskOf(m));
    try {
      const r = await trainRun(planRun(m), data, { optimizer: 'adam', learningRate: 0.05, batchSize: 32, epochs: 20, validationSplit: 0.25, seed: 1 }, { backend, throttleMs: 0 });
      const last = r.record.epochs.at(-1)!;
      assert.equal(r.record.status, 'completed');
      assert.ok(last.acc! > 0.6 && last.valAcc! > 0.6, `acc ${last.acc}, val acc ${last.valAcc}`);
    } finally {
      data.x.dispose();
      data.y.dispose();
    }
  });
});
