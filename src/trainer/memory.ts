import * as tf from '@tensorflow/tfjs';
import { freemem } from 'node:os';
import type { EngineChoice, MemoryFigures } from '../protocol/runRecords';
import type { BackendChoice } from '../protocol/backends';
import type { CudaMemory } from './gpuMemory';
import type { MemoryLimit } from './memoryEstimate';

/**
 * tfjs-backend-wasm's heap stops at 4 GiB; a quarter of it goes to fragmentation and kernel scratch space
 * (measured: 2.5 GiB of tensors trained MobileNetV2, 3.4 GiB aborted Xception at batch 2).
 */
export const WASM_TENSOR_BYTES = 3 * 2 ** 30;

/**
 * What a run on this engine and backend can use: the wasm heap; on CUDA the free memory of the GPUs it uses
 * (`gpu`, read by probeCudaMemory; with --nproc N each process has GPU 0..N-1, so the least free of those);
 * else the machine's available memory. Undefined where nothing is known (tfjs-node-gpu, a CUDA run whose GPU
 * memory could not be read): such a run is not refused up front.
 */
export function memoryLimit(engine: EngineChoice, backend: BackendChoice, available = freemem(), gpu?: CudaMemory, processes = 1): MemoryLimit | undefined {
  if (engine.name === 'tfjs' && backend.name === 'wasm') return { bytes: WASM_TENSOR_BYTES, what: "WebAssembly's 4 GiB heap (3 GiB for tensors)" };
  if (engine.name === 'tfjs' && backend.name === 'tensorflow-gpu') return undefined;
  if (engine.device === 'cuda') {
    if (!gpu?.cuda) return undefined;
    const used = gpu.devices.slice(0, Math.max(1, processes));
    const least = used.reduce((a, d) => (d.freeBytes < a.freeBytes ? d : a));
    const which = used.length === 1 ? `GPU ${least.index} (${least.name})` : `the least free of GPUs ${used[0]!.index}-${used[used.length - 1]!.index}, GPU ${least.index} (${least.name})`;
    return { bytes: least.freeBytes, what: `the free memory of ${which}` };
  }
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
