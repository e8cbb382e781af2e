import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { fileLayers } from '../../src/core/ir';
import { openModel } from '../../src/core/model';
import type { OpenModel } from '../../src/core/model';
import { buildModel } from '../../src/laurel/buildModel';
import { checkTokenIds, DatasetError, loadDataset } from '../../src/trainer/data/loadDataset';
import { planRun, taskOf } from '../../src/trainer/runSpec';
import { trainRun } from '../../src/trainer/train';
import { modelOutputs, parseHead, trainingModel, TrainingOutputError } from '../../src/trainer/trainingGraph';
import { outputPicks } from '../../src/extension/datasetPicks';
import { readOutputSettings } from '../../src/extension/settings';
import { fixturePath } from './fixturePath';

const open = (file: string): OpenModel => openModel(file, readFileSync(fixturePath(file)));
const cpu = { name: 'cpu' as const, package: '@tensorflow/tfjs', tried: [] };
const config = { optimizer: 'adam' as const, learningRate: 1e-3, batchSize: 4, epochs: 1, validationSplit: 0, seed: 1, maxSteps: 1 };

describe('what a run trains: one output, a head for feature maps, token ids for Embeddings', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  it('defaults to the last output of a many-output file and names it; the graph keeps what it depends on', async () => {
    const m = open('tfjs-legacy-resnet50-tensorspace.json');
    assert.equal(modelOutputs(m).length, 72);
    const t = trainingModel(m);
    assert.match(t.description, /output '.+' \(None, 1000\), the last of 72 outputs \(--output NAME picks another\)/);
    assert.equal(t.model.doc.graph.outputs.length, 1);
    assert.deepEqual(taskOf(t.model).outputShape, [null, 1000]);
    // Every residual and parameter of ResNet-50 lies before its classifier: nothing is dropped.
    assert.equal(t.model.sites.length, 16);
    assert.equal(t.model.params.total, m.params.total);
    const built = await buildModel(t.model);
    try {
      assert.equal(built.outputs.length, 1);
      assert.equal(built.countParams(), m.params.total);
    } finally {
      built.dispose();
    }
  });

  it('the extension: one pick per output, the default first; laurel.training.output / headClasses settings', () => {
    const picks = outputPicks(modelOutputs(open('tfjs-browser-saved-lenet-tensorspace.json')));
    assert.equal(picks.length, 8);
    assert.deepEqual(picks[0], { label: 'dense_Dense3', description: '(None, 10) (the last output: the default)', detail: 'output 8 of 8', output: 'dense_Dense3' });
    assert.equal(picks[7]!.output, 'zero_padding2d_ZeroPadding2D1');
    const get = (values: Record<string, unknown>) => (k: string) => values[k];
    assert.deepEqual(readOutputSettings(get({ 'training.output': ' dense_Dense2 ', 'training.headClasses': 3 })), { output: 'dense_Dense2', head: { classes: 3 } });
    assert.deepEqual(readOutputSettings(get({ 'training.output': '', 'training.headClasses': 0 })), {});
    assert.deepEqual(readOutputSettings(get({ 'training.headClasses': 2.5 })), {});
  });

  it('--output picks another output and prunes the layers after it; an unknown name lists the outputs', () => {
    const m = open('tfjs-browser-saved-lenet-tensorspace.json');
    const t = trainingModel(m, { output: 'dense_Dense2' });
    assert.deepEqual(taskOf(t.model).outputShape, [null, 84]);
    assert.equal(t.model.doc.graph.layers.some((l) => l.name === 'dense_Dense3'), false);
    assert.throws(() => trainingModel(m, { output: 'nope' }), (e: unknown) => e instanceof TrainingOutputError && /no output of that name; its outputs are .*'dense_Dense3' \(None, 10\)/.test(e.message));
  });

  it('a feature-map output is refused without a head, and --head classes=K adds pooling + Dense for training only', async () => {
    const m = open('tfjs-browser-saved-lenet-tensorspace.json');
    assert.throws(() => trainingModel(m, { output: 'conv2d_Conv2D2' }), /\(None, 10, 10, 16\) \(4 of 8\) is a feature map from Conv2D 'conv2d_Conv2D2'.*one class of each of its 16 channels.*--head classes=K/);
    const t = trainingModel(m, { output: 'conv2d_Conv2D2', head: parseHead('classes=5') });
    assert.deepEqual(taskOf(t.model).outputShape, [null, 5]);
    // 16·5 + 5 head parameters, named in the log; the head's layers are not file layers.
    assert.match(t.description, /GlobalAveragePooling2D \+ Dense\(5, softmax\), 85 params, not written to the model file/);
    assert.deepEqual(fileLayers(t.model.doc.graph).map((l) => l.name).filter((n) => n.startsWith('laurel_head')), []);
    assert.equal(t.model.doc.bytes, m.doc.bytes, 'the file bytes are the same object, untouched');
    const built = await buildModel(t.model);
    try {
      assert.deepEqual(built.outputs[0]!.shape, [null, 5]);
      assert.equal(built.countParams(), t.model.params.total);
    } finally {
      built.dispose();
    }
    assert.throws(() => parseHead('classes=0'), TrainingOutputError);
    assert.throws(() => parseHead('5'), /--head takes classes=K/);
  });

  it('predictions are not feature maps: softmax heads, per-pixel segmentation, Dense outputs', () => {
    for (const file of ['keras2-fc-densenet67-tiramisu-functional.json', 'keras3-resnet1d-dotkeras-config.json', 'tfjs-official-e2e-sequential-embedding-gru.json', 'keras1-xception-kerasjs.json']) {
      assert.doesNotThrow(() => trainingModel(open(file)), file);
    }
  });

  it('Embedding inputs get token ids in [0, input_dim) and train; real ids out of range are located', async () => {
    const m = open('tfjs-official-e2e-sequential-embedding-gru.json');
    const task = taskOf(m);
    assert.deepEqual(task.tokenIds, { vocabulary: 100, layer: 'embedding_Embedding2' });
    const data = await loadDataset({ kind: 'synthetic', samples: 16 }, task);
    try {
      const x = data.x.dataSync();
      assert.ok(x.every((v) => Number.isInteger(v) && v >= 0 && v < 100));
      assert.ok(new Set(x).size > 50, 'ids spread over the vocabulary');
      const { record } = await trainRun(planRun(m), data, config, { backend: cpu });
      assert.equal(record.status, 'completed');
      assert.ok(Number.isFinite(record.final.loss!));
    } finally {
      tf.dispose([data.x, data.y]);
    }
    assert.throws(() => checkTokenIds('ids.npy', [1, 2, 3, 4, 5, 100], [3], task.tokenIds!), (e: unknown) => e instanceof DatasetError && e.message === "ids.npy: sample 1, position [2] holds 100, which is not a token id of Embedding 'embedding_Embedding2' (integers 0..99, its input_dim 100)");
    assert.throws(() => checkTokenIds('ids', [0.5], [1], task.tokenIds!), /holds 0.5/);
  });
});
