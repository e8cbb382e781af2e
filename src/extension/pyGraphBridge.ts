/**
 * The graph view of a PyTorch .py model (GraphController in graphPanel.ts), backed by the .py lenses'
 * measurements: the graph is drawn from the trace of exactly the editor's text, a switch is the lens's source
 * edit, a click reveals the box's line. Measuring runs the file, so it needs a trusted workspace and the
 * workspace's one-time consent, asked by Open Graph as the lens's Measure asks it.
 */
import * as vscode from 'vscode';
import { choiceSpec } from '../core/laurel/planSpec';
import type { VariantOptions } from '../core/laurel/variants';
import type { GraphController } from './graphPanel';
import { undoInEditor } from './graphBridge';
import { snapshotBytes } from './graphSnapshot';
import type { PyModelLenses } from './pyLenses';
import { pyGraphSnapshot, unmeasuredText } from './pyGraphSnapshot';
import { readVariantOptions } from './settings';

export const isPyUri = (uri: vscode.Uri): boolean => uri.path.toLowerCase().endsWith('.py');

const fileName = (uri: vscode.Uri): string => uri.path.split('/').pop() ?? uri.path;

const options = (): VariantOptions => {
  const c = vscode.workspace.getConfiguration('laurel');
  return readVariantOptions((k) => c.get(k));
};

export class PyGraphController implements GraphController {
  readonly onDidChange: vscode.Event<vscode.Uri>;
  private readonly emitter = new vscode.EventEmitter<vscode.Uri>();
  private readonly cache = new Map<string, { key: string; graph: Uint8Array }>();
  /** File → the model expression its view draws (absent: the first model). */
  private readonly chosen = new Map<string, string>();
  private readonly disposables: vscode.Disposable[] = [this.emitter];

  constructor(private readonly lenses: PyModelLenses) {
    this.onDidChange = this.emitter.event;
    const timers = new Map<string, ReturnType<typeof setTimeout>>();
    this.disposables.push(
      lenses.onDidChangeMeasurement((uri) => this.emitter.fire(uri)),
      // An edit: the view says the graph is of the measured text until the next measurement (debounced: not per key).
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (!isPyUri(e.document.uri) || e.contentChanges.length === 0) return;
        const key = e.document.uri.toString();
        clearTimeout(timers.get(key));
        timers.set(key, setTimeout(() => this.emitter.fire(e.document.uri), 300));
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (!e.affectsConfiguration('laurel')) return;
        for (const d of vscode.workspace.textDocuments) if (isPyUri(d.uri)) this.emitter.fire(d.uri);
      }),
      { dispose: () => timers.forEach((t) => clearTimeout(t)) },
    );
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }

  /**
   * Which of the file's models the view draws: `model` (an expression, from a model's Open graph lens), else the
   * model whose class holds the cursor of the file's editor, else the first (the one training uses).
   */
  choose(uri: vscode.Uri, model?: string): void {
    const key = uri.toString();
    if (model !== undefined) return void this.chosen.set(key, model);
    const editor = vscode.window.activeTextEditor;
    if (editor?.document.uri.toString() !== key) return;
    const { model: m } = this.lenses.model(editor.document);
    const at = editor.selection.active.line + 1;
    const cls = m.statics.classes.filter((c) => c.line <= at).pop();
    const view = cls && m.views.find((v) => v.trace.modules[0]?.cls === cls.name);
    if (view) this.chosen.set(key, view.name);
    else this.chosen.delete(key);
  }

  /** Open Graph: open the text, and measure it when not yet (asking for trust and consent as the lens does). */
  async prepare(uri: vscode.Uri): Promise<void> {
    const doc = await vscode.workspace.openTextDocument(uri);
    const { state } = this.lenses.model(doc);
    if (state.kind === 'none' && vscode.workspace.isTrusted) await this.lenses.measureCommand(uri);
    this.emitter.fire(uri);
  }

  async snapshot(uri: vscode.Uri): Promise<Uint8Array | { error: string }> {
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    if (!doc) {
      // After a window reload the panel comes back before its file is open.
      void vscode.workspace.openTextDocument(uri).then(
        () => this.emitter.fire(uri),
        (e: unknown) => void vscode.window.showErrorMessage(`LAuReL graph: ${e instanceof Error ? e.message : String(e)}`),
      );
      return { error: `Opening ${fileName(uri)}…` };
    }
    const { model, state } = this.lenses.model(doc);
    if (state.kind !== 'measured' || !model.trace) return { error: unmeasuredText(fileName(uri), state, this.lenses.allowed()) };
    const o = options();
    const chosen = this.chosen.get(uri.toString());
    const key = `${doc.version}:${JSON.stringify(o)}:${chosen ?? ''}`;
    const hit = this.cache.get(uri.toString());
    if (hit?.key === key) return hit.graph;
    const graph = snapshotBytes(pyGraphSnapshot(model, o, chosen));
    this.cache.set(uri.toString(), { key, graph });
    return graph;
  }

  async applyVariant(uri: vscode.Uri, siteIds: string[], choice: { variant: string; options: { rank: number; k: number } }): Promise<void> {
    const doc = await vscode.workspace.openTextDocument(uri);
    const { model } = this.lenses.model(doc);
    // Only the model's own editable lines: an id from the view never becomes a wildcard or `all` in the plan.
    const known = new Map(model.sites.map((s) => [s.id, s]));
    const ids = siteIds.filter((id) => known.get(id)?.editable);
    if (ids.length === 0) throw new Error(siteIds.map((id) => `${id}: ${known.get(id)?.reason ?? 'not a residual line of the measured model'}`).join('; '));
    const o = options();
    const spec = ids.map((id) => choiceSpec({ variant: choice.variant as never, options: { ...o, rank: choice.options.rank, k: choice.options.k } }, id)).join(',');
    await this.lenses.apply(uri, spec);
  }

  reveal(uri: vscode.Uri, _layer: string, line?: number): void {
    if (line === undefined) return;
    void (async () => {
      const doc = await vscode.workspace.openTextDocument(uri);
      const shown = vscode.window.visibleTextEditors.find((e) => e.document === doc);
      // The graph keeps the focus: clicking box after box walks through the source.
      const editor = await vscode.window.showTextDocument(doc, { viewColumn: shown?.viewColumn ?? vscode.ViewColumn.One, preserveFocus: true });
      const l = Math.min(Math.max(line - 1, 0), doc.lineCount - 1);
      const text = doc.lineAt(l);
      const at = new vscode.Position(l, text.firstNonWhitespaceCharacterIndex);
      editor.selection = new vscode.Selection(at, at);
      editor.revealRange(text.range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    })();
  }

  undo(uri: vscode.Uri, redo: boolean): Promise<void> {
    return undoInEditor(uri, redo);
  }

  followsCursor(): boolean {
    return true;
  }
}
