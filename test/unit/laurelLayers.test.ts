import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { hasPa, instanceCost, VARIANTS } from '../../src/core/laurel/variants';
import type { PaMode, RwNorm, Variant, VariantOptions } from '../../src/core/laurel/variants';
import { ColumnOrthogonal } from '../../src/laurel/initializers';
import { LaurelResidual, registerLaurelLayers } from '../../src/laurel/laurelResidual';
import type { LaurelResidualArgs } from '../../src/laurel/laurelResidual';
import { LaurelValueError } from '../../src/laurel/options';

// Expected values below come from plain-JS loops over Float32Arrays (a hand reference), never from the layer.

const DENSE = [2, 5, 8];
const NHWC = [2, 4, 4, 6];
const RW_NORMS: RwNorm[] = ['softmax', 'sigmoid-single', 'fixed'];
const PA_MODES: PaMode[] = ['identity', 'lowrank-shared', 'lowrank-per-j'];
const isPa = (v: Variant): boolean => v.endsWith('pa');

let seed = 1;
const rand = (shape: number[], scale = 1): tf.Tensor => tf.randomUniform(shape, -scale, scale, 'float32', seed++);

/** f, x and (for PA) `history` previous activations, all of `shape`. */
function inputsFor(v: Variant, shape: number[], history = 2): tf.Tensor[] {
  return Array.from({ length: isPa(v) ? 2 + history : 2 }, () => rand(shape));
}

function symbolicModel(layer: LaurelResidual, shape: number[], count: number): tf.LayersModel {
  const ins = Array.from({ length: count }, () => tf.input({ shape: shape.slice(1) }));
  return tf.model({ inputs: ins, outputs: layer.apply(ins) as tf.SymbolicTensor });
}

function weightNamed(layer: tf.layers.Layer, name: string): tf.LayerVariable {
  const w = layer.weights.find((v) => v.originalName.split('/').pop() === name);
  assert.ok(w, `weight ${name} in ${layer.weights.map((v) => v.originalName).join(', ')}`);
  return w;
}

/** Sets the named weights (others get random values) and returns every weight's values by short name. */
function setWeights(layer: tf.layers.Layer, given: Record<string, number[]> = {}): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  const values = layer.weights.map((w) => {
    const name = w.originalName.split('/').pop() as string;
    const t = given[name] ? tf.tensor(given[name] as number[], w.shape as number[]) : rand(w.shape as number[], 0.5);
    out[name] = t.dataSync() as Float32Array;
    return t;
  });
  layer.setWeights(values);
  tf.dispose(values);
  return out;
}

// ---- hand reference on rows of width D -------------------------------------------------------------
type Vec = Float32Array;
const data = (t: tf.Tensor): Vec => t.dataSync() as Float32Array;
const zip = (a: Vec, b: Vec, fn: (x: number, y: number) => number): Vec => a.map((x, i) => fn(x, b[i] as number));
const plus = (a: Vec, b: Vec): Vec => zip(a, b, (x, y) => x + y);
const scale = (a: Vec, s: number): Vec => a.map((x) => x * s);

/** Rows of x [n, din] times W [din, dout], by loops. */
function matRows(x: Vec, din: number, w: Vec, dout: number): Vec {
  const n = x.length / din;
  const out = new Float32Array(n * dout);
  for (let i = 0; i < n; i++)
    for (let o = 0; o < dout; o++) {
      let s = 0;
      for (let c = 0; c < din; c++) s += (x[i * din + c] as number) * (w[c * dout + o] as number);
      out[i * dout + o] = s;
    }
  return out;
}
const lowRankRef = (x: Vec, a: Vec, b: Vec, D: number, r: number): Vec => matRows(matRows(x, D, a, r), r, b, D);
function rmsNormRef(x: Vec, w: Vec, D: number): Vec {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length / D; i++) {
    let ms = 0;
    for (let c = 0; c < D; c++) ms += (x[i * D + c] as number) ** 2;
    const inv = 1 / Math.sqrt(ms / D + 1e-6);
    for (let c = 0; c < D; c++) out[i * D + c] = (x[i * D + c] as number) * inv * (w[c] as number);
  }
  return out;
}

/** The method's equations (laurel-method §2, our §7 adaptation) evaluated by hand. */
function reference(v: Variant, o: VariantOptions, w: Record<string, Vec>, ins: Vec[], D: number): Vec {
  const [f, x, ...prev] = ins as [Vec, Vec, ...Vec[]];
  const r = o.rank;
  if (v === 'plain') return plus(f, x);
  if (v === 'gemma') {
    const u = rmsNormRef(x, new Float32Array(D).fill(1), D); // the scale-free stand-in for Gemma's pre-norm
    const n = rmsNormRef(lowRankRef(u, w['lr_down']!, w['lr_up']!, D, r), w['gemma_norm_scale']!, D);
    return scale(plus(plus(f, x), plus(u, n)), Math.SQRT1_2);
  }
  let g = x;
  if (v === 'lr' || v === 'rw+lr') g = plus(x, lowRankRef(x, w['lr_down']!, w['lr_up']!, D, r));
  if (isPa(v)) {
    const mode = v === 'rw+lr+pa' ? 'lowrank-per-j' : o.paMode;
    [x, ...prev].forEach((h, j) => {
      const sfx = mode === 'lowrank-per-j' ? `_${j}` : '';
      const hx = mode === 'identity' ? h : lowRankRef(h, w[`pa_down${sfx}`]!, w[`pa_up${sfx}`]!, D, r);
      g = plus(g, scale(hx, w['pa_gamma']![j]!));
    });
  }
  if (!v.startsWith('rw')) return plus(f, g);
  let alpha = Math.SQRT1_2;
  let beta = Math.SQRT1_2;
  if (o.rwNorm === 'softmax') {
    const [l0, l1] = w['rw_logits']! as unknown as [number, number];
    alpha = Math.exp(l0) / (Math.exp(l0) + Math.exp(l1));
    beta = 1 - alpha;
  } else if (o.rwNorm === 'sigmoid-single') {
    alpha = 1 / (1 + Math.exp(-w['rw_theta']![0]!));
    beta = 1 - alpha;
  }
  return plus(scale(f, alpha), scale(g, beta));
}

function assertClose(actual: Vec, expected: Vec, tol = 1e-4, what = ''): void {
  assert.equal(actual.length, expected.length, `${what} length`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    assert.ok(Math.abs(a - e) <= tol * (1 + Math.abs(e)), `${what} [${i}]: ${a} vs ${e}`);
  }
}

const opts = (o: Partial<VariantOptions> = {}): VariantOptions => ({
  rank: 3,
  k: 3,
  rwNorm: 'softmax',
  lrInit: 'xavier',
  paMode: 'lowrank-shared',
  ...o,
});

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

  describe('numerics against hand computation', () => {
    const D = 8;

    it('LR at step 0 (B = 0) equals f + x, dense and NHWC', () => {
      for (const shape of [DENSE, NHWC]) {
        const layer = new LaurelResidual({ variant: 'lr', rank: 4 });
        const [f, x] = inputsFor('lr', shape) as [tf.Tensor, tf.Tensor];
        const y = layer.apply([f, x]) as tf.Tensor;
        assert.ok(data(layer.weights[0]!.read()).some((a) => a !== 0), 'A is not zero');
        assert.ok(data(weightNamed(layer, 'lr_up').read()).every((b) => b === 0), 'B starts at zero');
        assertClose(data(y), plus(data(f), data(x)), 1e-6);
      }
    });

    it('RW with equal logits gives 0.5 f + 0.5 x; sigmoid θ = 0 the same; fixed gives (f + x)/√2', () => {
      const [f, x] = inputsFor('rw', DENSE) as [tf.Tensor, tf.Tensor];
      const half = plus(scale(data(f), 0.5), scale(data(x), 0.5));
      const soft = new LaurelResidual({ variant: 'rw' });
      soft.apply([f, x]);
      soft.setWeights([tf.tensor1d([0.7, 0.7])]);
      assertClose(data(soft.apply([f, x]) as tf.Tensor), half);
      assertClose(data(new LaurelResidual({ variant: 'rw', rwNorm: 'sigmoid-single' }).apply([f, x]) as tf.Tensor), half);
      const fixed = new LaurelResidual({ variant: 'rw', rwNorm: 'fixed' }).apply([f, x]) as tf.Tensor;
      assertClose(data(fixed), scale(plus(data(f), data(x)), Math.SQRT1_2));
      // logits [ln 3, 0]: α = 3/4, β = 1/4.
      soft.setWeights([tf.tensor1d([Math.log(3), 0])]);
      assertClose(data(soft.apply([f, x]) as tf.Tensor), plus(scale(data(f), 0.75), scale(data(x), 0.25)));
    });

    it('PA identity with γ = 1 equals f + x + Σ x_{i-j}, also with a short history', () => {
      const [f, x, p1, p2] = inputsFor('pa', NHWC) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
      const layer = new LaurelResidual({ variant: 'pa', k: 3, paMode: 'identity' });
      const full = layer.apply([f, x, p1, p2]) as tf.Tensor;
      // j = 0 is x_i itself, so x appears twice.
      assertClose(data(full), plus(plus(plus(plus(data(f), data(x)), data(x)), data(p1)), data(p2)));
      const short = layer.apply([f, x, p1]) as tf.Tensor;
      assertClose(data(short), plus(plus(plus(data(f), data(x)), data(x)), data(p1)));
      const none = layer.apply([f, x]) as tf.Tensor;
      assertClose(data(none), plus(plus(data(f), data(x)), data(x)));
      assert.throws(() => layer.apply([f, x, p1, p2, p2]), /takes 2 to 4 inputs .*got 5/);
    });

    it('LR with set weights equals x + x·A·B + f by explicit matrix products', () => {
      const r = 2;
      const a = [1, 0, 0, 1, 1, 1, -1, 0, 0.5, 0.5, 0, 2, 0, 0, 1, -1]; // [8, 2]
      const b = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, -1, 0, 1, 0, -1, 0, 1, 0]; // [2, 8]
      const x = tf.tensor2d([[1, 2, 3, 4, 5, 6, 7, 8]]);
      const f = tf.tensor2d([[0, 0, 0, 0, 1, 1, 1, 1]]);
      const layer = new LaurelResidual({ variant: 'lr', rank: r });
      layer.apply([f, x]);
      setWeights(layer, { lr_down: a, lr_up: b });
      // x·A = [1 + 3 - 4 + 2.5 + 8, 2 + 3 + 2.5 + 12 - 8] = [10.5, 11.5]; (x·A)·B[c] = 10.5·B[0,c] + 11.5·B[1,c].
      const xa = [10.5, 11.5];
      const xab = Array.from({ length: 8 }, (_, c) => xa[0]! * b[c]! + xa[1]! * b[8 + c]!);
      const want = [1, 2, 3, 4, 5, 6, 7, 8].map((xi, c) => xi + xab[c]! + (c >= 4 ? 1 : 0));
      assertClose(data(layer.apply([f, x]) as tf.Tensor), Float32Array.from(want));
    });

    it('Gemma with known weights matches a hand RMSNorm', () => {
      const r = 1;
      const x = tf.tensor2d([[1, -1, 2, 0, 0, 1, 0, 3]]);
      const f = tf.tensor2d([[1, 1, 1, 1, 1, 1, 1, 1]]);
      const layer = new LaurelResidual({ variant: 'gemma', rank: r });
      layer.apply([f, x]);
      const a = [1, 0, 0, 0, 0, 0, 0, 0]; // u·A = u[0]
      const b = [2, 0, 0, 0, 0, 0, 0, -2]; // u·A·B = [2u0, 0, ..., -2u0]; mean square = u0²
      const w = [1, 1, 1, 1, 1, 1, 1, 0.5];
      setWeights(layer, { lr_down: a, lr_up: b, gemma_norm_scale: w });
      const xs = [1, -1, 2, 0, 0, 1, 0, 3];
      const u = xs.map((xi) => xi / Math.sqrt(16 / 8 + 1e-6)); // n = x/rms(x): mean square of x is 16/8
      const inv = 1 / Math.sqrt(u[0]! ** 2 + 1e-6);
      const n = [2 * u[0]! * inv, 0, 0, 0, 0, 0, 0, -2 * u[0]! * inv * 0.5];
      const want = xs.map((xi, c) => (1 + xi + u[c]! + n[c]!) * Math.SQRT1_2);
      assertClose(data(layer.apply([f, x]) as tf.Tensor), Float32Array.from(want), 1e-5);
    });

    it('Gemma starts with a non-zero B and unit norm scale', () => {
      const layer = new LaurelResidual({ variant: 'gemma', rank: 4 });
      layer.build([
        [null, D],
        [null, D],
      ]);
      assert.ok(data(weightNamed(layer, 'lr_up').read()).some((b) => b !== 0));
      assert.ok(data(weightNamed(layer, 'gemma_norm_scale').read()).every((s) => s === 1));
    });

    it('column-orthogonal A is 1/sqrt(r·D) where i mod r == j', () => {
      const layer = new LaurelResidual({ variant: 'lr', rank: 3, lrInit: 'column-orthogonal' });
      layer.build([
        [null, D],
        [null, D],
      ]);
      const a = data(weightNamed(layer, 'lr_down').read());
      for (let i = 0; i < D; i++)
        for (let j = 0; j < 3; j++) assert.equal(a[i * 3 + j], i % 3 === j ? Math.fround(1 / Math.sqrt(24)) : 0, `A[${i},${j}]`);
      assert.throws(() => new ColumnOrthogonal().apply([4]), /expected a 2-D shape/);
    });

    for (const v of VARIANTS)
      for (const shape of [DENSE, NHWC])
        for (const o of v === 'pa' || v === 'rw+pa' ? PA_MODES.map((paMode) => opts({ paMode, rwNorm: 'sigmoid-single' })) : [opts()])
          it(`${v}${isPa(v) ? ` (${v === 'rw+lr+pa' ? 'per-j pairs' : o.paMode})` : ''} with random weights on [${shape}] follows its equation`, () => {
            const layer = new LaurelResidual({ variant: v, ...o });
            const ins = inputsFor(v, shape);
            layer.apply(ins);
            const w = setWeights(layer);
            const want = reference(v, o, w, ins.map(data), shape[shape.length - 1]!);
            assertClose(data(layer.apply(ins) as tf.Tensor), want, 1e-4, v);
          });

    it('honours branch_index / shortcut_index', () => {
      const [f, x, p] = inputsFor('rw+pa', DENSE, 1) as [tf.Tensor, tf.Tensor, tf.Tensor];
      const o = opts({ paMode: 'identity', k: 2 });
      const layer = new LaurelResidual({ variant: 'rw+pa', ...o, branchIndex: 2, shortcutIndex: 0 });
      layer.apply([x, p, f]);
      const w = setWeights(layer);
      assertClose(data(layer.apply([x, p, f]) as tf.Tensor), reference('rw+pa', o, w, [data(f), data(x), data(p)], 8));
    });
  });

  describe('models', () => {
    for (const v of VARIANTS)
      for (const shape of [DENSE, NHWC])
        it(`${v} on [${shape}]: toJSON -> modelFromJSON keeps config and outputs; predict leaks nothing`, async () => {
          const o = opts({ rwNorm: v === 'rw' ? 'sigmoid-single' : 'softmax' });
          const layer = new LaurelResidual({ variant: v, ...o, name: 'laurel_site' });
          const ins = inputsFor(v, shape);
          const model = symbolicModel(layer, shape, ins.length);
          setWeights(layer);
          const json = model.toJSON(null, false) as Parameters<typeof tf.models.modelFromJSON>[0];
          const loaded = await tf.models.modelFromJSON(json);
          const twin = loaded.getLayer('laurel_site');
          assert.ok(twin instanceof LaurelResidual);
          assert.deepEqual(twin.getConfig(), layer.getConfig());
          assert.equal(twin.countParams(), layer.countParams());
          loaded.setWeights(model.getWeights());
          const y0 = model.predict(ins) as tf.Tensor;
          const y1 = loaded.predict(ins) as tf.Tensor;
          assertClose(data(y1), data(y0), 1e-6);
          tf.dispose([y0, y1]);

          const before = tf.memory().numTensors;
          tf.dispose(model.predict(ins) as tf.Tensor);
          assert.equal(tf.memory().numTensors, before, 'tensors leaked by predict');
          tf.dispose(layer.apply(ins) as tf.Tensor);
          assert.equal(tf.memory().numTensors, before, 'tensors leaked by an eager call');
          tf.dispose(ins);
        });

    it('a file config with snake_case keys and a nested laurel object loads', async () => {
      const layer = new LaurelResidual({ variant: 'rw', name: 'site' });
      const model = symbolicModel(layer, DENSE, 2);
      const json = model.toJSON(null, false) as { config: { layers: { class_name: string; config: Record<string, unknown> }[] } };
      const entry = json.config.layers.find((l) => l.class_name === 'LaurelResidual');
      assert.ok(entry);
      assert.equal(entry.config['rw_norm'], 'softmax', 'snake_case on disk');
      entry.config['laurel'] = { variant: 'rw+lr', rank: 2, rw_norm: 'sigmoid-single', lr_init: 'column-orthogonal' };
      const loaded = await tf.models.modelFromJSON(json as unknown as Parameters<typeof tf.models.modelFromJSON>[0]);
      const twin = loaded.getLayer('site') as LaurelResidual;
      assert.deepEqual(
        { ...twin.settings },
        { variant: 'rw+lr', rank: 2, k: 3, rwNorm: 'sigmoid-single', lrInit: 'column-orthogonal', paMode: 'identity', branchIndex: 0, shortcutIndex: 1 },
      );
      assert.equal(twin.countParams(), 2 * 2 * 8 + 1);
    });

    for (const v of VARIANTS.filter((v) => v !== 'plain'))
      it(`${v}: a tiny fit moves every weight and lowers the loss`, async () => {
        const o = opts({ k: 3, rank: 2, paMode: v === 'pa' ? 'lowrank-per-j' : v === 'rw+pa' ? 'lowrank-shared' : 'identity' });
        const layer = new LaurelResidual({ variant: v, ...o });
        const shape = [16, 6];
        const ins = inputsFor(v, shape);
        const model = symbolicModel(layer, shape, ins.length);
        const target = rand(shape, 2);
        model.compile({ optimizer: tf.train.adam(0.05), loss: 'meanSquaredError' });
        const start = layer.weights.map((w) => data(w.read()).slice());
        const hist = await model.fit(ins, target, { epochs: 12, batchSize: 16, verbose: 0, shuffle: false });
        const loss = hist.history['loss'] as number[];
        assert.ok(loss[loss.length - 1]! < loss[0]!, `loss ${loss[0]} -> ${loss[loss.length - 1]}`);
        layer.weights.forEach((w, i) => {
          const moved = data(w.read()).some((val, n) => val !== start[i]![n]);
          assert.ok(moved, `${w.originalName} did not change`);
        });
        for (const w of layer.weights.filter((w) => /(lr|pa)_up/.test(w.originalName)))
          assert.ok(data(w.read()).some((b) => b !== 0), `${w.originalName} is still zero`);
      });

    it('a conv model with two LAuReL sites trains one epoch and reloads from JSON', async () => {
      const input = tf.input({ shape: [4, 4, 6] });
      const conv = (t: tf.SymbolicTensor, name: string): tf.SymbolicTensor =>
        tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', name }).apply(t) as tf.SymbolicTensor;
      const x1 = new LaurelResidual({ variant: 'rw+lr', rank: 2, name: 'site1' }).apply([conv(input, 'conv1'), input]) as tf.SymbolicTensor;
      // The second site looks back at the block input x0 as x_{i-1}.
      const x2 = new LaurelResidual({ variant: 'rw+lr+pa', rank: 2, k: 2, name: 'site2' }).apply([
        conv(x1, 'conv2'),
        x1,
        input,
      ]) as tf.SymbolicTensor;
      const pooled = tf.layers.globalAveragePooling2d({}).apply(x2) as tf.SymbolicTensor;
      const out = tf.layers.dense({ units: 3, activation: 'softmax' }).apply(pooled) as tf.SymbolicTensor;
      const model = tf.model({ inputs: input, outputs: out });
      assert.equal(model.getLayer('site1').countParams(), 2 * 2 * 6 + 2);
      assert.equal(model.getLayer('site2').countParams(), 2 * 2 * 2 * 6 + 2 + 2);
      model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
      const xs = rand([8, 4, 4, 6]);
      const ys = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32'), 3);
      const hist = await model.fit(xs, ys, { epochs: 1, batchSize: 4, verbose: 0 });
      assert.ok(Number.isFinite(hist.history['loss']![0] as number));

      const loaded = await tf.models.modelFromJSON(model.toJSON(null, false) as Parameters<typeof tf.models.modelFromJSON>[0]);
      loaded.setWeights(model.getWeights());
      const y0 = model.predict(xs) as tf.Tensor;
      const y1 = loaded.predict(xs) as tf.Tensor;
      assertClose(data(y1), data(y0), 1e-6);
      assert.deepEqual(loaded.getLayer('site2').getConfig(), model.getLayer('site2').getConfig());
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
