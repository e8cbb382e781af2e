/**
 * The TF.js engine's held-out test: a copy of the weights (BatchNorm statistics included) of the epoch with the
 * best validation figure, evaluated once on the test set after training. The model keeps its final weights
 * (those are saved). The PyTorch harness does the same (`laurel_train_steps.py`, BestCheckpoint).
 */
import * as tf from '@tensorflow/tfjs';
import type { TestResult } from '../protocol/runRecords';
import { xOf } from './data/inputs';
import type { TestData } from './data/loadDataset';

/** Accuracy for a classifier (higher is better), else loss (lower); the earliest of equal figures stays. */
export type CheckpointMetric = 'valAcc' | 'valLoss';

export class BestCheckpoint {
  private weights: tf.Tensor[] | null = null;
  epoch = 0;
  value: number | null = null;

  constructor(readonly by: CheckpointMetric) {}

  /** Keeps the model's weights when this epoch's figure beats the best so far. */
  offer(model: tf.LayersModel, epoch: number, figures: { valAcc?: number; valLoss?: number }): void {
    const v = figures[this.by];
    if (v === undefined || !Number.isFinite(v)) return;
    if (this.value !== null && !(this.by === 'valAcc' ? v > this.value : v < this.value)) return;
    tf.dispose(this.weights ?? []);
    this.weights = model.getWeights().map((w) => w.clone());
    this.epoch = epoch;
    this.value = v;
  }

  /**
   * Evaluates the kept weights (or, with none kept, the model's own) on the test set with its `labels` (as the
   * model's loss takes them); the model's weights are put back.
   */
  async test(model: tf.LayersModel, t: TestData, labels: tf.Tensor, batchSize: number, lastEpoch: number): Promise<TestResult> {
    const own = this.weights ? model.getWeights().map((w) => w.clone()) : null;
    try {
      if (this.weights) model.setWeights(this.weights);
      const out = model.evaluate(xOf(t), labels, { batchSize });
      const scalars = Array.isArray(out) ? out : [out];
      const values = await Promise.all(scalars.map(async (s) => (await s.data())[0]));
      tf.dispose(scalars);
      return {
        name: t.name,
        samples: t.samples,
        loss: values[0] ?? null,
        acc: values[1] ?? null,
        epoch: this.weights ? this.epoch : lastEpoch,
        by: this.weights ? this.by : 'final',
      };
    } finally {
      if (own) {
        model.setWeights(own);
        tf.dispose(own);
      }
    }
  }

  dispose(): void {
    tf.dispose(this.weights ?? []);
    this.weights = null;
  }
}
