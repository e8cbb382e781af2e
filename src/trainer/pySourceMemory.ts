/**
 * The memory a training step of a PyTorch source needs, from its traced forward pass (no model is built):
 * weights × (weight, gradient, optimizer slots) + the data the engine loads + batch × the activations one
 * example leaves for the backward pass. Autograd keeps about one tensor per op that computes a new tensor;
 * views (transpose, view, split, ...) share their input's storage. Measured with torch 1.13 on the CPU as
 * the peak RSS difference of Adam steps at batch 40 and 8, per example: ResNet18 on 32×32 8.14 MB against
 * 8.14 MB counted (1.00), nanoGPT (4 layers, 128 wide, T=128) 11.04 MB against 11.08 MB (1.00), so the
 * factor is 1. Pure.
 */
import type { PyTrace } from '../core/pysource/pyTrace';
import type { OptimizerName } from '../protocol/runRecords';
import { torchWeightBytes } from './memoryEstimate';
import type { MemoryEstimate } from './memoryEstimate';

/** Ops whose output shares its input's storage: nothing new is kept. */
const VIEWS = new Set(['view', 'view_as', 'reshape', 'transpose', 't', 'permute', '__getitem__', 'split', 'chunk', 'unbind', 'expand', 'expand_as', 'unsqueeze', 'squeeze', 'flatten', 'narrow', 'contiguous', 'detach', 'movedim']);

/** Elements one example adds to a step, from the trace's ops of the traced batch (shape[0] = the input's). */
export function tracedActivationElements(t: PyTrace): { elements: number; uncounted: number } {
  const input = t.nodes.find((n) => n.kind === 'input');
  const batch = input?.shape?.[0];
  let elements = 0;
  let uncounted = 0;
  if (!batch) return { elements, uncounted: t.nodes.length };
  for (const n of t.nodes) {
    if (n.kind !== 'op' || VIEWS.has(n.op)) continue;
    if (!n.shape) {
      uncounted++;
      continue;
    }
    // Per example only: a buffer slice or an arange of positions does not grow with the batch.
    if (n.shape[0] !== batch) continue;
    elements += n.shape.reduce((a, b) => a * b, 1) / batch;
  }
  return { elements, uncounted };
}

export function estimatePySourceMemory(t: PyTrace, params: number, extraElements: number, batch: number, optimizer: OptimizerName, dataBytes: number): MemoryEstimate {
  const { elements, uncounted } = tracedActivationElements(t);
  const weightBytes = torchWeightBytes(params, optimizer);
  // LAuReL layers the plan adds (not in the trace of the file as it is): the core's activations, a tensor each.
  const activationBytesPerExample = Math.round(4 * (elements + extraElements));
  return { engine: 'pytorch', batch, weightBytes, dataBytes, activationBytesPerExample, totalBytes: weightBytes + dataBytes + activationBytesPerExample * batch, uncounted };
}
