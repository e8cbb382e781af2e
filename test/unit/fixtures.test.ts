import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../../src/core/errors';
import { openModel, planModel, plannedBytes } from '../../src/core/model';
import type { OpenModel } from '../../src/core/model';
import { fixturePath } from './fixturePath';

/** What shared/fixtures/models/SOURCES.md says of each file. */
interface Expected {
  file: string;
  format: string;
  container?: string;
  layers: number;
  identity: number;
  projection: number;
  /** tf.models.modelFromJSON loads the file, so its countParams() is the reference. */
  tfjs: boolean;
}

const FIXTURES: Expected[] = [
  { file: 'tfjs-legacy-resnet50-tensorspace.json', format: 'tfjs-layers-model', layers: 177, identity: 12, projection: 4, tfjs: true },
  { file: 'tfjs-legacy-mobilenetv2-nsfwjs.json', format: 'tfjs-layers-model', layers: 162, identity: 10, projection: 0, tfjs: true },
  { file: 'tfjs-legacy-inceptionv3-tensorspace.json', format: 'tfjs-layers-model', layers: 313, identity: 0, projection: 0, tfjs: true },
  { file: 'tfjs-browser-saved-lenet-tensorspace.json', format: 'tfjs-layers-model', layers: 10, identity: 0, projection: 0, tfjs: true },
  { file: 'tfjs-official-e2e-sequential-embedding-gru.json', format: 'tfjs-layers-model', layers: 2, identity: 0, projection: 0, tfjs: true },
  { file: 'keras1-resnet50-kerasjs.json', format: 'keras-json', layers: 177, identity: 12, projection: 4, tfjs: false },
  { file: 'keras1-inceptionv3-kerasjs.json', format: 'keras-json', layers: 220, identity: 0, projection: 0, tfjs: false },
  { file: 'keras-resnet18-custom-doubleencoded.json', format: 'keras-json', container: 'json-string', layers: 80, identity: 5, projection: 3, tfjs: true },
  { file: 'keras2-fc-densenet67-tiramisu-functional.json', format: 'keras-json', layers: 301, identity: 0, projection: 0, tfjs: true },
  { file: 'keras2-fc-densenet103-tiramisu-sequential-listconfig.json', format: 'keras-json', layers: 399, identity: 0, projection: 0, tfjs: true },
  { file: 'keras3-resnet1d-dotkeras-config.json', format: 'keras3-config', layers: 27, identity: 3, projection: 0, tfjs: false },
  { file: 'keras3-transformer-encoder-opsAdd-dotkeras-config.json', format: 'keras3-config', layers: 20, identity: 4, projection: 0, tfjs: false },
];

const cache = new Map<string, OpenModel>();
const open = (file: string): OpenModel => {
  if (!cache.has(file)) cache.set(file, openModel(file, readFileSync(fixturePath(file))));
  return cache.get(file)!;
};

/** The model JSON tfjs reads, whatever container the file uses. */
function tfjsTopology(file: string): object {
  let json = JSON.parse(readFileSync(fixturePath(file), 'utf8'));
  if (typeof json === 'string') json = JSON.parse(json);
  return json.modelTopology ? { modelTopology: json.modelTopology } : json;
}

async function tfjsCounts(file: string): Promise<{ total: number; trainable: number }> {
  const model = await tf.models.modelFromJSON(tfjsTopology(file) as tf.io.ModelJSON);
  const size = (ws: tf.LayerVariable[]): number => ws.reduce((a, w) => a + w.shape.reduce<number>((x, y) => x * (y ?? 0), 1), 0);
  const out = { total: model.countParams(), trainable: size(model.trainableWeights) };
  model.dispose();
  return out;
}

describe('real model files (shared/fixtures/models)', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  for (const f of FIXTURES) {
    describe(f.file, () => {
      it('is read: format, container and layer count as SOURCES.md says', () => {
        const m = open(f.file);
        assert.equal(m.doc.format, f.format);
        assert.equal(m.doc.container, f.container ?? 'plain');
        assert.equal(m.doc.graph.layers.filter((l) => !l.synthetic).length, f.layers);
        assert.deepEqual(m.analysis.unknownLayers, []);
        assert.deepEqual(m.analysis.problems.map((p) => p.message), []);
      });

      it('has the residual sites SOURCES.md lists, with their kinds and widths', () => {
        const m = open(f.file);
        assert.equal(m.sites.filter((s) => s.shortcutKind === 'identity').length, f.identity);
        assert.equal(m.sites.filter((s) => s.shortcutKind === 'projection').length, f.projection);
        for (const s of m.sites) {
          assert.ok(s.width && s.width > 0, `${s.id}: width ${s.width}`);
          assert.notEqual(s.branchIndex, s.shortcutIndex);
          assert.ok(s.branchLayers.length > 0, `${s.id}: a branch f(x) has layers`);
        }
      });

      if (f.tfjs) {
        it('has the parameter totals tfjs countParams() gives for the same model', async () => {
          const ref = await tfjsCounts(f.file);
          const m = open(f.file);
          assert.equal(m.params.total, ref.total);
          assert.equal(m.params.trainable, ref.trainable);
        });
      }

      it('gives back the original bytes for the plain plan, and after apply + revert', () => {
        const m = open(f.file);
        const bytes = readFileSync(fixturePath(f.file));
        assert.ok(Buffer.from(plannedBytes(m, planModel(m, 'all=plain'))).equals(bytes));
        if (m.sites.length === 0) return;
        const edited = plannedBytes(m, planModel(m, 'all=rw+lr:r=8'));
        assert.ok(!Buffer.from(edited).equals(bytes));
        const again = openModel(f.file, edited);
        assert.equal(again.sites.length, m.sites.length);
        assert.ok(again.sites.every((s) => s.current.variant === 'rw+lr' && s.current.options.rank === 8));
        const added = m.sites.reduce((sum, s) => sum + 2 * 8 * s.width! + 2, 0);
        assert.equal(again.params.total, m.params.total + added);
        const reverted = plannedBytes(again, planModel(again, 'all=plain'));
        assert.ok(Buffer.from(reverted).equals(bytes), 'revert restores every byte');
      });
    });
  }

  it('the two ResNet-50 files (Keras 1 and TF.js) count the same parameters', async () => {
    const ref = await tfjsCounts('tfjs-legacy-resnet50-tensorspace.json');
    assert.equal(open('keras1-resnet50-kerasjs.json').params.total, ref.total);
  });

  it('ResNet-50: LR r=16 at D = output channels on all 16 blocks adds 483,328 (laurel-method §4.1)', () => {
    const m = open('tfjs-legacy-resnet50-tensorspace.json');
    assert.deepEqual(
      m.sites.map((s) => s.width),
      [256, 256, 256, 512, 512, 512, 512, 1024, 1024, 1024, 1024, 1024, 1024, 2048, 2048, 2048],
    );
    assert.equal(planModel(m, 'all=lr:r=16').cost.addedParams, 483_328);
    assert.equal(planModel(m, 'all=rw').cost.addedParams, 32);
  });

  it('the TF.js graph model gets a clear error, not an empty graph', () => {
    const file = 'tfjs-graphmodel-mobilenetv2-nsfwjs.json';
    assert.throws(() => openModel(file, readFileSync(fixturePath(file))), (e: unknown) => e instanceof ModelError && /graph model/i.test(e.message) && e.message.includes(file));
  });
});
