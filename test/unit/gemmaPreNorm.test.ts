import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { toKerasTopology } from '../../src/core/export/kerasTopology';
import { toPyTorch } from '../../src/core/export/pytorch';
import { preNormOf } from '../../src/core/laurel/history';
import { parsePlan, resolvePlan } from '../../src/core/laurel/planSpec';
import { openModel, planModel, plannedBytes } from '../../src/core/model';
import type { OpenModel } from '../../src/core/model';
import { buildModel } from '../../src/laurel/buildModel';
import { LaurelResidual } from '../../src/laurel/laurelResidual';
import { seedScope } from '../../src/trainer/seed';
import { examplePath, fixturePath } from './fixturePath';

const open = (path: string): OpenModel => openModel(path, readFileSync(path));
const graphOf = (m: OpenModel) => m.doc.graph;

describe('the Gemma form reads a pre-norm block’s own norm as n', function () {
  this.timeout(120_000);

  it('finds the norm a branch starts with (prenorm mixer: every site), and none on post-norm blocks or conv nets', function () {
    const mixer = open(examplePath('prenorm-mixer.json'));
    assert.deepEqual(
      mixer.sites.map((s) => preNormOf(s, graphOf(mixer))?.layer),
      ['block1_ln1', 'block1_ln2', 'block2_ln1', 'block2_ln2', 'block3_ln1', 'block3_ln2', 'block4_ln1', 'block4_ln2'],
    );
    // The Keras 3 transformer encoder is post-norm (norm after the add): its branches start with attention or Dense.
    const encoder = open(fixturePath('keras3-transformer-encoder-opsAdd-dotkeras-config.json'));
    assert.equal(encoder.sites.length, 4);
    assert.deepEqual(encoder.sites.map((s) => preNormOf(s, graphOf(encoder))), [null, null, null, null]);
    const resnet = open(examplePath('resnet-mini.json'));
    assert.ok(resnet.sites.every((s) => preNormOf(s, graphOf(resnet)) === null));
  });

  it('wires n as a third input in the trained topology and in the written file; plain gives the bytes back', function () {
    const mixer = open(examplePath('prenorm-mixer.json'));
    const topology = toKerasTopology(mixer, resolvePlan(parsePlan('all=gemma:r=4'), mixer.sites));
    const site = topology.config.layers.find((l) => l.name === 'block2_add1')!;
    assert.deepEqual((site.inbound_nodes[0] as unknown[][]).map((i) => i[0]), ['block2_tback', 'block1_add2', 'block2_ln1']);
    const written = mixer;
    const bytes = plannedBytes(written, planModel(written, 'all=gemma:r=4'));
    const again = openModel('mixer-gemma.json', bytes);
    assert.deepEqual(again.sites.map((s) => [s.current.variant, s.inputCount]), again.sites.map(() => ['gemma', 3]));
    assert.equal(again.params.total, written.params.total + 8 * (2 * 4 * 64 + 64));
    const back = plannedBytes(again, planModel(again, 'all=plain'));
    assert.equal(Buffer.from(back).toString('utf8'), readFileSync(examplePath('prenorm-mixer.json'), 'utf8'));
    // The post-norm encoder keeps two inputs (n = x/rms(x) inside the layer); its PyTorch module passes them on.
    const encoder = open(fixturePath('keras3-transformer-encoder-opsAdd-dotkeras-config.json'));
    const code = toPyTorch(encoder, resolvePlan(parsePlan('all=gemma:r=4'), encoder.sites)).code;
    assert.equal((code.match(/LaurelResidual\(128, ["']gemma["']/g) ?? []).length, 4);
  });

  it('TF.js layer: with n given, y = (f + x)/√2 + (n + RMSNorm(n A B))/√2 from that n, not from x', function () {
    const D = 4;
    const f = tf.tensor2d([[1, 0, 0, 1]]);
    const x = tf.tensor2d([[5, -3, 2, 8]]);
    const n = tf.tensor2d([[1, -1, 1, -1]]);
    const layer = new LaurelResidual({ variant: 'gemma', rank: 1 });
    layer.apply([f, x, n]);
    const byName = (s: string) => layer.weights.find((w) => w.originalName.endsWith(s))!;
    byName('lr_down').write(tf.tensor2d([[1], [0], [0], [0]]));
    byName('lr_up').write(tf.tensor2d([[2, 0, 0, 0]]));
    // n A B = [2, 0, 0, 0]; RMSNorm (scale 1): [2, 0, 0, 0] / sqrt(4/4 + 1e-6).
    const r = 2 / Math.sqrt(1 + 1e-6);
    const want = [1 + 5 + 1 + r, 0 - 3 - 1, 0 + 2 + 1, 1 + 8 - 1].map((v) => v * Math.SQRT1_2);
    const got = Array.from((layer.apply([f, x, n]) as tf.Tensor).dataSync());
    got.forEach((g, i) => assert.ok(Math.abs(g - want[i]!) < 1e-5, `${i}: ${g} vs ${want[i]}`));
    assert.equal(D, got.length);
    assert.throws(() => layer.apply([f, x, n, n]), /2 or 3 inputs \(f\(x\), x, then the pre-norm n\)/);
  });

  it('prenorm mixer, every site gemma: the built model feeds each site its LayerNorm output', async function () {
    const mixer = open(examplePath('prenorm-mixer.json'));
    const scope = seedScope(1);
    try {
      const model = await buildModel(mixer, resolvePlan(parsePlan('all=gemma:r=4'), mixer.sites));
      for (const s of mixer.sites) {
        const inbound = model.getLayer(s.merge).inboundNodes[0]!.inboundLayers.map((l) => l.name);
        assert.deepEqual(inbound.slice(2), [preNormOf(s, graphOf(mixer))!.layer], s.id);
      }
      model.dispose();
    } finally {
      scope.restore();
    }
  });
});
