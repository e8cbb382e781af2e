// Micro-benchmark: time full-batch fit steps of a tiny conv net (conv stride 2 + BN + ReLU + max-pool +
// depthwise + dense) on one backend, so `npm run bench` can print backend ratios. Not a test.
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from './backend';
import type { BackendPreference } from './backend';
import type { BackendName } from '../protocol/backends';

export interface BenchShape {
  batch: number;
  size: number;
  channels: number;
  filters: number;
  classes: number;
}

export interface StepTiming {
  /** Backend that actually ran (selectBackend may fall through to a slower one). */
  backend: BackendName;
  steps: number;
  /** First step, which includes kernel warm-up; excluded from the mean. */
  warmupMs: number;
  meanMs: number;
  minMs: number;
  /** Training examples per second at the mean step time. */
  examplesPerSecond: number;
}

export const DEFAULT_BENCH_SHAPE: BenchShape = { batch: 32, size: 32, channels: 3, filters: 16, classes: 10 };

function tinyConvNet(s: BenchShape): tf.Sequential {
  const model = tf.sequential();
  model.add(tf.layers.conv2d({ inputShape: [s.size, s.size, s.channels], filters: s.filters, kernelSize: 3, strides: 2, padding: 'same', useBias: false, kernelInitializer: tf.initializers.heNormal({ seed: 1 }) }));
  model.add(tf.layers.batchNormalization());
  model.add(tf.layers.activation({ activation: 'relu' }));
  model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  model.add(tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', depthwiseInitializer: tf.initializers.heNormal({ seed: 2 }) }));
  model.add(tf.layers.conv2d({ filters: s.filters * 2, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: tf.initializers.heNormal({ seed: 3 }) }));
  model.add(tf.layers.globalAveragePooling2d({}));
  model.add(tf.layers.dense({ units: s.classes, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }));
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
  return model;
}

/** Times `steps` fit steps (one full batch each) after one warm-up step; restores the previous backend. */
export async function benchmarkStep(backend: BackendPreference, steps: number, shape: BenchShape = DEFAULT_BENCH_SHAPE): Promise<StepTiming> {
  await tf.ready();
  const previous = tf.getBackend();
  const choice = await selectBackend(backend);
  const model = tinyConvNet(shape);
  const { batch, size, channels, classes } = shape;
  const x = tf.randomNormal([batch, size, size, channels], 0, 1, 'float32', 7);
  const y = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => i % classes), 'int32'), classes);
  const times: number[] = [];
  try {
    for (let i = 0; i <= steps; i++) {
      const t0 = performance.now();
      // fit awaits the step's loss, so the work has finished when it resolves.
      await model.fit(x, y, { epochs: 1, batchSize: batch, shuffle: false, verbose: 0 });
      times.push(performance.now() - t0);
    }
  } finally {
    tf.dispose([x, y]);
    model.dispose();
    if (previous) await tf.setBackend(previous);
  }
  const timed = times.slice(1);
  const meanMs = timed.reduce((a, b) => a + b, 0) / Math.max(1, timed.length);
  return { backend: choice.name, steps, warmupMs: times[0], meanMs, minMs: Math.min(...timed), examplesPerSecond: (batch * 1000) / meanMs };
}

/** Runs benchmarkStep on each backend and gives each one's mean step time relative to the first. */
export async function compareBackends(backends: BackendPreference[], steps: number, shape?: BenchShape): Promise<Array<StepTiming & { ratio: number }>> {
  const results: StepTiming[] = [];
  for (const b of backends) results.push(await benchmarkStep(b, steps, shape));
  return results.map((r) => ({ ...r, ratio: r.meanMs / results[0].meanMs }));
}
