/**
 * Everything the editor shows of a model text, as plain data that crosses a worker boundary: the
 * lenses, or the read error for the diagnostic. Run on the extension host for small texts and in
 * analysisWorker.ts for large ones. Pure: no `vscode`.
 */
import { ModelError } from '../core/errors';
import type { Container } from '../core/ir';
import type { VariantOptions } from '../core/laurel/variants';
import { openModel, type OpenModel } from '../core/model';
import { buildLenses, type LensSpec } from './lensSpecs';
import { TextPositions, type TextSpan } from './textPositions';
import { findLayerSpan, unknownLayerProblems, type UnknownLayerProblem } from './unknownLayers';

export interface LensJob {
  /**
   * 'lens' (default): lenses and errors as plain data. 'model': the OpenModel itself, for views and commands.
   * 'locate': the span of one layer object (`layer`, in nested model `scope` when given, else searched).
   */
  kind?: 'lens' | 'model' | 'locate';
  fileName: string;
  /** The editor's text (a byte-order mark included when the document has one). */
  text: string;
  options: VariantOptions;
  layer?: string;
  scope?: readonly string[];
}

export interface LensError {
  message: string;
  /** 1-based, in the model text; absent when the error has no place in this text (inside a JSON string). */
  line?: number;
  column?: number;
}

export type LensResult =
  | { ok: true; lenses: LensSpec[]; sites: number; container: Container; unknownLayers: UnknownLayerProblem[]; ms: number }
  | { ok: false; error: LensError; ms: number };

/** A model job's answer: the OpenModel crosses the thread by structured clone (its problems arrive as plain Errors with their messages). */
export type ModelResult = { ok: true; model: OpenModel; ms: number } | { ok: false; error: LensError; ms: number };

/**
 * A locate job's answer: the layer object's span in the model text, present when the file is that text
 * (a plain container) and has the layer.
 */
export type LocateResult = { ok: true; span?: TextSpan; ms: number } | { ok: false; error: LensError; ms: number };

/**
 * The last model read on this thread: a click in the graph or the residuals view locates its layer in the
 * model the lenses read for the same text, not in a new read (the worker keeps one, the host one small one).
 */
let last: { fileName: string; text: string; model: OpenModel } | undefined;

function readText(fileName: string, text: string): OpenModel {
  if (last && last.fileName === fileName && last.text === text) return last.model;
  const model = openModel(fileName, new TextEncoder().encode(text));
  last = { fileName, text, model };
  return model;
}

export function runJob(job: LensJob): LensResult | ModelResult | LocateResult {
  return job.kind === 'model' ? runModelJob(job) : job.kind === 'locate' ? runLocateJob(job) : runLensJob(job);
}

/** Where layer `job.layer` is: its text tree is built here (in the worker for a large text), once per text. */
export function runLocateJob(job: LensJob): LocateResult {
  const t0 = performance.now();
  try {
    const m = readText(job.fileName, job.text);
    const span = m.doc.container === 'plain' && job.layer !== undefined ? findLayerSpan(m, job.layer, job.scope) : undefined;
    return span ? { ok: true, span, ms: performance.now() - t0 } : { ok: true, ms: performance.now() - t0 };
  } catch (e) {
    return { ok: false, error: lensError(e), ms: performance.now() - t0 };
  }
}

export function runModelJob(job: LensJob): ModelResult {
  const t0 = performance.now();
  try {
    return { ok: true, model: readText(job.fileName, job.text), ms: performance.now() - t0 };
  } catch (e) {
    return { ok: false, error: lensError(e), ms: performance.now() - t0 };
  }
}

export function runLensJob(job: LensJob): LensResult {
  const t0 = performance.now();
  try {
    const m = readText(job.fileName, job.text);
    // Offsets of the model text are document offsets only when the file is that text.
    const positions = m.doc.container === 'plain' ? new TextPositions(job.text, m.doc.text) : undefined;
    const lenses = buildLenses(m, job.options, positions && ((offset) => positions.position(offset).line));
    return { ok: true, lenses, sites: m.sites.length, container: m.doc.container, unknownLayers: unknownLayerProblems(m), ms: performance.now() - t0 };
  } catch (e) {
    return { ok: false, error: lensError(e), ms: performance.now() - t0 };
  }
}

export function lensError(e: unknown): LensError {
  if (!(e instanceof ModelError)) return { message: e instanceof Error ? e.message : String(e) };
  const where = e.where;
  const message = `${e.what}${e.expected ? `; expected ${e.expected}` : ''}${where?.inner ? ` (in ${where.inner})` : ''}`;
  return where && !where.inner && where.line !== undefined ? { message, line: where.line, column: where.column ?? 1 } : { message };
}
