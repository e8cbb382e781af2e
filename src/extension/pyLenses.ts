/**
 * PyTorch .py files in the editor: static lenses at once (a parse, nothing run), exact ones after one forward
 * pass in a child Python (trusted workspaces only, the user asked once per workspace). Measurements are
 * cached by the text's hash, re-run on save and after an apply, never on a keystroke. A failure is a
 * diagnostic at the line the traceback names. A lens click is one WorkspaceEdit (undo brings the old text,
 * whose measurement is still cached).
 */
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import * as vscode from 'vscode';
import { openPyModels } from '../core/pysource/pyModel';
import type { OpenPyModel } from '../core/pysource/pyModel';
import { PyParseCache } from '../core/pysource/pyParseCache';
import { nextTurn } from './nextTurn';
import { planPy } from '../core/pysource/pyPlan';
import { parsePySource, parsePySourceSliced } from '../core/pysource/pyStatic';
import type { PyStatic } from '../core/pysource/pyStatic';
import type { TraceError, TraceSetResult } from '../core/pysource/pyTrace';
import { writeCompanion } from '../util/laurelCompanion';
import { findTorchPython } from '../trainer/pythonFinder';
import { traceAllSources } from '../trainer/pySourceTrace';
import type { TraceAllOptions } from '../trainer/pySourceTrace';
import { TraceServer } from '../trainer/pyTraceServer';
import { buildPyLenses, PY_APPLY, PY_MEASURE } from './pyLensSpecs';
import type { MeasureState } from './pyLensSpecs';
import { readCodeLensEnabled, readVariantOptions } from './settings';

export const PY_SELECTOR: vscode.DocumentSelector = [{ language: 'python', scheme: 'file' }];
const ALLOWED_KEY = 'laurel.py.measureAllowed';
const CACHE_SIZE = 24;

const hashOf = (text: string): string => createHash('sha1').update(text).digest('hex');

/** The error to show when no model of the file could be measured. */
function firstError(r: Extract<TraceSetResult, { ok: true }>): TraceError | undefined {
  const failed = r.models.find((x) => !x.ok);
  return failed && !failed.ok ? failed.error : undefined;
}

/** A parse slice's work before the host's other tasks run (see parseSliced). */
const SLICE_MS = 8;

export class PyModelLenses implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  /** A file's measurement started or ended (the graph view redraws or says why it cannot). */
  private readonly measured = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChangeMeasurement = this.measured.event;
  /** Traces of every model of the file by text hash, most recent last. */
  private readonly results = new Map<string, TraceSetResult>();
  private readonly running = new Map<string, { hash: string; abort: AbortController }>();
  /** The warm tracer of this workspace (started by the first measurement, ended when idle or on dispose). */
  private server: TraceServer | null = null;
  private readonly parsed = new Map<string, { version: number; hash: string; model: OpenPyModel }>();
  /** Per open document: its last parse tree, so a keystroke reparses around the edit only. */
  private readonly trees = new Map<string, PyParseCache>();
  /** Per open document: the static reading of its last parsed text. */
  private readonly statics = new Map<string, { text: string; statics: PyStatic }>();
  private readonly diagnostics = vscode.languages.createDiagnosticCollection('laurel-py');
  private readonly disposables: vscode.Disposable[] = [this.changed, this.measured, this.diagnostics];

  constructor(private readonly context: vscode.ExtensionContext) {
    this.disposables.push(
      vscode.commands.registerCommand(PY_MEASURE, (uri?: vscode.Uri) => this.measureCommand(uri)),
      vscode.commands.registerCommand(PY_APPLY, (uri: vscode.Uri, spec: string) => this.apply(uri, spec)),
      vscode.workspace.onDidSaveTextDocument((d) => this.isPy(d) && this.allowed() && void this.measure(d)),
      vscode.workspace.onDidOpenTextDocument((d) => this.isPy(d) && this.allowed() && void this.measure(d)),
      vscode.workspace.onDidCloseTextDocument((d) => {
        this.parsed.delete(d.uri.toString());
        this.trees.delete(d.uri.toString());
        this.statics.delete(d.uri.toString());
        this.diagnostics.delete(d.uri);
      }),
      vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration('laurel') && this.changed.fire()),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.changed.fire()),
    );
    if (this.allowed()) for (const d of vscode.workspace.textDocuments) if (this.isPy(d)) void this.measure(d);
  }

  dispose(): void {
    for (const r of this.running.values()) r.abort.abort();
    this.server?.dispose();
    for (const d of this.disposables) d.dispose();
  }

  private isPy(d: vscode.TextDocument): boolean {
    return d.languageId === 'python' && d.uri.scheme === 'file';
  }

  allowed(): boolean {
    return vscode.workspace.isTrusted && this.context.workspaceState.get<boolean>(ALLOWED_KEY) === true;
  }

  /**
   * Parses a new version of the document in slices (SLICE_MS of work, then the host's other tasks), so that
   * model() finds its tree ready: the host thread is never held by a parse, even the first one of a fresh
   * extension host (lezer before the JIT has compiled it: ~100 ms for 2,000 lines).
   */
  private async parseSliced(doc: vscode.TextDocument): Promise<void> {
    const key = doc.uri.toString();
    if (this.parsed.get(key)?.version === doc.version) return;
    const text = doc.getText();
    if (this.statics.get(key)?.text === text) return;
    const tree = await this.treesOf(key).parseSliced(text, SLICE_MS, nextTurn);
    const statics = await parsePySourceSliced(text, tree, SLICE_MS, nextTurn);
    if (this.trees.has(key)) this.statics.set(key, { text, statics });
  }

  /** What the file says without running it: the sliced parse's when it read this text, else parsed now. */
  private staticsOf(key: string, text: string): PyStatic {
    const hit = this.statics.get(key);
    if (hit?.text === text) return hit.statics;
    const statics = parsePySource(text, this.treesOf(key).parse(text));
    this.statics.set(key, { text, statics });
    return statics;
  }

  private treesOf(key: string): PyParseCache {
    let trees = this.trees.get(key);
    if (!trees) this.trees.set(key, (trees = new PyParseCache()));
    return trees;
  }

  /** The document's model (static parse per version, plus the trace of exactly this text when there is one). */
  model(doc: vscode.TextDocument): { model: OpenPyModel; state: MeasureState } {
    const key = doc.uri.toString();
    let p = this.parsed.get(key);
    if (!p || p.version !== doc.version) {
      const text = doc.getText();
      const hash = hashOf(text);
      const r = this.results.get(hash);
      p = { version: doc.version, hash, model: openPyModels(doc.fileName, text, r?.ok ? r.models : [], this.staticsOf(key, text)) };
      this.parsed.set(key, p);
    }
    const r = this.results.get(p.hash);
    const run = this.running.get(key);
    if (r?.ok && !p.model.views.length && r.models.length) p.model = openPyModels(doc.fileName, p.model.text, r.models, p.model.statics);
    const error = r && (r.ok ? firstError(r) : r.error);
    const state: MeasureState = p.model.views.length ? { kind: 'measured' } : run?.hash === p.hash ? { kind: 'running' } : error ? { kind: 'failed', error } : { kind: 'none', trusted: vscode.workspace.isTrusted };
    return { model: p.model, state };
  }

  async provideCodeLenses(doc: vscode.TextDocument, token?: vscode.CancellationToken): Promise<vscode.CodeLens[]> {
    const c = vscode.workspace.getConfiguration('laurel');
    if (!readCodeLensEnabled((k) => c.get(k))) return [];
    await this.parseSliced(doc);
    if (token?.isCancellationRequested) return [];
    const { model, state } = this.model(doc);
    return buildPyLenses(model, state, readVariantOptions((k) => c.get(k))).map(
      (s) => new vscode.CodeLens(new vscode.Range(s.line, 0, s.line, 0), { title: s.title, command: s.command, arguments: s.command ? [doc.uri, ...s.args] : [], ...(s.tooltip ? { tooltip: s.tooltip } : {}) }),
    );
  }

  /** Measure on request (a lens, the command, Open Graph): trust first, then the workspace's one-time consent. */
  async measureCommand(uri?: vscode.Uri): Promise<void> {
    const doc = uri ? await vscode.workspace.openTextDocument(uri) : vscode.window.activeTextEditor?.document;
    if (!doc || !this.isPy(doc) || !(await this.allow('Measuring'))) return;
    await this.measure(doc);
  }

  /**
   * Whether .py files may run here: a trusted workspace, and the user's one-time consent (asked now when not
   * given yet). `doing` names the action in the warning ('Measuring', 'Training').
   */
  async allow(doing: string): Promise<boolean> {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showWarningMessage(`${doing} runs the model file in Python: trust this workspace first (Workspaces: Manage Workspace Trust).`);
      return false;
    }
    if (this.allowed()) return true;
    const pick = await vscode.window.showInformationMessage(
      'LAuReL measures a PyTorch model by running one forward pass of this file in Python (its imports and code run). Allow this in this workspace? It then also runs on open and on save of .py files.',
      { modal: true },
      'Allow',
    );
    if (pick !== 'Allow') return false;
    await this.context.workspaceState.update(ALLOWED_KEY, true);
    return true;
  }

  /** One forward pass of this text (cached by hash); the previous run of the file is cancelled. */
  async measure(doc: vscode.TextDocument): Promise<void> {
    const key = doc.uri.toString();
    const text = doc.getText();
    const hash = hashOf(text);
    if (this.results.has(hash) || this.running.get(key)?.hash === hash) return;
    this.running.get(key)?.abort.abort();
    const abort = new AbortController();
    this.running.set(key, { hash, abort });
    this.changed.fire();
    this.measured.fire(doc.uri);
    const c = vscode.workspace.getConfiguration('laurel');
    const python = c.get<string>('pythonPath')?.trim();
    const seconds = c.get<number>('pytorch.measureTimeout') ?? 60;
    const r = await this.trace(doc.fileName, { source: text, signal: abort.signal, limitMs: Math.max(1, seconds) * 1000, ...(python ? { explicit: python } : {}) });
    if (this.running.get(key)?.abort !== abort) return; // superseded
    this.running.delete(key);
    if (!r.ok && r.error.message === 'cancelled') return;
    this.results.set(hash, r);
    while (this.results.size > CACHE_SIZE) this.results.delete(this.results.keys().next().value!);
    this.diagnose(doc, r);
    this.changed.fire();
    this.measured.fire(doc.uri);
  }

  /** Through the workspace's warm tracer (torch imported once), made for the Python found; without one, the one-shot tracer says why. */
  private async trace(file: string, opts: TraceAllOptions): Promise<TraceSetResult> {
    const found = await findTorchPython(opts).catch(() => null);
    if (!found) return traceAllSources(file, opts);
    if (this.server?.python !== found.probe.executable) {
      this.server?.dispose();
      this.server = new TraceServer(found.probe.executable);
    }
    return this.server.trace(file, opts);
  }

  /** One diagnostic per model that could not be measured (or for the file), at the line its traceback names. */
  private diagnose(doc: vscode.TextDocument, r: TraceSetResult): void {
    const failures: { model: string | null; error: TraceError }[] = r.ok ? r.models.flatMap((x) => (x.ok ? [] : [{ model: x.model, error: x.error }])) : [{ model: null, error: r.error }];
    this.diagnostics.set(
      doc.uri,
      failures.filter((f) => f.error.phase !== 'torch').map(({ model, error }) => {
        const line = Math.min(Math.max((error.line ?? 1) - 1, 0), doc.lineCount - 1);
        const d = new vscode.Diagnostic(doc.lineAt(line).range, `LAuReL could not measure ${model ?? 'the model'} (${error.phase}): ${error.message}`, error.phase === 'model' || error.phase === 'input' ? vscode.DiagnosticSeverity.Warning : vscode.DiagnosticSeverity.Error);
        d.source = 'laurel';
        return d;
      }),
    );
  }

  /** A lens click: the plan's edits as one WorkspaceEdit, laurel_residual.py beside the file, then a measurement. */
  async apply(uri: vscode.Uri, spec: string): Promise<boolean> {
    const doc = await vscode.workspace.openTextDocument(uri);
    const { model, state } = this.model(doc);
    try {
      if (state.kind !== 'measured') throw new Error('the file changed since it was measured; save it (or run LAuReL: Measure) first');
      const c = vscode.workspace.getConfiguration('laurel');
      const planned = planPy(model, spec, readVariantOptions((k) => c.get(k)));
      if (!planned.edits.length) return true;
      if (planned.usesLaurel) writeCompanion(dirname(doc.fileName));
      const edit = new vscode.WorkspaceEdit();
      for (const e of planned.edits) edit.replace(uri, new vscode.Range(doc.positionAt(e.offset), doc.positionAt(e.offset + e.length)), e.content);
      // No await between reading the model and this edit: the offsets are those of the document now.
      if (!(await vscode.workspace.applyEdit(edit))) throw new Error('the editor refused the edit');
      void this.measure(doc);
      return true;
    } catch (e) {
      void vscode.window.showErrorMessage(`LAuReL: ${spec}: ${e instanceof Error ? e.message : String(e)}`);
      return false;
    }
  }
}
