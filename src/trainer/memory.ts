import * as tf from '@tensorflow/tfjs';
import { freemem } from 'node:os';
import type { EngineChoice, MemoryFigures } from '../protocol/runRecords';
import type { BackendChoice } from '../protocol/backends';
import type { MemoryLimit } from './memoryEstimate';

/**
 * tfjs-backend-wasm's heap stops at 4 GiB; a quarter of it goes to fragmentation and kernel scratch space
 * (measured: 2.5 GiB of tensors trained MobileNetV2, 3.4 GiB aborted Xception at batch 2).
 */
export const WASM_TENSOR_BYTES = 3 * 2 ** 30;

/** What a run on this engine and backend can use: the wasm heap, else the machine's available memory. */
export function memoryLimit(engine: EngineChoice, backend: BackendChoice, available = freemem()): MemoryLimit | undefined {
  if (engine.name === 'tfjs' && backend.name === 'wasm') return { bytes: WASM_TENSOR_BYTES, what: "WebAssembly's 4 GiB heap (3 GiB for tensors)" };
  // A GPU's memory is not probed yet: its runs are not refused up front.
  if ((engine.name === 'tfjs' && backend.name === 'tensorflow-gpu') || engine.device === 'cuda') return undefined;
  return { bytes: available, what: "the machine's available memory" };
}

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
