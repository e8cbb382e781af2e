import * as tf from '@tensorflow/tfjs';
import type { MemoryFigures } from '../protocol/runRecords';

/**
 * The highest tensor memory (tf.memory().numBytes) reached, including the transient peak inside a
 * training step that sampling at batch ends would miss. The engine keeps the running total in
 * `engine.state.numBytes`; an accessor on that field sees every change at the cost of one comparison.
 * (tf.profile would also report a peak but records every kernel call, which grows without bound over a run.)
 */
export function trackPeakMemory(): { peakBytes(): number; figures(): MemoryFigures; dispose(): void } {
  const state = tf.engine().state as unknown as { numBytes: number };
  let value = state.numBytes;
  let peak = value;
  Object.defineProperty(state, 'numBytes', {
    configurable: true,
    enumerable: true,
    get: () => value,
    set: (v: number) => {
      value = v;
      if (v > peak) peak = v;
    },
  });
  let disposed = false;
  return {
    peakBytes: () => peak,
    figures: () => {
      const m = tf.memory();
      return { numBytes: m.numBytes, numTensors: m.numTensors, peakBytes: peak };
    },
    dispose: () => {
      if (disposed) return;
      disposed = true;
      delete (state as { numBytes?: number }).numBytes;
      state.numBytes = value;
    },
  };
}
