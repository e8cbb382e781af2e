// A model whose input declares free axes (batch_input_shape [null, null, null, 3]) still has a smallest
// input it accepts: 'valid' convolutions and pools shrink each axis, and below some size an axis reaches
// zero (Inception v3 needs 75×75). Synthetic data for such a model must be generated at a size it accepts,
// so the size is found here with the analysis itself: the input is fixed at a candidate size and the
// shapes are inferred through the whole graph; a size is accepted when that raises no new shape problem.
// Sizes are tried upwards (not bisected): a model that concatenates a skip with an upsampled path accepts
// only multiples of its total stride, so acceptance is not monotonic in the size.
import type { ModelDocument, ModelGraph, Shape } from '../ir';
import { analyze, shapeOf } from './analyze';
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

/** The document with its inputs declared as `shapes` (batch first, in the model's input order; absent: as declared). */
function withInputShapes(doc: ModelDocument, shapes: readonly (Shape | undefined)[]): ModelDocument | undefined {
  const byLayer = new Map<string, Shape>();
  for (const [i, input] of doc.graph.inputs.entries()) {
    const node = doc.graph.nodes.find((n) => n.id === input.node);
    if (!node) return undefined;
    if (shapes[i]) byLayer.set(node.layer, shapes[i]!);
  }
  const layers = doc.graph.layers.map((l) => {
    const shape = byLayer.get(l.name);
    if (!shape) return l;
    const config = Object.fromEntries(Object.entries(l.config).filter(([k]) => !INPUT_SHAPE_KEYS.includes(k)));
    return { ...l, config: { ...config, batch_input_shape: shape } };
  });
  const graph: ModelGraph = { ...doc.graph, layers };
  return { ...doc, graph };
}

/** Each input's declared shape (undefined where the analysis has none). */
const declaredShapes = (doc: ModelDocument, base: GraphAnalysis): (Shape | undefined)[] => doc.graph.inputs.map((t) => shapeOf(base, t) ?? undefined);

const hasFree = (s: Shape | undefined): boolean => !!s && s.some((d, i) => i > 0 && d === null);

/**
 * The analysis of the model with its inputs fixed at `shapes` (batch first, one per input in order) where the file
 * leaves axes free: concrete activation sizes for the memory estimate of the data a run really has. Undefined when no
 * input has a free axis, a shape does not fit the declared one, or the fixed shapes raise a new problem.
 */
export function analyzeAtInput(doc: ModelDocument, base: GraphAnalysis, shapes: readonly Shape[]): GraphAnalysis | undefined {
  const declared = declaredShapes(doc, base);
  if (!declared.some(hasFree) || shapes.length !== declared.length) return undefined;
  const fits = (d: Shape | undefined, s: Shape): boolean => !!d && s.length === d.length && d.every((v, i) => i === 0 || v === null || v === s[i]);
  if (declared.some((d, i) => !fits(d, shapes[i]!))) return undefined;
  const fixed = withInputShapes(doc, declared.map((d, i) => d!.map((v, a) => (a > 0 && v === null ? shapes[i]![a]! : v))));
  const a = fixed && analyze(fixed);
  return a && a.problems.length <= base.problems.length ? a : undefined;
}

/**
 * The size to generate the free axes of the model's inputs at (every input's alike): `preferred` when the model
 * accepts it, else the smallest accepted size above it, else the largest below it; undefined when no input has a
 * free axis (or a declared shape is not a plain InputLayer the analysis reads). `axes` are the first input's with
 * free axes. `base` is the model's analysis as read: problems it already has do not count against a size.
 */
export function freeInputSize(doc: ModelDocument, base: GraphAnalysis, preferred: number): FreeInputSize | undefined {
  const declared = declaredShapes(doc, base);
  if (declared.length === 0 || declared.some((d) => !d)) return undefined;
  const axes = declared.find(hasFree)?.flatMap((d, i) => (i > 0 && d === null ? [i] : []));
  if (!axes) return undefined;
  const baseProblems = base.problems.length;
  const attempt = (size: number): GraphAnalysis | undefined => {
    const fixed = withInputShapes(doc, declared.map((s) => s!.map((d, i) => (i > 0 && d === null ? size : d))));
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
