import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { shapeOf } from '../../src/core/analysis/analyze';
import { openModel } from '../../src/core/model';
import type { OpenModel } from '../../src/core/model';
import { buildModel } from '../../src/laurel/buildModel';
import { memoryLimit, WASM_TENSOR_BYTES } from '../../src/trainer/memory';
import { checkMemory, estimateTrainingMemory, largestBatch, MemoryRefusal } from '../../src/trainer/memoryEstimate';
import { loadDataset } from '../../src/trainer/data/loadDataset';
import { planRun, taskOf } from '../../src/trainer/runSpec';
import { trainRun } from '../../src/trainer/train';
import { fixturePath } from './fixturePath';

const open = (file: string): OpenModel => openModel(file, readFileSync(fixturePath(file)));
const wasm = { name: 'wasm' as const, package: '@tensorflow/tfjs-backend-wasm', tried: [] };

describe('training fit: what TF.js builds, and memory before the start', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  it('Keras 1 SeparableConvolution2D: init sets both kernels, Xception builds with the core count', async () => {
    const m = open('keras1-xception-kerasjs.json');
    const sep = m.doc.graph.layers.find((l) => l.name === 'block2_sepconv1')!;
    assert.equal(sep.className, 'SeparableConv2D');
    assert.equal(sep.config['depthwise_initializer'], 'glorot_uniform');
    assert.equal(sep.config['pointwise_initializer'], 'glorot_uniform');
    for (const k of ['init', 'kernel_initializer', 'kernel_regularizer', 'kernel_constraint']) assert.equal(k in sep.config, false, k);
    const model = await buildModel(m);
    try {
      // Keras' own Xception has 22,910,480 parameters.
      assert.equal(model.countParams(), 22910480);
      assert.equal(m.params.total, 22910480);
    } finally {
      model.dispose();
    }
  });

  it('a Sequential holding nested models (Teachable Machine) takes its input shape from the nested model', async () => {
    const m = open('tfjs-teachable-machine-nested-sequential.json');
    const g = m.doc.graph;
    assert.deepEqual(shapeOf(m.analysis, g.inputs[0]!), [null, 224, 224, 3]);
    assert.deepEqual(shapeOf(m.analysis, g.outputs[0]!), [null, 27]);
    const model = await buildModel(m);
    try {
      assert.deepEqual(model.inputs[0]!.shape, [null, 224, 224, 3]);
      assert.equal(model.countParams(), m.params.total);
    } finally {
      model.dispose();
    }
  });

  describe('memory estimate', () => {
    it('prices weights, optimizer and activations per example; within 20% of the peak measured on wasm', () => {
      // Peaks measured with `laurel train --backend wasm`: MobileNetV2 batch 7 2551 MiB, Xception batch 1 2484 MiB.
      const mnv2 = open('tfjs-legacy-mobilenetv2-nsfwjs.json');
      const e = estimateTrainingMemory({ analysis: mnv2.analysis, params: mnv2.params.total, engine: 'tfjs', batch: 7, optimizer: 'adam' });
      assert.ok(Math.abs(e.totalBytes / (2551 * 2 ** 20) - 1) < 0.2, `${e.totalBytes}`);
      const x = open('keras1-xception-kerasjs.json');
      const ex = estimateTrainingMemory({ analysis: x.analysis, params: x.params.total, engine: 'tfjs', batch: 1, optimizer: 'adam' });
      assert.ok(Math.abs(ex.totalBytes / (2484 * 2 ** 20) - 1) < 0.2, `${ex.totalBytes}`);
      // Linear in the batch; SGD keeps less per weight than Adam.
      const e1 = estimateTrainingMemory({ analysis: mnv2.analysis, params: mnv2.params.total, engine: 'tfjs', batch: 1, optimizer: 'adam' });
      assert.equal(e.totalBytes - e1.totalBytes, 6 * e.activationBytesPerExample);
      assert.ok(estimateTrainingMemory({ analysis: mnv2.analysis, params: mnv2.params.total, engine: 'tfjs', batch: 1, optimizer: 'sgd' }).weightBytes < e1.weightBytes);
    });

    it('FC-DenseNet 67 on wasm is refused before the start, with the figure and the ways out', () => {
      const m = open('keras2-fc-densenet67-tiramisu-functional.json');
      const e = estimateTrainingMemory({ analysis: m.analysis, params: m.params.total, engine: 'tfjs', batch: 7, optimizer: 'adam' });
      const limit = memoryLimit({ name: 'tfjs', reason: '' }, wasm)!;
      assert.equal(limit.bytes, WASM_TENSOR_BYTES);
      assert.throws(() => checkMemory(e, limit, true), (err: unknown) => {
        assert.ok(err instanceof MemoryRefusal);
        assert.match(err.message, /^not started: memory estimate \d+ GiB/);
        assert.match(err.message, /WebAssembly's 4 GiB heap/);
        assert.match(err.message, /--engine pytorch/);
        return true;
      });
    });

    it('offers the largest batch that fits, and lets a run that fits start', () => {
      const m = open('keras1-resnet50-kerasjs.json');
      const e = estimateTrainingMemory({ analysis: m.analysis, params: m.params.total, engine: 'tfjs', batch: 7, optimizer: 'adam' });
      const limit = { bytes: WASM_TENSOR_BYTES, what: 'the test limit' };
      const fits = largestBatch(e, limit);
      assert.ok(fits >= 1 && fits < 7);
      assert.throws(() => checkMemory(e, limit, true), new RegExp(`--batch-size ${fits} `));
      const small = estimateTrainingMemory({ analysis: m.analysis, params: m.params.total, engine: 'tfjs', batch: fits, optimizer: 'adam' });
      checkMemory(small, limit, true);
    });

    it('--engine auto sends a run that does not fit the wasm heap to PyTorch, and says why', async () => {
      const m = open('keras3-resnet1d-dotkeras-config.json');
      const spec = planRun(m);
      const real = spec.memory!;
      // This small model stands in for a large one: on TF.js it is priced at 1,000 times the wasm heap.
      spec.memory = (engine, batch, optimizer, dataBytes) => {
        const e = real(engine, batch, optimizer, dataBytes);
        return engine === 'tfjs' ? { ...e, totalBytes: 1000 * WASM_TENSOR_BYTES } : e;
      };
      const data = await loadDataset({ kind: 'synthetic', samples: 4 }, taskOf(m));
      try {
        const config = { optimizer: 'adam' as const, learningRate: 1e-3, batchSize: 4, epochs: 1, validationSplit: 0, seed: 1, maxSteps: 1, engine: 'auto' as const };
        const { record } = await trainRun(spec, data, config, { backend: wasm });
        assert.equal(record.status, 'completed', record.message);
        assert.equal(record.engine?.name, 'pytorch');
        assert.match(record.engine!.reason, /^auto: the run does not fit TF\.js wasm \(memory estimate 2\.9 TiB.*allows \(3\.0 GiB\)\), so PyTorch$/);
        await assert.rejects(trainRun(spec, data, { ...config, engine: 'tfjs' }, { backend: wasm }), MemoryRefusal);
      } finally {
        tf.dispose([data.x, data.y]);
      }
    });

    it('the machine limit applies to PyTorch on the CPU; a CUDA device whose memory was not read is not refused', () => {
      assert.deepEqual(memoryLimit({ name: 'pytorch', reason: '', device: 'cpu' }, wasm, 1234), { bytes: 1234, what: "the machine's available memory" });
      assert.equal(memoryLimit({ name: 'pytorch', reason: '', device: 'cuda' }, wasm, 1234), undefined);
    });
  });
});
