import assert from 'node:assert/strict';
import { generateSynthetic } from '../../src/trainer/data/synthetic';

describe('synthetic image classification', () => {
  const task = { inputShape: [null, 28, 28, 1], outputShape: [null, 10] };

  it('draws every class about equally, even for single-channel images', () => {
    const d = generateSynthetic({ samples: 2000, seed: 4 }, task, 2 ** 30);
    const counts = new Array(10).fill(0);
    for (let s = 0; s < 2000; s++) counts[d.y.subarray(s * 10, s * 10 + 10).indexOf(1)]++;
    for (const c of counts) assert.ok(c > 140 && c < 260, `class counts ${counts}`);
  });

  it('carries a class texture: the nearest class mean labels held-out samples', () => {
    const d = generateSynthetic({ samples: 1500, seed: 4 }, task, 2 ** 30);
    const label = (s: number): number => d.y.subarray(s * 10, s * 10 + 10).indexOf(1);
    const means = Array.from({ length: 10 }, () => new Float64Array(784));
    const counts = new Array(10).fill(0);
    for (let s = 0; s < 1000; s++) {
      counts[label(s)]++;
      for (let i = 0; i < 784; i++) means[label(s)]![i] += d.x[s * 784 + i]!;
    }
    means.forEach((m, c) => m.forEach((v, i) => (m[i] = v / counts[c])));
    let right = 0;
    for (let s = 1000; s < 1500; s++) {
      const score = means.map((m) => m.reduce((acc, v, i) => acc + v * d.x[s * 784 + i]!, 0));
      if (score.indexOf(Math.max(...score)) === label(s)) right++;
    }
    assert.ok(right / 500 > 0.8, `nearest-mean accuracy ${right / 500}`);
  });
});
