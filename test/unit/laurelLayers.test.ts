import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { hasPa, instanceCost, VARIANTS } from '../../src/core/laurel/variants';
import type { PaMode, RwNorm, Variant, VariantOptions } from '../../src/core/laurel/variants';
import { LaurelResidual, registerLaurelLayers } from '../../src/laurel/laurelResidual';
import type { LaurelResidualArgs } from '../../src/laurel/laurelResidual';
import { LaurelValueError } from '../../src/laurel/options';
import { DENSE, NHWC, PA_MODES, RW_NORMS, inputsFor, opts } from './laurelLayerReference';

// The TF.js LaurelResidual layer: shapes, config, parameter counts (laurelNumerics.test.ts: its values).

describe('LaurelResidual (tfjs layer)', () => {
  before(async () => {
    await tf.setBackend('cpu');
    registerLaurelLayers();
  });

  describe('shapes', () => {
    for (const v of VARIANTS)
      for (const shape of [DENSE, NHWC])
        it(`${v} on [${shape}] keeps the shape`, () => {
          const layer = new LaurelResidual({ variant: v, ...opts() });
          const ins = inputsFor(v, shape);
          const y = layer.apply(ins) as tf.Tensor;
          assert.deepEqual(y.shape, shape);
          const sym = [null, ...shape.slice(1)];
          assert.deepEqual(layer.computeOutputShape(ins.map(() => sym)), sym);
          tf.dispose([y, ...ins]);
        });

    it('fills a null dimension from another input and rejects mismatched shapes clearly', () => {
      const layer = new LaurelResidual({ variant: 'lr', rank: 2, name: 'site3' });
      assert.deepEqual(layer.computeOutputShape([[null, 5, 8], [2, null, 8]]), [2, 5, 8]);
      assert.throws(
        () => layer.computeOutputShape([[null, 5, 8], [null, 5, 6]]),
        /LaurelResidual 'site3': input 0 has shape \[null, 5, 8\] but the shortcut x \(input 1\) has \[null, 5, 6\]/,
      );
      assert.throws(() => layer.computeOutputShape([[null, 8], [null, 5, 8]]), /same shape/);
    });

    it('checks the number of inputs per variant', () => {
      assert.throws(() => new LaurelResidual({ variant: 'rw' }).computeOutputShape([[null, 8]]), /takes exactly 2 inputs \(f\(x\), x\); got 1/);
      assert.throws(
        () => new LaurelResidual({ variant: 'lr' }).computeOutputShape([[null, 8], [null, 8], [null, 8]]),
        /\(lr\) takes exactly 2 inputs \(f\(x\), x\); got 3/,
      );
      const pa = new LaurelResidual({ variant: 'pa', k: 2 });
      assert.deepEqual(pa.computeOutputShape([[null, 8], [null, 8], [null, 8]]), [null, 8]);
      assert.throws(() => pa.computeOutputShape([[null, 8], [null, 8], [null, 8], [null, 8]]), /2 to 3 .* up to k-1 = 1 .*got 4/);
    });

    it('needs a known D for weights that depend on it', () => {
      const layer = new LaurelResidual({ variant: 'rw+lr', rank: 2 });
      assert.throws(() => layer.build([[null, null], [null, null]]), /needs a known last dimension D/);
      const pa = new LaurelResidual({ variant: 'pa', paMode: 'identity', k: 2 });
      pa.build([[null, null], [null, null], [null, null]]);
      assert.equal(pa.countParams(), 2);
    });
  });

  describe('construction and config', () => {
    it('rejects bad settings with clear messages', () => {
      assert.throws(() => new LaurelResidual({ variant: 'rw+xx' as Variant }), (e: Error) => {
        assert.ok(e instanceof LaurelValueError);
        assert.equal(e.name, 'ValueError');
        assert.match(e.message, /invalid variant "rw\+xx"; expected one of plain, rw, lr, pa, rw\+lr, rw\+pa, rw\+lr\+pa, gemma/);
        return true;
      });
      assert.throws(() => new LaurelResidual({ variant: 'lr', rank: 0 }), /invalid rank 0; expected an integer >= 1/);
      assert.throws(() => new LaurelResidual({ variant: 'pa', k: 0 }), /invalid k 0; expected an integer >= 1/);
      assert.throws(() => new LaurelResidual({ variant: 'lr', rank: 2.5 }), /invalid rank 2.5/);
      assert.throws(() => new LaurelResidual({ rwNorm: 'tanh' as RwNorm }), /invalid rw_norm "tanh"/);
      assert.throws(() => new LaurelResidual({ paMode: 'dense' as PaMode }), /invalid pa_mode "dense"/);
      assert.throws(() => new LaurelResidual({ branchIndex: 1, shortcutIndex: 1 }), /both 1; they must differ/);
      assert.throws(() => new LaurelResidual({ laurel: 'rw' as unknown as Record<string, unknown> }), /invalid laurel "rw"/);
    });

    it('writes snake_case config merged with the base layer config', () => {
      const layer = new LaurelResidual({ variant: 'rw+lr', rank: 4, name: 'res1', trainable: false });
      assert.deepEqual(layer.getConfig(), {
        name: 'res1',
        trainable: false,
        variant: 'rw+lr',
        rank: 4,
        k: 3,
        rw_norm: 'softmax',
        lr_init: 'xavier',
        pa_mode: 'identity',
        branch_index: 0,
        shortcut_index: 1,
      });
    });

    it('defaults to plain; reads snake_case keys; the nested laurel object wins per key', () => {
      assert.equal(new LaurelResidual().settings.variant, 'plain');
      const raw = { variant: 'rw', rank: 8, rw_norm: 'fixed', branch_index: 1, shortcut_index: 0 } as unknown as LaurelResidualArgs;
      assert.deepEqual(new LaurelResidual(raw).settings, {
        variant: 'rw',
        rank: 8,
        k: 3,
        rwNorm: 'fixed',
        lrInit: 'xavier',
        paMode: 'identity',
        branchIndex: 1,
        shortcutIndex: 0,
      });
      const nested = new LaurelResidual({ variant: 'rw', rank: 8, k: 2, laurel: { variant: 'rw+lr+pa', rank: 2, lr_init: 'column-orthogonal' } });
      assert.deepEqual(
        { ...nested.settings },
        { variant: 'rw+lr+pa', rank: 2, k: 2, rwNorm: 'softmax', lrInit: 'column-orthogonal', paMode: 'identity', branchIndex: 0, shortcutIndex: 1 },
      );
      assert.equal(nested.getConfig()['laurel'], undefined, 'getConfig writes the resolved flat keys only');
    });

    it('registerLaurelLayers is idempotent', () => {
      registerLaurelLayers();
      registerLaurelLayers();
      const entry = tf.serialization.SerializationMap.getMap().classNameMap['LaurelResidual'];
      assert.equal(entry?.[0], LaurelResidual);
      assert.equal(new LaurelResidual().getClassName(), 'LaurelResidual');
    });
  });

  describe('parameter count equals core instanceCost', () => {
    for (const v of VARIANTS)
      it(v, () => {
        let checked = 0;
        for (const D of [8, 6])
          for (const rank of [1, 3, 8])
            for (const k of [1, 3])
              for (const rwNorm of RW_NORMS)
                for (const paMode of PA_MODES)
                  // PA: a full history (k terms) and a short one (x_i alone): only existing terms have weights.
                  for (const history of hasPa(v) ? [k - 1, 0] : [0]) {
                    const options: VariantOptions = { rank, k, rwNorm, lrInit: rank === 3 ? 'column-orthogonal' : 'xavier', paMode };
                    const layer = new LaurelResidual({ variant: v, ...options });
                    layer.build(Array.from({ length: 2 + history }, () => [null, D]));
                    const want = instanceCost({ variant: v, options }, D, 1 + history).params;
                    assert.equal(layer.countParams(), want, `${v} D=${D} history ${history} ${JSON.stringify(options)}`);
                    layer.weights.forEach((w) => w.dispose());
                    checked++;
                  }
        assert.equal(checked, hasPa(v) ? 216 : 108);
      });

    it('names the weights', () => {
      const names = (v: Variant, o: Partial<VariantOptions>, history = 0): string[] => {
        const layer = new LaurelResidual({ variant: v, ...opts(o) });
        layer.build(Array.from({ length: 2 + history }, () => [null, 4]));
        return layer.weights.map((w) => w.originalName.split('/').pop() as string);
      };
      assert.deepEqual(names('rw', {}), ['rw_logits']);
      assert.deepEqual(names('rw', { rwNorm: 'sigmoid-single' }), ['rw_theta']);
      assert.deepEqual(names('rw', { rwNorm: 'fixed' }), []);
      assert.deepEqual(names('rw+lr', {}), ['rw_logits', 'lr_down', 'lr_up']);
      assert.deepEqual(names('pa', { paMode: 'lowrank-shared' }), ['pa_gamma', 'pa_down', 'pa_up']);
      assert.deepEqual(names('rw+lr+pa', { k: 2 }, 1), ['rw_logits', 'pa_gamma', 'pa_down_0', 'pa_up_0', 'pa_down_1', 'pa_up_1']);
      assert.deepEqual(names('rw+lr+pa', { k: 2 }), ['rw_logits', 'pa_gamma', 'pa_down_0', 'pa_up_0']);
      assert.deepEqual(names('gemma', {}), ['lr_down', 'lr_up', 'gemma_norm_scale']);
    });
  });
});

describe('the Gemma form keeps the residual stream bounded at initialisation', function () {
  it('prenorm mixer, all 8 sites gemma: the RMS of the stream stays within 4x of its input, plain-like', async function () {
    const { openModel } = await import('../../src/core/model');
    const { parsePlan, resolvePlan } = await import('../../src/core/laurel/planSpec');
    const { buildModel } = await import('../../src/laurel/buildModel');
    const { seedScope } = await import('../../src/trainer/seed');
    const { readFileSync } = await import('node:fs');
    const { join, resolve } = await import('node:path');
    const file = join(resolve(__dirname, '../../..'), 'examples', 'prenorm-mixer.json');
    const m = openModel(file, readFileSync(file));
    assert.equal(m.sites.length, 8);
    const rmsPerSite = async (spec: string): Promise<number[]> => {
      const scope = seedScope(1);
      try {
        const model = await buildModel(m, resolvePlan(parsePlan(spec), m.sites));
        const merges = m.sites.map((s) => model.getLayer(s.merge).output as tf.SymbolicTensor);
        const probe = tf.model({ inputs: model.inputs, outputs: [model.inputs[0]!, ...merges] as unknown as tf.SymbolicTensor[] });
        const shape = model.inputs[0]!.shape.map((d) => d ?? 4);
        const x = tf.randomNormal(shape, 0, 1, 'float32', 3);
        const outs = probe.predict(x) as tf.Tensor[];
        const rms = outs.map((t) => Math.sqrt(tf.mean(tf.square(t)).dataSync()[0]!));
        tf.dispose([x, ...outs]);
        model.dispose();
        return rms;
      } finally {
        scope.restore();
      }
    };
    const plain = await rmsPerSite('all=plain');
    const gemma = await rmsPerSite('all=gemma:r=4');
    console.log(`      residual RMS, input then 8 sites: plain ${plain.map((v) => v.toFixed(2)).join(' ')}; gemma ${gemma.map((v) => v.toFixed(2)).join(' ')}`);
    for (const v of gemma.slice(1)) assert.ok(v < 4 * gemma[0]! && v > gemma[0]! / 4, `gemma RMS ${v} vs input ${gemma[0]}`);
    assert.ok(Math.max(...gemma.slice(1)) < 3 * Math.max(...plain.slice(1)), `gemma ${Math.max(...gemma)} vs plain ${Math.max(...plain)}`);
  });
});
