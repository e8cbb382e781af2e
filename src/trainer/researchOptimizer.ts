/**
 * The TF.js engine's optimiser with the research options of trainer/optimizerOptions.ts, wrapped around tfjs's own
 * Adam / SGD / RMSProp: before each step the schedule's learning rate is set, the gradients are clipped to the
 * global norm (torch's clip_grad_norm_: scale max/(norm + 1e-6) when below 1), and AdamW's decoupled weight decay
 * multiplies the decayed weights by 1 − lr·wd before the Adam step, as torch.optim.AdamW does.
 */
import * as tf from '@tensorflow/tfjs';
import type { TrainConfig } from '../protocol/runRecords';
import { DEFAULT_WEIGHT_DECAY, isDecayed, lrAt } from './optimizerOptions';

type NamedTensor = { name: string; tensor: tf.Tensor };
type Inner = tf.Optimizer & { learningRate: number; setLearningRate?: (lr: number) => void };

function innerOptimizer(c: TrainConfig): Inner {
  switch (c.optimizer) {
    case 'adam':
    case 'adamw':
      return tf.train.adam(c.learningRate) as unknown as Inner;
    case 'sgd':
      return tf.train.sgd(c.learningRate) as unknown as Inner;
    case 'rmsprop':
      return tf.train.rmsprop(c.learningRate) as unknown as Inner;
    default:
      throw new Error(`unknown optimizer '${String(c.optimizer)}'; expected adam, adamw, sgd or rmsprop`);
  }
}

export class ResearchOptimizer extends tf.Optimizer {
  static className = 'LaurelResearchOptimizer';
  private readonly inner: Inner;
  private step = 0;
  /** The learning rate of the last step, and the global gradient norm before clipping (with clipping on). */
  lastLr: number;
  lastNorm: number | null = null;

  /** `total`: the steps the run takes (the schedule's length); `decayed`: variable names AdamW decays. */
  constructor(
    private readonly config: TrainConfig,
    private readonly total: number,
    private readonly decayed: ReadonlySet<string> = new Set(),
  ) {
    super();
    this.inner = innerOptimizer(config);
    this.lastLr = config.learningRate;
  }

  override applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const lr = lrAt(this.config, this.step++, this.total);
    this.lastLr = lr;
    if (this.inner.setLearningRate) this.inner.setLearningRate(lr);
    else this.inner.learningRate = lr;
    const named: NamedTensor[] = Array.isArray(variableGradients) ? variableGradients : Object.entries(variableGradients).map(([name, tensor]) => ({ name, tensor }));
    const clip = this.config.clipNorm;
    let grads = named;
    if (clip !== undefined) {
      const present = named.filter((g) => g.tensor);
      const norm = tf.tidy(() => tf.sqrt(tf.addN(present.map((g) => tf.sum(tf.square(g.tensor))))));
      this.lastNorm = norm.dataSync()[0]!;
      norm.dispose();
      const scale = Math.min(1, clip / (this.lastNorm + 1e-6));
      if (scale < 1) grads = named.map((g) => ({ name: g.name, tensor: g.tensor && tf.mul(g.tensor, scale) }));
    }
    const wd = this.config.optimizer === 'adamw' ? (this.config.weightDecay ?? DEFAULT_WEIGHT_DECAY) : 0;
    if (wd > 0) {
      tf.tidy(() => {
        for (const g of named) {
          if (!this.decayed.has(g.name)) continue;
          const v = tf.engine().registeredVariables[g.name]!;
          v.assign(tf.mul(v, 1 - lr * wd));
        }
      });
    }
    try {
      this.inner.applyGradients(grads);
    } finally {
      if (grads !== named) tf.dispose(grads.map((g) => g.tensor));
    }
    this.incrementIterations();
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...this.inner.getConfig() };
  }

  override dispose(): void {
    this.inner.dispose();
    super.dispose();
  }
}

/** The names of the model's variables AdamW decays under the run's settings (trainer/optimizerOptions.ts's rule). */
export function decayedVariables(model: tf.LayersModel, config: TrainConfig): Set<string> {
  const out = new Set<string>();
  for (const layer of model.layers) {
    for (const w of layer.trainableWeights) {
      const short = w.originalName.split('/').pop() ?? w.originalName;
      if (isDecayed(config, layer.getClassName(), short)) out.add(w.name);
    }
  }
  return out;
}
