/**
 * The optimiser options both engines apply the same way (the PyTorch harness mirrors these rules in
 * `python/laurel_train_optim.py`: `lr_at`, `decay_kind`): the learning-rate schedule, AdamW's decoupled weight decay
 * and which weights it leaves alone, and clipping by the global gradient norm. Pure: no tfjs, no Node.
 */
import type { TrainConfig } from '../protocol/runRecords';

/** Weights AdamW does not decay by default: biases, normalisation scales and offsets, and LAuReL's scalars. */
export const NO_DECAY_KINDS = ['bias', 'norm', 'laurel'] as const;
export type NoDecayKind = (typeof NO_DECAY_KINDS)[number];
/** torch.optim.AdamW's default. */
export const DEFAULT_WEIGHT_DECAY = 0.01;
/** LaurelResidual's scalar weights: RW's logits (softmax) or θ (sigmoid-single), PA's γ. */
export const LAUREL_SCALARS = new Set(['rw_logits', 'rw_theta', 'pa_gamma']);

/**
 * What a trainable weight is for decay: 'bias' (a weight named bias), 'norm' (any weight of a normalisation layer:
 * BatchNorm/LayerNorm/GroupNorm/RMSNorm scales and offsets, and the Gemma form's norm scale), 'laurel' (a LAuReL
 * scalar), or null (decayed: kernels, embeddings, LAuReL's low-rank A and B).
 */
export function decayKind(layerClass: string, weight: string): NoDecayKind | null {
  if (/Norm/i.test(layerClass) || weight === 'gemma_norm_scale') return 'norm';
  if (weight === 'bias' || weight.endsWith('_bias')) return 'bias';
  if (LAUREL_SCALARS.has(weight)) return 'laurel';
  return null;
}

/** Whether a weight is decayed under the run's settings. */
export function isDecayed(config: TrainConfig, layerClass: string, weight: string): boolean {
  if (config.optimizer !== 'adamw') return false;
  const kind = decayKind(layerClass, weight);
  return kind === null || !(config.noDecay ?? NO_DECAY_KINDS).includes(kind);
}

/** The optimizer steps a run takes: its step budget, or every batch of every epoch. */
export function totalSteps(config: TrainConfig, trainSamples: number): number {
  const all = config.epochs * Math.ceil(trainSamples / config.batchSize);
  return config.maxSteps !== undefined ? Math.min(config.maxSteps, all) : all;
}

/**
 * The learning rate of optimizer step `step` (0-based) of `total`. 'constant': the configured rate. 'cosine':
 * linear warm-up over the first W steps (lr·(s+1)/W, so the first step already moves), then half a cosine from lr
 * down to 0 over the remaining steps: lr·½(1 + cos(π·(s − W)/(total − W))).
 */
export function lrAt(config: TrainConfig, step: number, total: number): number {
  const lr = config.learningRate;
  if ((config.lrSchedule ?? 'constant') === 'constant') return lr;
  const w = Math.min(config.warmupSteps ?? 0, total);
  if (step < w) return (lr * (step + 1)) / w;
  const span = Math.max(1, total - w);
  return lr * 0.5 * (1 + Math.cos((Math.PI * Math.min(step - w, span)) / span));
}

/** Checks the options; throws with the field named. */
export function validateOptimizerOptions(c: TrainConfig): void {
  if (c.lrSchedule !== undefined && c.lrSchedule !== 'constant' && c.lrSchedule !== 'cosine') throw new Error(`lrSchedule must be constant or cosine, got ${String(c.lrSchedule)}`);
  if (c.warmupSteps !== undefined && !(Number.isInteger(c.warmupSteps) && c.warmupSteps >= 0)) throw new Error(`warmupSteps must be a non-negative integer, got ${String(c.warmupSteps)}`);
  if (c.weightDecay !== undefined && !(c.weightDecay >= 0 && Number.isFinite(c.weightDecay))) throw new Error(`weightDecay must be a non-negative number, got ${String(c.weightDecay)}`);
  if (c.weightDecay !== undefined && c.optimizer !== 'adamw') throw new Error(`weightDecay is AdamW's (optimizer adamw), not ${c.optimizer}'s`);
  if (c.clipNorm !== undefined && !(c.clipNorm > 0 && Number.isFinite(c.clipNorm))) throw new Error(`clipNorm must be a positive number, got ${String(c.clipNorm)}`);
  for (const k of c.noDecay ?? []) if (!(NO_DECAY_KINDS as readonly string[]).includes(k)) throw new Error(`noDecay takes ${NO_DECAY_KINDS.join(', ')}, got ${String(k)}`);
}

/** In words, for logs and reports: 'adamw lr 0.001 (cosine, 100 warm-up steps), weight decay 0.01 (not bias, norm, laurel), clip 1'. */
export function optimizerText(c: TrainConfig): string {
  const parts = [`${c.optimizer} lr ${c.learningRate}${c.lrSchedule === 'cosine' ? ` (cosine to 0${c.warmupSteps ? `, ${c.warmupSteps} warm-up steps` : ''})` : ''}`];
  if (c.optimizer === 'adamw') {
    const skip = c.noDecay ?? NO_DECAY_KINDS;
    parts.push(`weight decay ${c.weightDecay ?? DEFAULT_WEIGHT_DECAY}${skip.length ? ` (not on ${skip.join(', ')})` : ' (on every weight)'}`);
  }
  if (c.clipNorm !== undefined) parts.push(`gradients clipped to global norm ${c.clipNorm}`);
  return parts.join(', ');
}
