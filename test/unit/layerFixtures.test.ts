import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import type { Shape } from '../../src/core/ir';
import { specFor } from '../../src/core/layers/catalog';
import { fixturePath } from './fixturePath';
import type { Config } from './layerReference';
import { inputShapes, reference, size } from './layerReference';

/** tfjs layer models read from the fixtures: every layer's own input shapes, config as written in the file. */
  before(async () => {
    await tf.setBackend('cpu');
  });

describe('layer catalog vs tfjs on the real fixture models', () => {
  const files: [string, (d: Config) => Config][] = [
    ['tfjs-legacy-resnet50-tensorspace.json', (d) => d['modelTopology'] as Config],
    ['tfjs-legacy-mobilenetv2-nsfwjs.json', (d) => d['modelTopology'] as Config],
    ['tfjs-legacy-inceptionv3-tensorspace.json', (d) => d['modelTopology'] as Config],
    ['tfjs-browser-saved-lenet-tensorspace.json', (d) => d['modelTopology'] as Config],
    ['tfjs-official-e2e-sequential-embedding-gru.json', (d) => d['modelTopology'] as Config],
    ['keras2-fc-densenet67-tiramisu-functional.json', (d) => d],
    ['keras2-fc-densenet103-tiramisu-sequential-listconfig.json', (d) => d],
    // Keras 2.11 writes class 'Functional'; tfjs knows the same topology as 'Model'.
    ['keras-resnet18-custom-doubleencoded.json', (d) => ({ ...d, class_name: 'Model' })],
  ];
  for (const [file, topology] of files) {
    it(file, async () => {
      let doc = JSON.parse(readFileSync(fixturePath(file), 'utf8')) as Config | string;
      if (typeof doc === 'string') doc = JSON.parse(doc) as Config; // the file holds the model JSON as a JSON string
      const topo = topology(doc);
      const model = await tf.models.modelFromJSON({ modelTopology: topo } as unknown as tf.io.ModelJSON);
      // Raw configs from the file, by layer name (Sequential configs are a list or {layers}).
      const raw = new Map<string, { class_name: string; config: Config }>();
      const walk = (o: unknown): void => {
        if (Array.isArray(o)) o.forEach(walk);
        else if (o && typeof o === 'object') {
          const r = o as Record<string, unknown>;
          const cfg = r['config'] as Config | undefined;
          if (typeof r['class_name'] === 'string' && cfg && typeof cfg === 'object' && typeof cfg['name'] === 'string' && !raw.has(cfg['name'])) {
            raw.set(cfg['name'], { class_name: r['class_name'], config: cfg });
          }
          Object.values(r).forEach(walk);
        }
      };
      walk(topo);
      let checked = 0;
      for (const l of model.layers) {
        const entry = raw.get(l.name);
        assert.ok(entry, `no config for ${l.name}`);
        const spec = specFor(entry.class_name);
        assert.ok(spec, `${file}: class ${entry.class_name} missing from the catalog`);
        const isInput = entry.class_name === 'InputLayer';
        const inputs = isInput ? [] : inputShapes(l);
        const out = l.outputShape as unknown;
        const expected = (Array.isArray((out as unknown[])[0]) ? out : [out]) as Shape[];
        const what = `${file} ${l.name} (${entry.class_name}) on ${JSON.stringify(inputs)}`;
        assert.deepEqual(spec.outputShapes(entry.config, inputs), expected.map((s) => [...s]), what);
        const p = spec.params(entry.config, inputs);
        // The spec counts as if trainable; the caller (like tfjs) moves a frozen layer's weights across.
        const frozen = entry.config['trainable'] === false;
        assert.deepEqual(
          frozen ? { trainable: 0, nonTrainable: p.trainable + p.nonTrainable } : p,
          {
            trainable: l.trainableWeights.reduce((n, w) => n + size(w.shape as number[]), 0),
            nonTrainable: l.nonTrainableWeights.reduce((n, w) => n + size(w.shape as number[]), 0),
          },
          what,
        );
        checked++;
      }
      assert.ok(checked > 1, `${file}: no layers checked`);
      model.dispose();
    });
  }

  it('the resnet50 fixture: every Conv2D / BatchNormalization / Dense config, with totals tfjs agrees on', async () => {
    const doc = JSON.parse(readFileSync(fixturePath('tfjs-legacy-resnet50-tensorspace.json'), 'utf8')) as Config;
    const model = await tf.models.modelFromJSON({ modelTopology: doc['modelTopology'] } as unknown as tf.io.ModelJSON);
    const counts = new Map<string, number>();
    let trainableSum = 0;
    let nonTrainableSum = 0;
    const layers = ((doc['modelTopology'] as Config)['model_config'] as { config: { layers: { class_name: string; config: Config; name: string }[] } }).config.layers;
    for (const entry of layers) {
      const l = model.getLayer(entry.name);
      const inputs = entry.class_name === 'InputLayer' ? [] : inputShapes(l);
      const p = specFor(entry.class_name)!.params(entry.config, inputs);
      assert.notEqual(entry.config['trainable'], false);
      trainableSum += p.trainable;
      nonTrainableSum += p.nonTrainable;
      counts.set(entry.class_name, (counts.get(entry.class_name) ?? 0) + 1);
    }
    // SOURCES.md: 53 Conv2D, 53 BatchNormalization, 1 Dense; the totals are tfjs' own for the whole model.
    assert.equal(counts.get('Conv2D'), 53);
    assert.equal(counts.get('BatchNormalization'), 53);
    assert.equal(counts.get('Dense'), 1);
    const tfTrainable = model.trainableWeights.reduce((n, w) => n + size(w.shape as number[]), 0);
    assert.equal(trainableSum + nonTrainableSum, model.countParams());
    assert.equal(trainableSum, tfTrainable);
    // The Keras ResNet50 (with top) summary: 25,636,712 total, 53,120 non-trainable.
    assert.equal(trainableSum + nonTrainableSum, 25636712);
    assert.equal(nonTrainableSum, 53120);
    model.dispose();
  });
});


describe('layer catalog vs the shapes Keras 3 recorded', () => {
  interface KTensor {
    shape: Shape;
    history: [string, number, number];
  }
  const tensors = (o: unknown, out: KTensor[] = []): KTensor[] => {
    if (Array.isArray(o)) o.forEach((x) => tensors(x, out));
    else if (o && typeof o === 'object') {
      const r = o as Record<string, unknown>;
      if (r['class_name'] === '__keras_tensor__') {
        const c = r['config'] as { shape: Shape; keras_history: [string, number, number] };
        out.push({ shape: c.shape, history: c.keras_history });
      } else Object.values(r).forEach((x) => tensors(x, out));
    }
    return out;
  };
  for (const file of ['keras3-resnet1d-dotkeras-config.json', 'keras3-transformer-encoder-opsAdd-dotkeras-config.json']) {
    it(file, async () => {
      const doc = JSON.parse(readFileSync(fixturePath(file), 'utf8')) as { config: { layers: { class_name: string; name: string; config: Config; inbound_nodes: unknown }[] } };
      const layers = doc.config.layers;
      const produced = new Map<string, Shape>();
      for (const l of layers) for (const t of tensors(l.inbound_nodes)) produced.set(`${t.history[0]}:${t.history[2]}`, t.shape);
      let checked = 0;
      for (const l of layers) {
        const spec = specFor(l.class_name);
        assert.ok(spec, `${file}: ${l.class_name} missing from the catalog`);
        const inputs = tensors(l.inbound_nodes).map((t) => t.shape);
        const expected = produced.get(`${l.name}:0`);
        if (!expected) continue; // a model output: no consumer recorded its shape
        assert.deepEqual(spec.outputShapes(l.config, inputs)[0], expected, `${file} ${l.name}`);
        checked++;
        // Where tfjs has the class, its param count for the same config (dtype policy objects aside).
        if (tf.serialization.SerializationMap.getMap().classNameMap[l.class_name] && l.class_name !== 'InputLayer') {
          const config = { ...l.config };
          delete config['dtype'];
          const ref = await reference({ cls: l.class_name, config, inputs });
          assert.ok(!('error' in ref), `${file} ${l.name}: tfjs refused: ${'error' in ref ? ref.error : ''}`);
          const p = spec.params(l.config, inputs);
          assert.deepEqual([p.trainable, p.nonTrainable], [ref.trainable, ref.nonTrainable], `${file} ${l.name} params`);
        }
      }
      assert.ok(checked > 10);
    });
  }
});
