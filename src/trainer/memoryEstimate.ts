/**
 * Memory a training step needs, known before it starts: weights, their gradients and the optimizer's
 * slots, the data set, and the activations a step keeps per example times the batch. Activations are the
 * output elements of every call the analysis shaped, each weighted by how many tensors of that size the
 * engine holds at the peak of a step (forward outputs kept for the backward pass, their gradients,
 * kernel temporaries). A run that cannot fit the engine is refused with the figure and the way out.
 * Pure: no tfjs, no process state (the limits are passed in), so the CLI and tests call it directly.
 */
import type { GraphAnalysis } from '../core/analysis/analyze';
import type { EngineName, OptimizerName } from '../protocol/runRecords';
import { formatBytes } from './data/task';

/**
 * TF.js: output-sized tensors a layer call creates in a training step (forward outputs, gradients,
 * temporaries), measured on the cpu and wasm backends as the marginal peak of one more layer in a chain
 * (additive: a MobileNetV2 block measured as the sum of its layers); 3 for classes not measured. A fused
 * non-linear activation adds TFJS_ACTIVATION_TENSORS.
 */
const TFJS_TENSORS: Readonly<Record<string, number>> = {
  Conv1D: 3,
  Conv2D: 3,
  Conv3D: 3,
  Conv2DTranspose: 4,
  SeparableConv1D: 4,
  SeparableConv2D: 4,
  DepthwiseConv2D: 2,
  BatchNormalization: 15,
  LayerNormalization: 28,
  Activation: 2,
  ReLU: 4,
  MaxPooling2D: 3,
  AveragePooling2D: 3,
  Dropout: 5,
  Dense: 10,
  InputLayer: 0,
};
const TFJS_DEFAULT = 3;
const TFJS_ACTIVATION_TENSORS = 3;
/**
 * In whole models fewer of them are alive at once: the per-example peak measured on wasm was 0.63x the
 * sum for MobileNetV2 (359 MiB/example) and 0.58x for Xception (980 MiB).
 */
const TFJS_ALIVE = 0.6;
/**
 * Floats per weight at the peak: weights, gradients and, for Adam, tfjs' update, which computes every
 * variable's new moments in one tidy (measured on ResNet-18: 4.4 with SGD, 17.2 with Adam). RMSprop
 * is taken as Adam, AdamW too (Adam's update plus an in-place decay).
 */
const TFJS_WEIGHT_FLOATS: Readonly<Record<OptimizerName, number>> = { sgd: 4.5, adam: 17.5, adamw: 17.5, rmsprop: 17.5 };
/** PyTorch's autograd keeps about one tensor per op for the backward pass, plus the gradient in flight. */
const TORCH_TENSORS: Readonly<Record<string, number>> = { BatchNormalization: 3, LayerNormalization: 3, InputLayer: 0 };
const TORCH_DEFAULT = 2;
/** PyTorch: weights, gradients and the optimizer's slots (Adam two moments, RMSprop one square average). */
const TORCH_WEIGHT_FLOATS: Readonly<Record<OptimizerName, number>> = { sgd: 2, adam: 4, adamw: 4, rmsprop: 3 };
const FLOAT = 4;

export interface MemoryEstimate {
  engine: EngineName;
  batch: number;
  /** Weights, their gradients and the optimizer's slots. */
  weightBytes: number;
  /** The data set's tensors (the TF.js engine holds them in the same memory). */
  dataBytes: number;
  activationBytesPerExample: number;
  totalBytes: number;
  /** Calls whose shape the analysis could not infer: their activations are not counted. */
  uncounted: number;
}

export interface MemoryLimit {
  bytes: number;
  /** What the limit is, for the message: "WebAssembly's 4 GiB heap". */
  what: string;
}

const product = (dims: readonly (number | null)[]): number | null => (dims.some((d) => d === null) ? null : dims.reduce<number>((a, b) => a * (b as number), 1));

function fusedActivation(config: Record<string, unknown>): boolean {
  const a = config['activation'];
  return typeof a === 'string' && a !== 'linear' && a !== null;
}

/** Activation elements a training step holds per example, weighted per engine, nested models included. */
export function activationElements(a: GraphAnalysis, engine: EngineName): { elements: number; uncounted: number } {
  const { elements, uncounted } = created(a, engine);
  return { elements: engine === 'tfjs' ? elements * TFJS_ALIVE : elements, uncounted };
}

/** Output elements times the tensors of that size each call creates. */
function created(a: GraphAnalysis, engine: EngineName): { elements: number; uncounted: number } {
  let elements = 0;
  let uncounted = 0;
  const layers = new Map(a.graph.layers.map((l) => [l.name, l]));
  for (const node of a.graph.nodes) {
    const layer = layers.get(node.layer)!;
    const sub = a.nested.get(layer.name);
    if (sub) {
      const inner = created(sub, engine);
      elements += inner.elements;
      uncounted += inner.uncounted;
      continue;
    }
    const shapes = a.shapes.get(node.id);
    const size = shapes ? shapes.reduce<number | null>((s, sh) => (s === null ? null : ((n) => (n === null ? null : s + n))(product(sh.slice(1)))), 0) : null;
    if (size === null) {
      if (layer.className !== 'InputLayer') uncounted++;
      continue;
    }
    const own = (t: Readonly<Record<string, number>>): number | undefined => (Object.prototype.hasOwnProperty.call(t, layer.className) ? t[layer.className] : undefined);
    const tensors =
      engine === 'tfjs'
        ? (own(TFJS_TENSORS) ?? TFJS_DEFAULT) + (fusedActivation(layer.config) && layer.className !== 'Activation' ? TFJS_ACTIVATION_TENSORS : 0)
        : (own(TORCH_TENSORS) ?? TORCH_DEFAULT);
    elements += tensors * size;
  }
  return { elements, uncounted };
}

export interface EstimateInput {
  analysis: GraphAnalysis;
  /** Total parameters of the model as trained (plan and training head included). */
  params: number;
  engine: EngineName;
  batch: number;
  optimizer: OptimizerName;
  dataBytes?: number;
  /** Activation elements per example the core prices outside the analysis (a plan's LAuReL layers). */
  extraElements?: number;
}

export function estimateTrainingMemory(i: EstimateInput): MemoryEstimate {
  const counted = activationElements(i.analysis, i.engine);
  const elements = counted.elements + (i.extraElements ?? 0) * (i.engine === 'tfjs' ? TFJS_DEFAULT * TFJS_ALIVE : TORCH_DEFAULT);
  const uncounted = counted.uncounted;
  const weightBytes = FLOAT * i.params * (i.engine === 'tfjs' ? TFJS_WEIGHT_FLOATS : TORCH_WEIGHT_FLOATS)[i.optimizer];
  const activationBytesPerExample = Math.round(FLOAT * elements);
  const dataBytes = i.engine === 'tfjs' ? (i.dataBytes ?? 0) : 0;
  return { engine: i.engine, batch: i.batch, weightBytes, dataBytes, activationBytesPerExample, totalBytes: weightBytes + dataBytes + activationBytesPerExample * i.batch, uncounted };
}

/** One line for the run log. */
export function describeEstimate(e: MemoryEstimate, limit?: MemoryLimit): string {
  const parts = [`weights + gradients + optimizer ${formatBytes(e.weightBytes)}`];
  if (e.dataBytes) parts.push(`data ${formatBytes(e.dataBytes)}`);
  parts.push(`activations ${formatBytes(e.activationBytesPerExample)}/example × batch ${e.batch}`);
  const of = limit ? ` of ${limit.what}` : '';
  const note = e.uncounted ? ` (${e.uncounted} call(s) of unknown shape not counted)` : '';
  return `memory estimate ${formatBytes(e.totalBytes)}${of}: ${parts.join(', ')}${note}`;
}

/** The largest batch that fits the limit, 0 when not even one example does. */
export function largestBatch(e: MemoryEstimate, limit: MemoryLimit): number {
  const room = limit.bytes - e.weightBytes - e.dataBytes;
  return e.activationBytesPerExample > 0 ? Math.max(0, Math.floor(room / e.activationBytesPerExample)) : e.batch;
}

export class MemoryRefusal extends Error {
  override readonly name = 'MemoryRefusal';
}

/**
 * Throws MemoryRefusal when the estimate exceeds the limit: the figure, the limit, and what would fit
 * (a batch that fits, the PyTorch engine where TF.js's WebAssembly heap is the limit, a GPU).
 */
export function checkMemory(e: MemoryEstimate, limit: MemoryLimit, wasm: boolean): void {
  if (e.totalBytes <= limit.bytes) return;
  const ways: string[] = [];
  const batch = largestBatch(e, limit);
  if (batch >= 1 && batch < e.batch) ways.push(`--batch-size ${batch} (or less)`);
  if (e.engine === 'tfjs' && wasm) ways.push('--engine pytorch (the machine\'s memory, not a 4 GiB heap)');
  ways.push('a GPU with more memory');
  throw new MemoryRefusal(`not started: ${describeEstimate(e)}; that is more than ${limit.what} allows (${formatBytes(limit.bytes)}). Ways out: ${ways.join('; ')}`);
}

/** Weights, gradients and optimizer slots on the PyTorch engine (a .py source's estimate, pySourceMemory.ts, starts from it). */
export const torchWeightBytes = (params: number, optimizer: OptimizerName): number => FLOAT * params * TORCH_WEIGHT_FLOATS[optimizer];
