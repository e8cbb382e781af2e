/**
 * The LAuReL layer for TensorFlow.js: a drop-in replacement for the add-merge `y = f(x) + x`
 * (laurel-method §2, §7). Anatomy follows tfjs-layers (style-anchors §4.9).
 */
import * as tf from '@tensorflow/tfjs';
import { hasLr, hasPa, hasRw, paModeOf } from '../core/laurel/variants';
import type { LrInit, PaMode, RwNorm, Variant } from '../core/laurel/variants';
import { downInitializer, upInitializer } from './initializers';
import { lowRank, rmsNorm, rmsUnit } from './ops';
import { choiceOf, LaurelValueError, resolveSettings, settingsToConfig } from './options';
import type { LaurelSettings } from './options';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Kwargs = Parameters<tf.layers.Layer['call']>[1];

/** The LAuReL settings as a nested `laurel` object holds them (snake_case or camelCase keys). */
export type LaurelNestedSettings = Partial<LaurelSettings> & Record<string, unknown>;

export interface LaurelResidualArgs extends LayerArgs {
  /** Which form replaces the add: 'plain' | 'rw' | 'lr' | 'pa' | 'rw+lr' | 'rw+pa' | 'rw+lr+pa' | 'gemma'. Default 'plain'. */
  variant?: Variant;
  /** Low-rank size r of LR, low-rank PA and the Gemma form (integer >= 1). Default 16. */
  rank?: number;
  /** How many activations PA sums over, j = 0 .. k-1 (integer >= 1). Default 3. */
  k?: number;
  /** RW's α, β: softmax of 2 logits (init 0), 'sigmoid-single' θ (init 0), or 'fixed' 1/√2 each. Default 'softmax'. */
  rwNorm?: RwNorm;
  /** Init of the down-projections A: 'xavier' (glorot-uniform) or 'column-orthogonal'. Default 'xavier'. */
  lrInit?: LrInit;
  /** PA's h for 'pa' and 'rw+pa': identity, one shared rank-r pair, or a pair per look-back. Default 'identity'. */
  paMode?: PaMode;
  /** Position of f(x) in the input list. Default 0. */
  branchIndex?: number;
  /** Position of x_i in the input list. Default 1. */
  shortcutIndex?: number;
  /** The same settings nested, as write-back stores them in a file; per key it wins over the flat fields. */
  laurel?: LaurelNestedSettings;
}

type Shape = (number | null)[];

const isShapeList = (s: Shape | Shape[]): s is Shape[] => Array.isArray(s[0]);
const fmt = (s: Shape): string => `[${s.map((d) => d ?? 'null').join(', ')}]`;

/**
 * `y = f(x) + x` with a learned augmentation on the last axis D (dense [batch, ..., D] and NHWC alike; the
 * low-rank maps mix channels only, like bias-free 1×1 convolutions).
 *
 * Inputs: a list with f(x_i) at `branchIndex` and x_i at `shortcutIndex` (defaults 0 and 1). For the PA
 * variants the remaining inputs, in order, are x_{i-1}, x_{i-2}, ... (at most k-1, same shape as x_i);
 * fewer are accepted when the history is short, and then only the terms that exist are made and summed
 * (§8.3): γ has one entry per term and per-j pairs exist for those j only, as the cost counts them.
 *
 * - plain: f + x. RW: α f + β x. LR: f + x + (x A) B. RW+LR: α f + β (x + x A B).
 * - PA: f + x + Σ_j γ_j h(x_{i-j}); RW+PA: α f + β (x + Σ_j γ_j h(x_{i-j})); h per `paMode`.
 *   RW+LR+PA is Eq. 6: α f + β (x + Σ_j γ_j x_{i-j} A_j B_j), always one pair per j.
 *   γ starts at ones: the BAW2501 port's choice (the paper gives no init); j = 0 is x_i itself, as in Eq. 4.
 * - Weights: A [D, r] per `lrInit`, B [r, D] zeros (so LR and low-rank PA start as their plain form), no
 *   biases; RW logits [2] zeros (α = β = 0.5) or θ [1] zero (α = β = 0.5); `fixed` has no weights.
 * - gemma: Gemma 3n's block (§7). Gemma reads the low-rank map from the pre-norm n = RMSNorm_in(x) that
 *   attention also reads: where the branch starts with its own norm (a pre-norm block) the plan wires that norm's
 *   output in as a third input and it is n; elsewhere (post-norm blocks, conv nets) a scale-free RMS
 *   normalisation of x takes its place: n = x/rms(x). y = (f(x) + x)/√2 + (n + RMSNorm(n A B))/√2,
 *   RMSNorm with learned scale w [D] (init ones, eps 1e-6). Using x itself for n (as before) put x in twice
 *   (coefficient √2 per site) and the residual stream's RMS grew from 0.62 to 15.1 over the prenorm mixer's 8
 *   sites at initialisation. B starts glorot-uniform, not zero (see `upInitializer`). Params 2rD + D.
 *
 * Parameter counts equal `instanceCost` in core/laurel/variants.ts.
 */
export class LaurelResidual extends tf.layers.Layer {
  /** @nocollapse */
  static className = 'LaurelResidual';

  readonly settings: LaurelSettings;
  private rwWeight: tf.LayerVariable | null = null;
  private lrDown: tf.LayerVariable | null = null;
  private lrUp: tf.LayerVariable | null = null;
  private normScale: tf.LayerVariable | null = null;
  private paGamma: tf.LayerVariable | null = null;
  private paDown: tf.LayerVariable[] = [];
  private paUp: tf.LayerVariable[] = [];
  /** PA terms built (x_i and the earlier activations of the first call): 1 .. k. */
  private paTerms = 0;

  constructor(args: LaurelResidualArgs = {}) {
    super(args);
    this.settings = resolveSettings(args as unknown as Record<string, unknown>);
  }

  /** Inputs this variant takes: exactly 2, 2 .. k+1 for PA, 2 or 3 (with the pre-norm n) for the Gemma form. */
  private inputRange(): [number, number] {
    const v = this.settings.variant;
    return hasPa(v) ? [2, this.settings.k + 1] : v === 'gemma' ? [2, 3] : [2, 2];
  }

  /** Validates the input shapes; returns them merged (a known dim fills a null one). */
  private mergeShapes(inputShape: Shape | Shape[]): Shape {
    const { variant, branchIndex: bi, shortcutIndex: si } = this.settings;
    const shapes = isShapeList(inputShape) ? inputShape : [inputShape];
    const [lo, hi] = this.inputRange();
    if (shapes.length < lo || shapes.length > hi) {
      const want =
        lo === hi ? `exactly ${lo} inputs (f(x), x)` : variant === 'gemma' ? '2 or 3 inputs (f(x), x, then the pre-norm n)' : `${lo} to ${hi} inputs (f(x), x, then up to k-1 = ${hi - 2} previous activations)`;
      throw new LaurelValueError(`LaurelResidual '${this.name}' (${variant}) takes ${want}; got ${shapes.length}`);
    }
    if (bi >= shapes.length || si >= shapes.length) {
      throw new LaurelValueError(
        `LaurelResidual '${this.name}': branch_index ${bi} / shortcut_index ${si} out of range for ${shapes.length} inputs`,
      );
    }
    const out = [...(shapes[si] as Shape)];
    shapes.forEach((s, n) => {
      const clash = s.length !== out.length || s.some((d, a) => d !== null && out[a] !== null && d !== out[a]);
      if (clash) {
        throw new LaurelValueError(
          `LaurelResidual '${this.name}': input ${n} has shape ${fmt(s)} but the shortcut x (input ${si}) has ` +
            `${fmt(shapes[si] as Shape)}; all inputs must have the same shape`,
        );
      }
      s.forEach((d, a) => (out[a] = out[a] ?? d));
    });
    return out;
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = this.mergeShapes(inputShape);
    // PA's terms: x_i and each earlier activation given (§8.3); γ_j, A_j, B_j exist only for these.
    this.paTerms = (isShapeList(inputShape) ? inputShape.length : 1) - 1;
    const { variant: v, rank: r, rwNorm, lrInit } = this.settings;
    const d = shape[shape.length - 1];
    const needsD = v === 'gemma' || hasLr(v) || (hasPa(v) && paModeOf(choiceOf(this.settings)) !== 'identity');
    if (needsD && (d === null || d === undefined)) {
      throw new LaurelValueError(`LaurelResidual '${this.name}' (${v}) needs a known last dimension D; got ${fmt(shape)}`);
    }
    const D = d as number;
    const pair = (suffix: string, gemma = false): [tf.LayerVariable, tf.LayerVariable] => [
      this.addWeight(`lr_down${suffix}`, [D, r], 'float32', downInitializer(lrInit)),
      this.addWeight(`lr_up${suffix}`, [r, D], 'float32', upInitializer(gemma)),
    ];
    if (hasRw(v) && rwNorm === 'softmax') this.rwWeight = this.addWeight('rw_logits', [2], 'float32', tf.initializers.zeros());
    if (hasRw(v) && rwNorm === 'sigmoid-single') this.rwWeight = this.addWeight('rw_theta', [1], 'float32', tf.initializers.zeros());
    if (v === 'gemma') {
      [this.lrDown, this.lrUp] = pair('', true);
      this.normScale = this.addWeight('gemma_norm_scale', [D], 'float32', tf.initializers.ones());
    } else if (hasLr(v) && !hasPa(v)) {
      [this.lrDown, this.lrUp] = pair('');
    }
    if (hasPa(v)) {
      this.paGamma = this.addWeight('pa_gamma', [this.paTerms], 'float32', tf.initializers.ones());
      const mode = paModeOf(choiceOf(this.settings));
      const pa = (suffix: string): void => {
        const [down, up] = [
          this.addWeight(`pa_down${suffix}`, [D, r], 'float32', downInitializer(lrInit)),
          this.addWeight(`pa_up${suffix}`, [r, D], 'float32', upInitializer(false)),
        ];
        this.paDown.push(down);
        this.paUp.push(up);
      };
      if (mode === 'lowrank-shared') pa('');
      if (mode === 'lowrank-per-j') for (let j = 0; j < this.paTerms; j++) pa(`_${j}`);
    }
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return this.mergeShapes(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      this.invokeCallHook(inputs, kwargs);
      const list = Array.isArray(inputs) ? inputs : [inputs];
      // build() validated the first call only; an eager call may pass a different history length.
      this.mergeShapes(list.map((t) => t.shape));
      if (hasPa(this.settings.variant) && list.length - 1 > this.paTerms) {
        throw new LaurelValueError(`LaurelResidual '${this.name}' was built for ${this.paTerms - 1} earlier activation(s); got ${list.length - 2}`);
      }
      const { variant: v, branchIndex: bi, shortcutIndex: si } = this.settings;
      const f = list[bi] as tf.Tensor;
      const x = list[si] as tf.Tensor;
      if (v === 'plain') return tf.add(f, x);
      if (v === 'gemma') {
        // n: the branch's own pre-norm output when the site has one (a third input), else the scale-free RMS
        // normalisation of x standing in for it (see the class comment).
        const n = list.length === 3 ? (list.find((_, i) => i !== bi && i !== si) as tf.Tensor) : rmsUnit(x);
        const laurel = tf.add(n, rmsNorm(lowRank(n, this.read(this.lrDown), this.read(this.lrUp)), this.read(this.normScale)));
        return tf.mul(tf.add(tf.add(f, x), laurel), Math.SQRT1_2);
      }
      let g = x;
      if (this.lrDown) g = tf.add(x, lowRank(x, this.read(this.lrDown), this.read(this.lrUp)));
      if (hasPa(v)) {
        const history = [x, ...list.filter((_, n) => n !== bi && n !== si)];
        // Slices, not tf.unstack: unstack's gradient breaks when it has a single output (γ of one term).
        const gammaAll = this.read(this.paGamma);
        const gamma = history.map((_, j) => tf.reshape(tf.slice(gammaAll, [j], [1]), []));
        const shared = this.paDown.length === 1;
        const terms = history.map((h, j) => {
          const pair = shared ? 0 : j;
          const hx = this.paDown.length === 0 ? h : lowRank(h, this.read(this.paDown[pair]), this.read(this.paUp[pair]));
          return tf.mul(gamma[j] as tf.Tensor, hx);
        });
        g = tf.addN([x, ...terms]);
      }
      if (!hasRw(v)) return tf.add(f, g);
      const [alpha, beta] = this.rwCoefficients();
      return tf.add(tf.mul(alpha, f), tf.mul(beta, g));
    });
  }

  /** (α, β) as scalars, per `rwNorm`. */
  private rwCoefficients(): [tf.Tensor, tf.Tensor] {
    const norm = this.settings.rwNorm;
    if (norm === 'fixed') return [tf.scalar(Math.SQRT1_2), tf.scalar(Math.SQRT1_2)];
    const w = this.read(this.rwWeight);
    if (norm === 'softmax') {
      const [a, b] = tf.unstack(tf.softmax(w));
      return [a as tf.Tensor, b as tf.Tensor];
    }
    const a = tf.sigmoid(tf.reshape(w, []));
    return [a, tf.sub(1, a)];
  }

  private read(v: tf.LayerVariable | null | undefined): tf.Tensor {
    if (!v) throw new Error(`LaurelResidual '${this.name}': a weight was read before build()`);
    return v.read();
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ...settingsToConfig(this.settings) };
  }
}
tf.serialization.registerClass(LaurelResidual);

/**
 * Makes sure `LaurelResidual` is known to tfjs deserialisation (modelFromJSON, loadLayersModel). Importing
 * this module already registers it; calling this keeps the import from being dropped and re-registers the
 * class if another copy took its name. Safe to call any number of times.
 */
export function registerLaurelLayers(): void {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[LaurelResidual.className];
  if (!entry || entry[0] !== LaurelResidual) tf.serialization.registerClass(LaurelResidual);
}
