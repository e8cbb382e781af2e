import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { mulberry32 } from '../../src/core/random';
import { recomputeBatchNormStats } from '../../src/trainer/preciseBn';

describe('BatchNorm statistics recomputed at the current weights (precise BN)', function () {
  it('sets the moving mean and variance to the average of the batch statistics, then restores momentum', async function () {
    await tf.setBackend('cpu');
    const model = tf.sequential({
      layers: [tf.layers.dense({ units: 3, inputShape: [5], name: 'd' }), tf.layers.batchNormalization({ momentum: 0.99, name: 'bn' }), tf.layers.dense({ units: 2, name: 'out' })],
    });
    const rnd = mulberry32(3);
    const x = tf.tensor2d(Float32Array.from({ length: 64 * 5 }, () => rnd() * 4 - 1), [64, 5]);
    const bn = model.getLayer('bn') as unknown as { momentum: number; weights: tf.LayerVariable[] };
    // Stale statistics, as an exponential average left behind by older weights would be.
    bn.weights.find((w) => /moving_mean$/.test(w.originalName))!.write(tf.fill([3], 7));
    bn.weights.find((w) => /moving_variance$/.test(w.originalName))!.write(tf.fill([3], 50));
    const random = Math.random;
    assert.equal(recomputeBatchNormStats(model, x, 48, 16), 1);
    assert.equal(Math.random, random);
    assert.equal(bn.momentum, 0.99);
    // Independent: tf.moments of the dense output over each of the three batches of 16 (the first 48 rows).
    const h = model.getLayer('d').apply(x) as tf.Tensor;
    const means: number[][] = [];
    const vars: number[][] = [];
    for (let b = 0; b < 3; b++) {
      const m = tf.moments(h.slice(b * 16, 16), 0);
      means.push(Array.from(m.mean.dataSync()));
      vars.push(Array.from(m.variance.dataSync()));
    }
    const avg = (rows: number[][]): number[] => rows[0]!.map((_, j) => rows.reduce((s, r) => s + r[j]!, 0) / rows.length);
    const got = (name: RegExp): number[] => Array.from(bn.weights.find((w) => name.test(w.originalName))!.read().dataSync());
    got(/moving_mean$/).forEach((v, j) => assert.ok(Math.abs(v - avg(means)[j]!) < 1e-5, `mean ${j}: ${v} vs ${avg(means)[j]}`));
    got(/moving_variance$/).forEach((v, j) => assert.ok(Math.abs(v - avg(vars)[j]!) < 1e-4, `variance ${j}: ${v} vs ${avg(vars)[j]}`));
    tf.dispose([x, h]);
    model.dispose();
  });

  it('does nothing to a model without BatchNormalization', function () {
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3] })] });
    const x = tf.ones([4, 3]);
    assert.equal(recomputeBatchNormStats(model, x, 4, 2), 0);
    tf.dispose(x);
    model.dispose();
  });
});
