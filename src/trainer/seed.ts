/**
 * Deterministic runs without a seed in every initializer config: tfjs draws `Math.random()` for any
 * random op given no seed (initializers, dropout) and for the shuffle in `model.fit`.
 *
 * - `Math.random` is replaced, for the scope, by a stream seeded from the run's seed: same data order and
 *   dropout masks for every run of a comparison.
 * - Each weight gets its own stream, seeded from (seed, layer name, weight name), by wrapping
 *   `Layer.prototype.addWeight`. So a variant that adds LAuReL weights in the middle of the model does not
 *   shift the draws of the layers after it: the layers both models share start from the same values.
 *   Initializers with an explicit seed in the file keep it (tfjs ignores Math.random then).
 */
import * as tf from '@tensorflow/tfjs';
import { mulberry32 } from '../core/random';


/**
 * A 32-bit seed per (run seed, layer, weight): FNV-1a over the seed's decimal text and the parts, then
 * murmur3's finaliser so that neighbouring inputs give unrelated streams. The seed enters only as text: an
 * earlier version also XORed it into the FNV basis, which cancelled the first digit's own XOR and made
 * seeds 0..9 one seed.
 */
export function hashSeed(seed: number, ...parts: string[]): number {
  if (!Number.isSafeInteger(seed)) throw new Error(`seed must be an integer, got ${String(seed)}`);
  let h = 0x811c9dc5;
  for (const ch of `${seed}\u0000${parts.join('\u0000')}`) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

type AddWeight = (this: tf.layers.Layer, name: string, ...rest: unknown[]) => tf.LayerVariable;

let active = false;

/** Seeds tfjs until `restore()`; one scope at a time (it patches globals). */
export function seedScope(seed: number): { restore(): void } {
  if (active) throw new Error('seedScope: a seeded scope is already active');
  active = true;
  const proto = tf.layers.Layer.prototype as unknown as { addWeight: AddWeight };
  const originalAddWeight = proto.addWeight;
  const originalRandom = Math.random;
  Math.random = mulberry32(hashSeed(seed, 'global'));
  proto.addWeight = function (this: tf.layers.Layer, name: string, ...rest: unknown[]): tf.LayerVariable {
    const outer = Math.random;
    Math.random = mulberry32(hashSeed(seed, this.name, name));
    try {
      return originalAddWeight.call(this, name, ...rest);
    } finally {
      Math.random = outer;
    }
  };
  let restored = false;
  return {
    restore(): void {
      if (restored) return;
      restored = true;
      proto.addWeight = originalAddWeight;
      Math.random = originalRandom;
      active = false;
    },
  };
}
