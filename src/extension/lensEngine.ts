/**
 * Lenses, read errors, hovers, clicks and graph snapshots per document, computed once per content (not per
 * version: an undo back to a text already seen, or a save, costs nothing) in a worker thread, so the
 * extension host never runs an analysis (texts under `workerAbove` characters run on the calling thread;
 * the extension sends every text to the worker). An edit after a quiet spell starts at once; an edit within
 * `debounceMs` of the last request of the same document waits that long (a burst of typing runs one
 * analysis). A request for newer text of the same document supersedes the older one: a queued job is
 * dropped, a running one is stopped with its worker (a running job of the same text, e.g. a hover at another
 * offset, is left to finish and its answer dropped: ending the worker would lose the model it keeps). Pure: no `vscode` (the bench drives it as the editor would).
 */
import { Worker, type ResourceLimits } from 'node:worker_threads';
import type { VariantChoice } from '../core/laurel/variants';
import type { CommandQuery } from './commandFacts';
import { runJob, type CommandResult, type GraphResult, type HoverResult, type JobResult, type LensJob, type LensResult, type LocateResult, type ModelResult, type PlanResult, type ResidualsResult, type VariantsResult } from './lensJob';
import { nextTurn } from './nextTurn';

type AnyResult = JobResult;
const encoder = new TextEncoder();
const ENCODE_CHARS = 1 << 20;
type Kind = NonNullable<LensJob['kind']>;
const KINDS: readonly Kind[] = ['lens', 'model', 'locate', 'hover', 'graph', 'residuals', 'variants', 'plan', 'command'];

/**
 * The analysis worker's heap. A read keeps a structure as large as the model's JSON value alive while it
 * builds the graph; past V8's default young generation (16 MB semi-spaces) every collection during the read
 * copies it, so the time per layer grew with the model: 1,000 to 20,000 layers grew with exponent 1.2-1.3,
 * as does a plain `JSON.parse` plus a deep copy of its value. 64 MB semi-spaces (young generation 192 MB)
 * keep it near 1 (see the analysis benchmark's two heaps). The price is memory: V8 grows the semi-spaces
 * towards that size as survivors add up over collections, whatever the model's size, so a worker that reads
 * again and again (an edit session) peaks 150-250 MB higher than in the default heap. Only texts that need it
 * get it (`heapFor`). 384 MB read no faster here and held twice the memory.
 */
export const ANALYSIS_HEAP = { maxYoungGenerationSizeMb: 192 } as const;

/**
 * Texts from this many characters (about 4,000 layers) are read with ANALYSIS_HEAP; smaller ones in V8's
 * default heap, where they read as fast (1,000 and 3,000 layers: the benchmark's two heaps agree).
 */
export const LARGE_TEXT_CHARS = 2 * 2 ** 20;

/** The worker heap a model text of `chars` characters is read in (undefined: V8's defaults). */
export const heapFor = (chars: number): ResourceLimits | undefined => (chars >= LARGE_TEXT_CHARS ? ANALYSIS_HEAP : undefined);

export interface LensEngineOptions {
  /** dist/analysisWorker.js */
  workerFile: string;
  /** Texts of at least this many characters go to the worker. */
  workerAbove: number;
  /** A request within this long of the last one of the same document and kind waits this long, so that a burst of edits runs one analysis. */
  debounceMs: number;
  /** Characters of the text encoded per slice on its way to the worker (default 1M). */
  encodeChars?: number;
}

interface Pending {
  key: string;
  job: LensJob;
  optionsKey: string;
  id: number;
  promise: Promise<AnyResult | undefined>;
  resolve: (r: AnyResult | undefined) => void;
  timer?: ReturnType<typeof setTimeout>;
  /** Superseded while running with the same text: its answer is not used. */
  dropped?: boolean;
  /** Its text is with the worker (before that it is being encoded). */
  posted?: boolean;
}

export class LensEngine {
  /** Keyed by job kind and document key: the last result of each. */
  private readonly cache = new Map<string, { text: string; optionsKey: string; result: AnyResult }>();
  private readonly pending = new Map<string, Pending>();
  private readonly queue: Pending[] = [];
  /** When each document and kind was last asked for a text not yet known (the debounce's clock). */
  private readonly asked = new Map<string, number>();
  private worker: Worker | undefined;
  private running: Pending | undefined;
  private nextId = 1;
  /** Jobs run on the calling thread, in the worker, and dropped because newer text came. */
  readonly counts = { host: 0, worker: 0, superseded: 0, workersStarted: 0 };
  /** The worker has ANALYSIS_HEAP (started for a large text; kept for smaller ones after it). */
  private workerLarge = false;
  /** The longest stretch this engine ran on the calling thread (an analysis, or posting a text to the worker): wall and CPU ms. */
  longestSyncMs = 0;
  longestSyncCpuMs = 0;

  constructor(private readonly options: LensEngineOptions) {}

  /**
   * The result for this text of document `key`; undefined when a newer request superseded this one.
   * Resolves at once when the text was seen before.
   */
  request(key: string, job: LensJob): Promise<LensResult | undefined> {
    return this.timed(() => this.ask(`lens\0${key}`, { ...job, kind: 'lens' })) as Promise<LensResult | undefined>;
  }

  /**
   * The whole OpenModel of this text, copied to the host by structured clone (140-210 ms of the host's thread
   * at 20,000 layers). No part of the extension asks for it any more (commands ask `command`); the commands'
   * benchmark times it as the way they worked before.
   */
  model(key: string, job: Omit<LensJob, 'kind' | 'options'>): Promise<ModelResult | undefined> {
    return this.timed(() => this.ask(`model\0${key}`, { ...job, kind: 'model', options: undefined as never })) as Promise<ModelResult | undefined>;
  }

  /**
   * Where layer `layer` (in nested model `scope`, else searched) is in this text: in the worker when the
   * text is large, so a click never builds the text's tree or reads the model on the host's thread.
   */
  locate(key: string, job: Omit<LensJob, 'kind' | 'options'> & { layer: string }): Promise<LocateResult | undefined> {
    return this.timed(() => this.ask(`locate\0${key}`, { ...job, kind: 'locate', options: undefined as never })) as Promise<LocateResult | undefined>;
  }

  /** What a hover at model-text offset `offset` shows (a layer whose count is unknown), without the model on the host. */
  hover(key: string, job: Omit<LensJob, 'kind' | 'options'> & { offset: number }): Promise<HoverResult | undefined> {
    return this.timed(() => this.ask(`hover\0${key}`, { ...job, kind: 'hover', options: undefined as never })) as Promise<HoverResult | undefined>;
  }

  /** The graph view's snapshot of this text as JSON text, built in the worker: the host passes it on unparsed. */
  graph(key: string, job: Omit<LensJob, 'kind'>): Promise<GraphResult | undefined> {
    return this.timed(() => this.ask(`graph\0${key}`, { ...job, kind: 'graph' })) as Promise<GraphResult | undefined>;
  }

  /** The Residuals view's rows of this text (sites without their variants), made in the worker. */
  residuals(key: string, job: Omit<LensJob, 'kind'>): Promise<ResidualsResult | undefined> {
    return this.timed(() => this.ask(`residuals\0${key}`, { ...job, kind: 'residuals' })) as Promise<ResidualsResult | undefined>;
  }

  /** The variant rows of site `layer` of this text, when its row is opened (one request per site: two rows opened at once both get theirs). */
  variants(key: string, job: Omit<LensJob, 'kind'> & { layer: string }): Promise<VariantsResult | undefined> {
    return this.timed(() => this.ask(`variants\0${key}\0${job.layer}`, { ...job, kind: 'variants' })) as Promise<VariantsResult | undefined>;
  }

  /** The edits that give `choice` to residuals `siteIds` of this text (every residual when absent), planned in the worker. */
  plan(key: string, job: Omit<LensJob, 'kind' | 'options'> & { choice: VariantChoice }): Promise<PlanResult | undefined> {
    return this.timed(() => this.ask(`plan\0${key}`, { ...job, kind: 'plan', options: undefined as never })) as Promise<PlanResult | undefined>;
  }

  /**
   * What a command needs of this text (`query`: the quick pick's items, the summary, the outputs...), made in
   * the worker, so a command never copies the whole model to the host. One request per document and query
   * kind: a summary and a pick asked at once both get theirs.
   */
  command(key: string, job: Omit<LensJob, 'kind'> & { query: CommandQuery }): Promise<CommandResult | undefined> {
    return this.timed(() => this.ask(`command\0${key}\0${job.query.what}`, { ...job, kind: 'command' })) as Promise<CommandResult | undefined>;
  }

  private timed<T>(f: () => T): T {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    try {
      return f();
    } finally {
      this.longestSyncMs = Math.max(this.longestSyncMs, performance.now() - t0);
      const c = process.cpuUsage(c0);
      this.longestSyncCpuMs = Math.max(this.longestSyncCpuMs, (c.user + c.system) / 1000);
    }
  }

  private ask(key: string, job: LensJob): Promise<AnyResult | undefined> {
    const optionsKey = JSON.stringify([job.options ?? null, job.layer ?? null, job.scope ?? null, job.offset ?? null, job.choice ?? null, job.siteIds ?? null, job.query ?? null]);
    const hit = this.cache.get(key);
    if (hit && hit.optionsKey === optionsKey && hit.text === job.text) return Promise.resolve(hit.result);
    const old = this.pending.get(key);
    if (old && old.optionsKey === optionsKey && old.job.text === job.text) return old.promise;
    if (old) this.supersede(old, old.job.text === job.text);
    if (job.text.length < this.options.workerAbove) {
      this.counts.host++;
      return Promise.resolve(this.store(key, job.text, optionsKey, runJob(job)));
    }
    let resolve!: (r: AnyResult | undefined) => void;
    const promise = new Promise<AnyResult | undefined>((r) => (resolve = r));
    const p: Pending = { key, job, optionsKey, id: this.nextId++, promise, resolve };
    this.pending.set(key, p);
    // A click or a hover is not typed in bursts; an edit after a quiet spell starts at once.
    const now = performance.now();
    const last = this.asked.get(key);
    this.asked.set(key, now);
    const burst = (job.kind === undefined || job.kind === 'lens' || job.kind === 'model' || job.kind === 'graph' || job.kind === 'residuals') && last !== undefined && now - last < this.options.debounceMs;
    if (!burst) {
      this.queue.push(p);
      this.pump();
      return promise;
    }
    p.timer = setTimeout(() => {
      p.timer = undefined;
      this.queue.push(p);
      this.timed(() => this.pump());
    }, this.options.debounceMs);
    return promise;
  }

  /** Drop what is known of a document (it was closed). */
  forget(key: string): void {
    const perSite = [`variants\0${key}\0`, `command\0${key}\0`];
    const siteKeys = [...new Set([...this.cache.keys(), ...this.pending.keys()])].filter((k) => perSite.some((p) => k.startsWith(p)));
    for (const k of [...KINDS.map((kind) => `${kind}\0${key}`), ...siteKeys]) {
      this.cache.delete(k);
      this.asked.delete(k);
      const p = this.pending.get(k);
      if (p) this.supersede(p);
    }
  }

  dispose(): void {
    for (const p of [...this.pending.values()]) this.supersede(p);
    void this.worker?.terminate();
    this.worker = undefined;
  }

  private store(key: string, text: string, optionsKey: string, result: AnyResult): AnyResult {
    this.cache.set(key, { text, optionsKey, result });
    return result;
  }

  /** Drop `p` (its promise gives undefined); `letRun`: a running `p` finishes in the worker, its answer unused. */
  private supersede(p: Pending, letRun = false): void {
    this.counts.superseded++;
    clearTimeout(p.timer);
    const queued = this.queue.indexOf(p);
    if (queued >= 0) this.queue.splice(queued, 1);
    if (this.running === p && !p.posted) {
      // Still being encoded: the worker has nothing of it yet (and keeps its model).
      this.running = undefined;
    } else if (this.running === p && letRun) {
      p.dropped = true;
    } else if (this.running === p) {
      // Stopping the worker is the only way to stop a synchronous analysis; the next job starts a new one.
      void this.worker?.terminate();
      this.worker = undefined;
      this.running = undefined;
    }
    if (this.pending.get(p.key) === p) this.pending.delete(p.key);
    p.resolve(undefined);
    this.pump();
  }

  private pump(): void {
    if (this.running || this.queue.length === 0) return;
    const p = this.queue.shift()!;
    this.running = p;
    void this.send(p);
  }

  /**
   * The job's text goes as UTF-8 bytes, transferred (posting the string copied it: 9-33 ms at 10 MB), encoded
   * a slice at a time with the thread given back between slices (a 10 MB text in one go: 8-20 ms here).
   */
  private async send(p: Pending): Promise<void> {
    const text = p.job.text;
    const step = this.options.encodeChars ?? ENCODE_CHARS;
    const parts: Uint8Array[] = [];
    for (let at = 0; at < text.length || parts.length === 0; ) {
      let end = Math.min(at + step, text.length);
      // A surrogate pair stays in one slice (each half alone would encode as U+FFFD).
      const last = text.charCodeAt(end - 1);
      if (end < text.length && end - at > 1 && last >= 0xd800 && last <= 0xdbff) end--;
      const from = at;
      parts.push(this.timed(() => encoder.encode(text.slice(from, end))));
      at = end;
      if (at >= text.length) break;
      await nextTurn();
      if (this.running !== p) return; // superseded meanwhile
    }
    this.timed(() => this.workerThread(heapFor(text.length) !== undefined).postMessage({ id: p.id, job: { ...p.job, text: '', parts } }, parts.map((b) => b.buffer as ArrayBuffer)));
    p.posted = true;
  }

  /**
   * The worker, with the large heap when `large`. A default-heap worker makes way for a large-heap one when a
   * large text comes (it is idle then: one job runs at a time); a large-heap one stays for small texts after
   * it, so a user between a large and a small model does not restart workers (V8 shrinks its young
   * generation when idle).
   */
  /** The running worker's young generation in MB, as V8 has it (48 is V8's default). */
  workerYoungGenerationMb(): number | undefined {
    return this.worker?.resourceLimits?.maxYoungGenerationSizeMb;
  }

  private workerThread(large: boolean): Worker {
    if (this.worker && (this.workerLarge || !large)) return this.worker;
    const old = this.worker;
    const w = new Worker(this.options.workerFile, large ? { resourceLimits: ANALYSIS_HEAP } : {});
    this.workerLarge = large;
    this.counts.workersStarted++;
    w.unref();
    w.on('message', (msg: { id: number; result: AnyResult }) => this.timed(() => this.finish(msg.id, msg.result)));
    const failed = (why: string): void => {
      if (this.worker !== w) return;
      this.worker = undefined;
      if (this.running) this.finish(this.running.id, { ok: false, error: { message: `the analysis worker stopped (${why})` }, ms: 0 });
    };
    w.on('error', (e) => failed(e.message));
    w.on('exit', (code) => failed(`exit code ${code}`));
    this.worker = w;
    if (old) void old.terminate();
    return w;
  }

  private finish(id: number, result: AnyResult): void {
    const p = this.running;
    if (!p || p.id !== id) return;
    this.running = undefined;
    if (p.dropped) return this.pump();
    this.counts.worker++;
    this.store(p.key, p.job.text, p.optionsKey, result);
    if (this.pending.get(p.key) === p) this.pending.delete(p.key);
    p.resolve(result);
    this.pump();
  }
}
