/**
 * The extension's one owner of models: reads each document once per version, reports read errors as
 * diagnostics, and turns plans into edits (a WorkspaceEdit for text, an atomic write for .keras).
 * The CodeLens, the commands and the graph view all go through it.
 */
import * as vscode from 'vscode';
import { writeFileAtomic } from '../util/fsAtomic';
import type { VariantChoice, VariantOptions } from '../core/laurel/variants';
import { openModel } from '../core/model';
import type { OpenModel } from '../core/model';
import type { Container } from '../core/ir';
import type { TextEdit } from '../core/write/planEdits';
import { writeDocument } from '../core/write/writeDocument';
import { isKerasArchiveName, looksLikeModelText, SNIFF_CHARS } from './modelSniff';
import { readDefaultVariant, readVariantOptions } from './settings';
import { unknownLayerProblems, type UnknownLayerProblem } from './unknownLayers';
import { documentPositions } from './documentPositions';
import { errorPosition } from './textPositions';
import { join } from 'node:path';
import { aboutFile } from './fileMessages';
import { DocumentTexts } from './documentText';
import { LensEngine } from './lensEngine';
import { ModelQueries, textDocument } from './modelQueries';
import { planChoice, type ChoicePlan } from './choicePlan';
import type { CommandAnswer, CommandQuery } from './commandFacts';
import type { LensError, LensResult } from './lensJob';

export type ModelState = { ok: true; model: OpenModel; version: string } | { ok: false; error: Error; version: string };

const decoder = new TextDecoder();

const config = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration('laurel');

/** Whether an open document is a model file by its content (cheap: the first few KB). */
export function isModelDocument(doc: vscode.TextDocument): boolean {
  return (doc.languageId === 'json' || doc.languageId === 'jsonc') && looksLikeModelText(doc.getText(new vscode.Range(doc.positionAt(0), doc.positionAt(SNIFF_CHARS))));
}

/**
 * A `.keras` archive open in the custom editor: its bytes as edited (not yet saved) and the way an edit
 * reaches its undo stack. While one is open, the controller reads and edits it instead of the file on disk.
 */
export interface ArchiveDocument {
  readonly uri: vscode.Uri;
  /** Changes with every edit, undo, redo and revert. */
  readonly version: number;
  readonly bytes: Uint8Array;
  /** Replace the bytes as one undoable edit labelled `label`. */
  edit(bytes: Uint8Array, label: string): void;
}

export class ModelController implements vscode.Disposable {
  private readonly states = new Map<string, ModelState>();
  private readonly archives = new Map<string, ArchiveDocument>();
  private readonly diagnostics = vscode.languages.createDiagnosticCollection('laurel');
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  private readonly disposables: vscode.Disposable[] = [this.diagnostics, this.changed];
  private readonly pending = new Map<string, ReturnType<typeof setTimeout>>();
  /** Each open document's text at its last version asked, read in slices (VS Code joins its lines anew at every getText()). */
  private readonly docTexts = new DocumentTexts<vscode.TextDocument>((doc, start, end) => doc.getText(new vscode.Range(start, 0, end, 0)));
  /**
   * Lenses, diagnostics, hovers, clicks, graph snapshots and models, all read in the analysis worker (a
   * formatted ResNet-50 took 23 ms CPU on the host and up to 72 ms wall on a loaded machine; every size
   * now costs the host only the posting of the text).
   */
  private readonly engine = new LensEngine({ workerFile: join(__dirname, 'analysisWorker.js'), workerAbove: 0, debounceMs: 100 });
  /** Clicks, hovers, the graph snapshot and the Residuals view's rows, answered by the worker. */
  readonly queries = new ModelQueries({
    engine: this.engine,
    texts: this.docTexts,
    label: (uri) => this.label(uri),
    options: () => this.options(),
    isModel: isModelDocument,
    fromUri: (uri) => this.fromUri(uri),
  });

  /** Fires when a model's text changed or was rewritten (after the edit is applied). */
  readonly onDidChangeModel = this.changed.event;

  constructor() {
    this.disposables.push(
      vscode.workspace.onDidOpenTextDocument((d) => this.refreshSoon(d, 0)),
      vscode.workspace.onDidChangeTextDocument((e) => this.refreshSoon(e.document, 300)),
      vscode.workspace.onDidCloseTextDocument((d) => {
        this.states.delete(d.uri.toString());
        this.docTexts.forget(d.uri.toString());
        this.engine.forget(d.uri.toString());
        this.diagnostics.delete(d.uri);
      }),
    );
    for (const d of vscode.workspace.textDocuments) this.refreshSoon(d, 0);
  }

  dispose(): void {
    for (const t of this.pending.values()) clearTimeout(t);
    this.engine.dispose();
    for (const d of this.disposables) d.dispose();
  }

  options(): VariantOptions {
    const c = config();
    return readVariantOptions((k) => c.get(k));
  }

  defaultVariant(): VariantChoice['variant'] {
    const c = config();
    return readDefaultVariant((k) => c.get(k));
  }

  /** Diagnostics follow typing with a short delay, so that a large model is not read on every key. */
  private refreshSoon(doc: vscode.TextDocument, delay: number): void {
    if (!isModelDocument(doc) && !this.states.has(doc.uri.toString())) return;
    const key = doc.uri.toString();
    clearTimeout(this.pending.get(key));
    this.pending.set(
      key,
      setTimeout(() => {
        this.pending.delete(key);
        if (doc.isClosed) return;
        if (!isModelDocument(doc)) {
          this.drop(doc);
          this.changed.fire(doc.uri);
          return;
        }
        void this.lenses(doc).then((r) => r && this.changed.fire(doc.uri));
      }, delay),
    );
  }

  private drop(doc: vscode.TextDocument): void {
    const key = doc.uri.toString();
    this.states.delete(key);
    this.docTexts.forget(key);
    this.engine.forget(key);
    this.diagnostics.delete(doc.uri);
  }

  /**
   * The lenses of a model document, or its read error (also shown as its diagnostic): once per content,
   * in a worker for large texts. Undefined when it is not a model, or when newer text superseded this.
   */
  async lenses(doc: vscode.TextDocument): Promise<LensResult | undefined> {
    if (!isModelDocument(doc)) return undefined;
    const version = doc.version;
    const text = await this.docTexts.get(doc);
    const result = await this.engine.request(doc.uri.toString(), { fileName: this.label(doc.uri), text, options: this.options() });
    if (result && !doc.isClosed && doc.version === version) {
      if (result.ok) this.setUnknownLayerDiagnostics(doc.uri, result.unknownLayers, result.container, doc);
      else this.showError(doc, result.error, text);
    }
    return result;
  }

  private showError(doc: vscode.TextDocument, e: LensError | undefined, text: string): void {
    if (!e) return void this.diagnostics.delete(doc.uri);
    // A location inside a JSON string or an archive member has no place in this text: show it at the top.
    const pos = e.line !== undefined ? errorPosition(e.line, e.column, text.charCodeAt(0) === 0xfeff ? 1 : 0) : { line: 0, character: 0 };
    const start = doc.validatePosition(new vscode.Position(pos.line, pos.character));
    const end = doc.validatePosition(start.translate(0, 1));
    const d = new vscode.Diagnostic(new vscode.Range(start, end), e.message, vscode.DiagnosticSeverity.Error);
    d.source = 'LAuReL';
    this.diagnostics.set(doc.uri, [d]);
  }

  /** A warning at each layer of unknown class (custom layers): its counts, shapes and inner residuals are unknown. */
  private setUnknownLayerDiagnostics(uri: vscode.Uri, problems: UnknownLayerProblem[], container: Container, doc?: vscode.TextDocument): void {
    if (!problems.length) return void this.diagnostics.delete(uri);
    // Offsets are document offsets only when the document is the model text; else the warnings sit at the top.
    const pos = doc !== undefined && container === 'plain' ? documentPositions(doc) : undefined;
    this.diagnostics.set(
      uri,
      problems.map((p) => {
        const range = pos && p.span ? pos.range(p.span) : new vscode.Range(0, 0, 0, 1);
        const d = new vscode.Diagnostic(range, pos ? p.message : `${p.message} (in ${container === 'keras-zip' ? 'config.json' : 'the model JSON string'})`, vscode.DiagnosticSeverity.Warning);
        d.source = 'LAuReL';
        d.code = 'unknown-layer';
        return d;
      }),
    );
  }

  /** The custom editor opened `archive`: reads and edits of its uri go to it until the returned disposable. */
  openArchive(archive: ArchiveDocument): vscode.Disposable {
    const key = archive.uri.toString();
    this.archives.set(key, archive);
    return new vscode.Disposable(() => {
      if (this.archives.get(key) !== archive) return;
      this.archives.delete(key);
      this.states.delete(key);
      this.diagnostics.delete(archive.uri);
      this.changed.fire(archive.uri);
    });
  }

  /** The archive's bytes changed (edit, undo, redo, revert): tell the lenses, views and graph. */
  archiveChanged(uri: vscode.Uri): void {
    this.changed.fire(uri);
  }

  private fromArchive(archive: ArchiveDocument): ModelState {
    const version = `a${archive.version}`;
    const cached = this.states.get(archive.uri.toString());
    if (cached?.version === version) return cached;
    const state = this.read(archive.uri, archive.bytes, version);
    this.states.set(archive.uri.toString(), state);
    if (state.ok) this.setUnknownLayerDiagnostics(archive.uri, unknownLayerProblems(state.model), state.model.doc.container);
    return state;
  }

  /**
   * The model of a `.keras` archive (the open custom editor's bytes, else the file), read on the host: an
   * archive has no text to post to the worker, and its edits rewrite the zip from this model. A text model
   * is never copied to the host: the views and commands ask the analysis worker (`queries`).
   */
  async fromUri(uri: vscode.Uri): Promise<ModelState> {
    const archive = this.archives.get(uri.toString());
    if (archive) return this.fromArchive(archive);
    if (!isKerasArchiveName(uri.path)) return { ok: false, error: new Error(`${this.label(uri)} is not a .keras archive`), version: '' };
    const stat = await vscode.workspace.fs.stat(uri);
    const version = `m${stat.mtime}:${stat.size}`;
    const cached = this.states.get(uri.toString());
    if (cached?.version === version) return cached;
    const state = this.read(uri, await vscode.workspace.fs.readFile(uri), version);
    this.states.set(uri.toString(), state);
    if (state.ok) this.setUnknownLayerDiagnostics(uri, unknownLayerProblems(state.model), state.model.doc.container);
    return state;
  }

  /** A .keras archive's model without reading a file: the open custom editor's bytes, or the last read. */
  archiveState(uri: vscode.Uri): ModelState | undefined {
    const archive = this.archives.get(uri.toString());
    return archive ? this.fromArchive(archive) : this.states.get(uri.toString());
  }

  private read(uri: vscode.Uri, bytes: Uint8Array, version: string): ModelState {
    try {
      return { ok: true, model: openModel(this.label(uri), bytes), version };
    } catch (e) {
      return { ok: false, error: e instanceof Error ? e : new Error(String(e)), version };
    }
  }

  label(uri: vscode.Uri): string {
    return vscode.workspace.asRelativePath(uri, false);
  }

  /** A .keras archive's model that reads, or a shown error and undefined: nothing is ever edited from a file that fails to read. */
  async require(uri: vscode.Uri): Promise<OpenModel | undefined> {
    const state = await this.fromUri(uri);
    if (state.ok) return state.model;
    void vscode.window.showErrorMessage(`LAuReL: cannot read ${aboutFile(this.label(uri), state.error.message)}; nothing was changed`);
    return undefined;
  }

  /**
   * What a command needs of the model at `uri` (see commandFacts.ts), answered without copying the model to
   * the host; or, as `require`, a shown error and undefined (also when superseded by the same command).
   */
  async ask<W extends CommandQuery['what']>(uri: vscode.Uri, query: Extract<CommandQuery, { what: W }>): Promise<Extract<CommandAnswer, { what: W }> | undefined> {
    const r = await this.queries.command(uri, query);
    if (r?.ok) return r.answer as Extract<CommandAnswer, { what: W }>;
    if (r) void vscode.window.showErrorMessage(`LAuReL: cannot read ${aboutFile(this.label(uri), r.error.message)}; nothing was changed`);
    return undefined;
  }

  /**
   * Give `choice` to the residuals `siteIds` (every residual when omitted). Text files change through one
   * WorkspaceEdit (undo, redo and the dirty state work as for typing); a .keras archive is rewritten on disk
   * after the user confirms.
   */
  async applyChoice(uri: vscode.Uri, choice: VariantChoice, siteIds?: readonly string[]): Promise<boolean> {
    const doc = await textDocument(uri);
    if (doc) return this.applyToDocument(doc, choice, siteIds);
    // A .keras archive: planned on the host from its bytes, written through its editor or atomically.
    const m = await this.require(uri);
    if (!m) return false;
    const plan = planChoice(m, choice, siteIds);
    if (plan.kind !== 'edits') return this.planMessage(uri, plan);
    const ok = await this.write(uri, m, plan.edits, plan.what);
    if (ok) vscode.window.setStatusBarMessage(`LAuReL: ${plan.what}`, 5000);
    return ok;
  }

  /**
   * A text file: the edits are planned in the analysis worker from the text as it is now (the host copies no
   * model), then applied as one WorkspaceEdit; planned again if the text changed meanwhile.
   */
  private async applyToDocument(doc: vscode.TextDocument, choice: VariantChoice, siteIds?: readonly string[]): Promise<boolean> {
    const uri = doc.uri;
    if (!isModelDocument(doc)) {
      void vscode.window.showErrorMessage(`LAuReL: cannot read ${aboutFile(this.label(uri), 'it does not look like a model file')}; nothing was changed`);
      return false;
    }
    for (;;) {
      const version = doc.version;
      const r = await this.engine.plan(uri.toString(), { fileName: this.label(uri), text: await this.docTexts.get(doc), choice, ...(siteIds ? { siteIds } : {}) });
      // Superseded by another apply of the same document: that one goes ahead.
      if (!r) return false;
      if (!r.ok) {
        void vscode.window.showErrorMessage(`LAuReL: cannot read ${aboutFile(this.label(uri), r.error.message)}; nothing was changed`);
        return false;
      }
      if (doc.isClosed) return false;
      if (doc.version !== version) continue;
      const plan = r.plan;
      if (plan.kind !== 'edits') return this.planMessage(uri, plan);
      const we = new vscode.WorkspaceEdit();
      if (plan.text !== undefined) we.replace(uri, new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)), plan.text);
      else {
        const pos = documentPositions(doc);
        for (const e of plan.edits) we.replace(uri, pos.range(e), e.content);
      }
      const ok = await vscode.workspace.applyEdit(we);
      if (!ok) void vscode.window.showErrorMessage(`LAuReL: VS Code did not apply the edit to ${this.label(uri)}`);
      else vscode.window.setStatusBarMessage(`LAuReL: ${plan.what}`, 5000);
      return ok;
    }
  }

  /** What a plan that writes nothing says: unknown residuals and a refused plan are errors; no change is news. */
  private planMessage(uri: vscode.Uri, plan: Exclude<ChoicePlan, { kind: 'edits' }>): boolean {
    if (plan.kind === 'unknown') void vscode.window.showErrorMessage(`LAuReL: no residual ${plan.siteIds.join(', ')} in ${this.label(uri)} (it changed since the lens was drawn?)`);
    else if (plan.kind === 'failed') void vscode.window.showErrorMessage(`LAuReL: ${plan.message}`);
    else void vscode.window.showInformationMessage(`LAuReL: ${this.label(uri)} already has ${plan.what.replace(/:.*$/, '')}`);
    return plan.kind === 'same';
  }

  /** Edits of the model text of a plain JSON document, as one WorkspaceEdit (one undo step). */
  async writeTextEdits(doc: vscode.TextDocument, edits: readonly TextEdit[]): Promise<boolean> {
    const we = new vscode.WorkspaceEdit();
    const pos = documentPositions(doc);
    for (const e of edits) we.replace(doc.uri, pos.range(e), e.content);
    const ok = await vscode.workspace.applyEdit(we);
    if (!ok) void vscode.window.showErrorMessage(`LAuReL: VS Code did not apply the edit to ${this.label(doc.uri)}`);
    return ok;
  }

  /** Write edits of the model text back into the file, in the way its container allows. */
  async write(uri: vscode.Uri, m: OpenModel, edits: TextEdit[], what: string): Promise<boolean> {
    const archive = this.archives.get(uri.toString());
    if (m.doc.container === 'keras-zip' && archive) {
      // Open in the custom editor: an undoable edit of its bytes, written when the user saves.
      archive.edit(writeDocument(m.doc, edits), what);
      this.changed.fire(uri);
      return true;
    }
    if (m.doc.container === 'keras-zip') {
      const yes = 'Rewrite archive';
      const answer = await vscode.window.showWarningMessage(
        `Rewrite ${this.label(uri)} (${what})? A .keras archive is written to disk directly; there is no undo.`,
        { modal: true },
        yes,
      );
      if (answer !== yes) return false;
      const bytes = writeDocument(m.doc, edits);
      try {
        // Refused if the archive changed on disk since it was read: that change would be lost.
        if (uri.scheme === 'file') writeFileAtomic(uri.fsPath, bytes, { expect: m.doc.bytes });
        else await vscode.workspace.fs.writeFile(uri, bytes);
      } catch (e) {
        void vscode.window.showErrorMessage(`LAuReL: ${e instanceof Error ? e.message : String(e)}`);
        return false;
      }
      this.states.delete(uri.toString());
      this.changed.fire(uri);
      return true;
    }
    const doc = await vscode.workspace.openTextDocument(uri);
    if (m.doc.container === 'plain') return this.writeTextEdits(doc, edits);
    // A JSON string: the whole string is encoded again, so the edit replaces the whole content.
    const we = new vscode.WorkspaceEdit();
    we.replace(uri, new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)), decoder.decode(writeDocument(m.doc, edits)));
    const ok = await vscode.workspace.applyEdit(we);
    if (!ok) void vscode.window.showErrorMessage(`LAuReL: VS Code did not apply the edit to ${this.label(uri)}`);
    return ok;
  }
}
