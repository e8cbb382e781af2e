/**
 * The CodeLens above a model and above each residual: a thin adapter from lensSpecs.ts to vscode.
 * On a read error there are no lenses; the controller's diagnostic says what is wrong instead.
 */
import * as vscode from 'vscode';
import type { ModelController } from './modelController';
import { lensAt, type LensTable } from './lensTable';
import { readCodeLensEnabled } from './settings';
import { nextTurn } from './nextTurn';

/** Lenses made per slice before the host's thread is given back (a 20,000-layer model has 19,197). */
const SLICE = 2000;

/** A lens whose title and command are made from its table row when VS Code resolves it (it came on screen). */
class ModelLens extends vscode.CodeLens {
  constructor(
    line: number,
    readonly uri: vscode.Uri,
    readonly table: LensTable,
    readonly index: number,
  ) {
    super(new vscode.Range(line, 0, line, 0));
  }
}

/** JSON documents on disk or untitled; never '*'. */
export const MODEL_SELECTOR: vscode.DocumentSelector = [
  { language: 'json', scheme: 'file' },
  { language: 'json', scheme: 'untitled' },
  { language: 'jsonc', scheme: 'file' },
];

export class ModelCodeLensProvider implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private timer: ReturnType<typeof setTimeout> | undefined;
  readonly onDidChangeCodeLenses = this.changed.event;

  constructor(private readonly controller: ModelController) {
    this.disposables.push(
      controller.onDidChangeModel(() => this.refresh()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('laurel')) this.refresh();
      }),
    );
  }

  /** Debounced: a burst of edits or setting changes redraws once. */
  refresh(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.changed.fire(), 100);
  }

  dispose(): void {
    clearTimeout(this.timer);
    for (const d of this.disposables) d.dispose();
  }

  async provideCodeLenses(document: vscode.TextDocument, token: vscode.CancellationToken): Promise<vscode.CodeLens[]> {
    const c = vscode.workspace.getConfiguration('laurel');
    if (!readCodeLensEnabled((k) => c.get(k))) return [];
    // Read once per content, in the analysis worker, so the editor stays responsive meanwhile.
    const result = await this.controller.lenses(document);
    if (!result?.ok || token.isCancellationRequested) return [];
    // Only ranges here, in slices that give the thread back between them; titles come in resolveCodeLens.
    const t = result.lenses;
    const out: vscode.CodeLens[] = [];
    for (let i = 0; i < t.count; i++) {
      if (i > 0 && i % SLICE === 0) {
        await nextTurn();
        if (token.isCancellationRequested) return [];
      }
      out.push(new ModelLens(t.lines[i]!, document.uri, t, i));
    }
    return out;
  }

  resolveCodeLens(lens: vscode.CodeLens): vscode.CodeLens {
    if (!(lens instanceof ModelLens)) return lens;
    const s = lensAt(lens.table, lens.index);
    lens.command = { title: s.title, command: s.command, arguments: [lens.uri, ...s.args], ...(s.tooltip ? { tooltip: s.tooltip } : {}) };
    return lens;
  }
}
