/**
 * Everything the editor shows of a model text, as plain data that crosses a worker boundary: the
 * lenses, or the read error for the diagnostic. Run on the extension host for small texts and in
 * analysisWorker.ts for large ones. Pure: no `vscode`.
 */
import { ModelError } from '../core/errors';
import type { Container } from '../core/ir';
import type { VariantChoice, VariantOptions } from '../core/laurel/variants';
import { openModel, type OpenModel } from '../core/model';
import { planChoice, type ChoicePlan } from './choicePlan';
import { commandAnswer, type CommandAnswer, type CommandQuery } from './commandFacts';
import { graphSnapshot, snapshotBytes } from './graphSnapshot';
import { buildLenses } from './lensSpecs';
import { encodeLenses, type LensTable } from './lensTable';
import { residualRows, siteVariants, type NoteItem, type StageItem, type VariantItem } from './residualTreeItems';
import { TextPositions, type TextSpan } from './textPositions';
import { findLayerSpan, unknownCountAt, unknownLayerProblems, type UnknownLayerProblem } from './unknownLayers';

export interface LensJob {
  /**
   * 'lens' (default): lenses and errors as plain data. 'model': the OpenModel itself (the commands' benchmark's baseline).
   * 'locate': the span of one layer object (`layer`, in nested model `scope` when given, else searched).
   * 'hover': what a hover at model-text offset `offset` says. 'graph': the graph view's snapshot as UTF-8 JSON.
   * 'residuals': the Residuals view's tree without the variants; 'variants': those of site `layer`.
   * 'plan': the edits that give `choice` to residuals `siteIds` (every residual when absent).
   * 'command': what a command needs (`query`, see commandFacts.ts), instead of the whole model.
   */
  kind?: 'lens' | 'model' | 'locate' | 'hover' | 'graph' | 'residuals' | 'variants' | 'plan' | 'command';
  fileName: string;
  /** The editor's text (a byte-order mark included when the document has one). */
  text: string;
  /** The text's UTF-8 when it came to the worker as bytes (a transfer, where the string was a copy): read from them. */
  bytes?: Uint8Array;
  options: VariantOptions;
  layer?: string;
  scope?: readonly string[];
  offset?: number;
  choice?: VariantChoice;
  siteIds?: readonly string[];
  query?: CommandQuery;
}

export interface LensError {
  message: string;
  /** 1-based, in the model text; absent when the error has no place in this text (inside a JSON string). */
  line?: number;
  column?: number;
}

export type LensResult =
  | { ok: true; lenses: LensTable; sites: number; container: Container; unknownLayers: UnknownLayerProblem[]; ms: number }
  | { ok: false; error: LensError; ms: number };

/** A model job's answer: the OpenModel crosses the thread by structured clone (its problems arrive as plain Errors with their messages). */
export type ModelResult = { ok: true; model: OpenModel; ms: number } | { ok: false; error: LensError; ms: number };

/**
 * A locate job's answer: the layer object's span in the model text, present when the file is that text
 * (a plain container) and has the layer.
 */
export type LocateResult = { ok: true; span?: TextSpan; ms: number } | { ok: false; error: LensError; ms: number };

/** A hover's answer: a layer whose count is unknown, at the offset asked (absent: nothing to say there). */
export type HoverResult = { ok: true; hit?: { span: TextSpan; text: string }; ms: number } | { ok: false; error: LensError; ms: number };

/**
 * A graph job's answer: the snapshot as the UTF-8 JSON the webview decodes and parses, built where the model
 * was read, so the host never holds the model or the snapshot of a large file: it passes the bytes on.
 */
export type GraphResult = { ok: true; graph: Uint8Array; ms: number } | { ok: false; error: LensError; ms: number };

/** The Residuals view's rows (each site's variants left out) and what its message says of the model. */
export type ResidualsResult =
  | { ok: true; tree: (StageItem | NoteItem)[]; name: string; sites: number; unknownLayers: number; container: Container; ms: number }
  | { ok: false; error: LensError; ms: number };

/** The variant rows of one site (empty when the model has no such site, e.g. it changed since). */
export type VariantsResult = { ok: true; variants: VariantItem[]; ms: number } | { ok: false; error: LensError; ms: number };

/** A plan job's answer: what applying the choice changes (see choicePlan.ts). */
export type PlanResult = { ok: true; plan: ChoicePlan; ms: number } | { ok: false; error: LensError; ms: number };

/** A command job's answer: small plain data (see commandFacts.ts). */
export type CommandResult = { ok: true; answer: CommandAnswer; ms: number } | { ok: false; error: LensError; ms: number };

export type JobResult = CommandResult | PlanResult | LensResult | ModelResult | LocateResult | HoverResult | GraphResult | ResidualsResult | VariantsResult;

/**
 * The last model read on this thread: a click in the graph or the residuals view locates its layer in the
 * model the lenses read for the same text, not in a new read (the worker keeps one, the host one small one).
 */
let last: { fileName: string; text: string; model: OpenModel } | undefined;

function readText(job: LensJob): OpenModel {
  const { fileName, text } = job;
  if (last && last.fileName === fileName && last.text === text) return last.model;
  // The model read before is dropped before this one is read: held, it is live when the young generation's
  // collector runs during the read, and is copied (a 20,000-layer model outlives the interval between
  // collections, which a small one never does). 12-30% less CPU per 20,000-layer read, measured.
  last = undefined;
  // Bytes from the host are the text's encoding, and the text their decoding (analysisWorker.ts): read once.
  const model = job.bytes ? openModel(fileName, job.bytes, text) : openModel(fileName, new TextEncoder().encode(text));
  last = { fileName, text, model };
  return model;
}

export function runJob(job: LensJob): JobResult {
  switch (job.kind) {
    case 'model':
      return runModelJob(job);
    case 'locate':
      return runLocateJob(job);
    case 'hover':
      return attempt(() => {
        const m = readText(job);
        const hit = m.doc.container === 'plain' && m.analysis.unknownLayers.length && job.offset !== undefined ? unknownCountAt(m, job.offset) : undefined;
        return hit ? { hit } : {};
      });
    case 'residuals':
      return attempt(() => residualRows(readText(job), job.options, false));
    case 'variants':
      return attempt(() => ({ variants: siteVariants(readText(job), job.layer ?? '', job.options) ?? [] }));
    case 'plan':
      return attempt(() => {
        if (!job.choice) throw new Error('a plan job without a choice');
        return { plan: planChoice(readText(job), job.choice, job.siteIds) };
      });
    case 'command':
      return attempt(() => {
        if (!job.query) throw new Error('a command job without a query');
        return { answer: commandAnswer(readText(job), job.query, job.options) };
      });
    case 'graph':
      return attempt(() => ({ graph: snapshotBytes(graphSnapshot(readText(job), job.options)) }));
    default:
      return runLensJob(job);
  }
}

/** `f`'s answer with ok and its time, or the error it threw as a LensError. */
function attempt<T extends object>(f: () => T): ({ ok: true; ms: number } & T) | { ok: false; error: LensError; ms: number } {
  const t0 = performance.now();
  try {
    return { ok: true, ...f(), ms: performance.now() - t0 };
  } catch (e) {
    return { ok: false, error: lensError(e), ms: performance.now() - t0 };
  }
}

/** Where layer `job.layer` is: its text tree is built here (in the worker for a large text), once per text. */
export function runLocateJob(job: LensJob): LocateResult {
  return attempt(() => {
    const m = readText(job);
    const span = m.doc.container === 'plain' && job.layer !== undefined ? findLayerSpan(m, job.layer, job.scope) : undefined;
    return span ? { span } : {};
  });
}

export function runModelJob(job: LensJob): ModelResult {
  return attempt(() => ({ model: readText(job) }));
}

export function runLensJob(job: LensJob): LensResult {
  return attempt(() => {
    const m = readText(job);
    // Offsets of the model text are document offsets only when the file is that text.
    const positions = m.doc.container === 'plain' ? new TextPositions(job.text, m.doc.text) : undefined;
    const lenses = encodeLenses(buildLenses(m, job.options, positions && ((offset) => positions.position(offset).line)));
    return { lenses, sites: m.sites.length, container: m.doc.container, unknownLayers: unknownLayerProblems(m) };
  });
}

export function lensError(e: unknown): LensError {
  if (!(e instanceof ModelError)) return { message: e instanceof Error ? e.message : String(e) };
  const where = e.where;
  const message = `${e.what}${e.expected ? `; expected ${e.expected}` : ''}${where?.inner ? ` (in ${where.inner})` : ''}`;
  return where && !where.inner && where.line !== undefined ? { message, line: where.line, column: where.column ?? 1 } : { message };
}
