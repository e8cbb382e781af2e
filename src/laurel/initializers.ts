/** Initialisers of the low-rank pairs (laurel-method §2.2, §7). */
import * as tf from '@tensorflow/tfjs';
import type { LrInit } from '../core/laurel/variants';

/** tfjs-layers' Initializer type (its class is not exported by @tensorflow/tfjs). */
export type Initializer = ReturnType<typeof tf.initializers.ones>;

/**
 * The LLM init of the down-projection A [D, r]: A[i, j] = 1/sqrt(r·D) when i mod r == j, else 0. Each input
 * channel feeds exactly one of the r hidden units, so the columns are orthogonal.
 */
export class ColumnOrthogonal extends tf.serialization.Serializable {
  static className = 'LaurelColumnOrthogonal';

  fromConfigUsesCustomObjects(): boolean {
    return false;
  }

  apply(shape: number[], dtype?: tf.DataType): tf.Tensor {
    if (shape.length !== 2) throw new Error(`ColumnOrthogonal: expected a 2-D shape [D, r], got [${shape.join(', ')}]`);
    const [d, r] = shape as [number, number];
    const values = new Float32Array(d * r);
    const v = 1 / Math.sqrt(r * d);
    for (let i = 0; i < d; i++) values[i * r + (i % r)] = v;
    return tf.tensor2d(values, [d, r], dtype ?? 'float32');
  }

  getConfig(): tf.serialization.ConfigDict {
    return {};
  }
}
tf.serialization.registerClass(ColumnOrthogonal);

/** Initialiser of A (D→r): Xavier (glorot-uniform, the ResNet runs) or column-orthogonal (the LLM runs). */
export function downInitializer(init: LrInit): Initializer {
  return init === 'column-orthogonal' ? new ColumnOrthogonal() : tf.initializers.glorotUniform({});
}

/**
 * Initialiser of B (r→D). Zero everywhere (LoRA-style, the block starts as its plain form) except in the
 * Gemma form: there B feeds an RMSNorm, which is scale-invariant, so B = 0 makes the norm divide by √eps
 * (laurel-method §7 caution). Full-scale glorot-uniform is used rather than a scaled-down one: shrinking B
 * would not change the normalised output but would multiply the gradients through the norm by 1/scale.
 */
export function upInitializer(gemma: boolean): Initializer {
  return gemma ? tf.initializers.glorotUniform({}) : tf.initializers.zeros();
}
