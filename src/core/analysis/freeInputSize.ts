// A model whose input declares free axes (batch_input_shape [null, null, null, 3]) still has a smallest
// input it accepts: 'valid' convolutions and pools shrink each axis, and below some size an axis reaches
// zero (Inception v3 needs 75×75). Synthetic data for such a model must be generated at a size it accepts,
// so the size is found here with the analysis itself: the input is fixed at a candidate size and the
// shapes are inferred through the whole graph; a size is accepted when that raises no new shape problem.
// Sizes are tried upwards (not bisected): a model that concatenates a skip with an upsampled path accepts
// only multiples of its total stride, so acceptance is not monotonic in the size.
import type { ModelDocument, ModelGraph, Shape } from '../ir';
import { analyze } from './analyze';
import type { GraphAnalysis } from './analyze';

/** Sizes above this are not tried (an input of 1024² per axis is far beyond any synthetic default). */
export const MAX_FREE_SIZE = 1024;

export interface FreeInputSize {
  /** The size every free axis gets. */
  size: number;
  /** Axes (1-based, batch excluded as in Keras's messages) that are free in the file. */
  axes: number[];
  /** True when `preferred` was not accepted and a larger (or smaller) size was searched for. */
  searched: boolean;
  /** The analysis with the input fixed at `size` (concrete shapes for the memory estimate). */
  analysis: GraphAnalysis;
}

const INPUT_SHAPE_KEYS = ['batch_input_shape', 'batch_shape', 'input_shape', 'shape'];

/** The document with its first input declared as `shape` (batch first). */
function withInputShape(doc: ModelDocument, shape: Shape): ModelDocument | undefined {
  const input = doc.graph.inputs[0];
  const node = input && doc.graph.nodes.find((n) => n.id === input.node);
  if (!node) return undefined;
  const layers = doc.graph.layers.map((l) => {
    if (l.name !== node.layer) return l;
    const config = Object.fromEntries(Object.entries(l.config).filter(([k]) => !INPUT_SHAPE_KEYS.includes(k)));
    return { ...l, config: { ...config, batch_input_shape: shape } };
  });
  const graph: ModelGraph = { ...doc.graph, layers };
  return { ...doc, graph };
}

/**
 * The analysis of the model with its first input fixed at `shape` (batch first) where the file leaves axes
 * free: concrete activation sizes for the memory estimate of the data a run really has. Undefined when the
 * input has no free axis, `shape` does not fit the declared one, or the fixed shape raises a new problem.
 */
export function analyzeAtInput(doc: ModelDocument, base: GraphAnalysis, shape: Shape): GraphAnalysis | undefined {
  const input = doc.graph.inputs[0];
  const declared = input ? base.shapes.get(input.node)?.[input.index] : undefined;
  if (!declared || !declared.some((d, i) => i > 0 && d === null)) return undefined;
  if (shape.length !== declared.length || declared.some((d, i) => i > 0 && d !== null && d !== shape[i])) return undefined;
  const fixed = withInputShape(doc, declared.map((d, i) => (i > 0 && d === null ? shape[i]! : d)));
  const a = fixed && analyze(fixed);
  return a && a.problems.length <= base.problems.length ? a : undefined;
}

/**
 * The size to generate the free axes of the model's (first) input at: `preferred` when the model accepts
 * it, else the smallest accepted size above it, else the largest below it; undefined when the input has no
 * free axis (or its declared shape is not a plain InputLayer the analysis reads). `base` is the model's
 * analysis as read: problems it already has do not count against a size.
 */
export function freeInputSize(doc: ModelDocument, base: GraphAnalysis, preferred: number): FreeInputSize | undefined {
  const input = doc.graph.inputs[0];
  const declared = input ? base.shapes.get(input.node)?.[input.index] : undefined;
  if (!declared) return undefined;
  const axes = declared.flatMap((d, i) => (i > 0 && d === null ? [i] : []));
  if (axes.length === 0) return undefined;
  const baseProblems = base.problems.length;
  const attempt = (size: number): GraphAnalysis | undefined => {
    const fixed = withInputShape(doc, declared.map((d, i) => (i > 0 && d === null ? size : d)));
    if (!fixed) return undefined;
    const a = analyze(fixed);
    return a.problems.length <= baseProblems ? a : undefined;
  };
  const first = attempt(preferred);
  if (first) return { size: preferred, axes, searched: false, analysis: first };
  const candidates = [...range(preferred + 1, MAX_FREE_SIZE), ...range(preferred - 1, 1)];
  for (const size of candidates) {
    const a = attempt(size);
    if (a) return { size, axes, searched: true, analysis: a };
  }
  return undefined;
}

function range(from: number, to: number): number[] {
  const step = from <= to ? 1 : -1;
  const out: number[] = [];
  for (let v = from; step > 0 ? v <= to : v >= to; v += step) out.push(v);
  return out;
}
