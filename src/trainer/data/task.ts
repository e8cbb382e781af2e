// What the model wants from a dataset, and shape wording shared by the messages.
import type { Shape } from '../../core/ir';

/** One input of a model with several: its name, shape (batch first) and, for an Embedding's input, its vocabulary. */
export interface TaskInput {
  name: string;
  shape: Shape;
  tokenIds?: { vocabulary: number; layer: string };
}

/** The model's input and output shapes (batch dim first, null) and, when known, its loss. */
export interface Task {
  inputShape: Shape;
  outputShape: Shape;
  loss?: string;
  /** The input feeds an Embedding: its values are token ids in [0, vocabulary). */
  tokenIds?: { vocabulary: number; layer: string };
  /**
   * The size generated data gives the input's free axes (why, when it is not the default), and the trained
   * output's shape at that size.
   */
  freeSize?: { size: number; why?: string; outputShape?: Shape };
  /** Every input in the model's order, when it has more than one (the first is `inputShape` / `tokenIds`). */
  inputs?: TaskInput[];
  /** The input of `inputs` synthetic targets follow position by position: the one fewest calls from the output. */
  mainInput?: number;
}

/** 'input_1' (None, None, 81), 'input_2' (None, None, 108): a multi-input model's inputs, for messages. */
export const describeInputs = (inputs: readonly TaskInput[]): string => inputs.map((i) => `'${i.name}' ${formatShape(i.shape)}`).join(', ');

/**
 * How targets are laid out for a loss. Without a loss, a last dim above 1 reads as a softmax classifier
 * (one-hot targets) and a last dim of 1 as regression.
 */
export type TargetKind = 'categorical' | 'sparse' | 'binary' | 'regression';

export function targetKind(task: Task): TargetKind {
  const width = task.outputShape[task.outputShape.length - 1];
  // tfjs writes camelCase (categoricalCrossentropy), Keras snake_case (categorical_crossentropy).
  const loss = (task.loss ?? '').toLowerCase().replace(/[_\s-]/g, '');
  if (loss === '') return width !== null && width !== undefined && width > 1 ? 'categorical' : 'regression';
  if (loss.includes('sparse')) return 'sparse';
  if (loss.includes('binary') || loss === 'hinge' || loss === 'squaredhinge') return 'binary';
  if (loss.includes('categorical') || loss === 'kld' || loss.includes('kullbackleibler')) return 'categorical';
  return 'regression';
}

/** Python/Keras style, as users read it in model summaries: (None, 28, 28) and (60000,). */
export function formatShape(shape: readonly (number | null)[]): string {
  const dims = shape.map((d) => (d === null ? 'None' : String(d)));
  return dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
}

export const product = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

/** Same rank and every fixed model dim equal to the data's. */
export function fitsShape(data: readonly number[], model: readonly (number | null)[]): boolean {
  return data.length === model.length && model.every((d, i) => d === null || d === data[i]);
}

export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}
