/**
 * The CodeLens above a model and above each residual: a thin adapter from lensSpecs.ts to vscode.
 * On a read error there are no lenses; the controller's diagnostic says what is wrong instead.
 */
import * as vscode from 'vscode';
import type { ModelController } from './modelController';
import { readCodeLensEnabled } from './settings';

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
    // Read once per content; a large text in a worker thread, so the editor stays responsive meanwhile.
    const result = await this.controller.lenses(document);
    if (!result?.ok || token.isCancellationRequested) return [];
    return result.lenses.map(
      (s) =>
        new vscode.CodeLens(new vscode.Range(s.line, 0, s.line, 0), {
          title: s.title,
          command: s.command,
          arguments: [document.uri, ...s.args],
          ...(s.tooltip ? { tooltip: s.tooltip } : {}),
        }),
    );
  }
}
