/**
 * The CodeLens above a model and above each residual: a thin adapter from lensSpecs.ts to vscode.
 * On a read error there are no lenses; the controller's diagnostic says what is wrong instead.
 */
import * as vscode from 'vscode';
import { buildLenses } from './lensSpecs';
import type { ModelController } from './modelController';
import { readCodeLensEnabled } from './settings';
import { TextPositions } from './textPositions';

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

  provideCodeLenses(document: vscode.TextDocument, token: vscode.CancellationToken): vscode.CodeLens[] {
    const c = vscode.workspace.getConfiguration('laurel');
    if (!readCodeLensEnabled((k) => c.get(k))) return [];
    const state = this.controller.fromDocument(document);
    if (!state?.ok || token.isCancellationRequested) return [];
    const m = state.model;
    // Offsets of the model text are document offsets only when the file is that text.
    const positions = m.doc.container === 'plain' ? new TextPositions(document.getText(), m.doc.text) : undefined;
    const specs = buildLenses(m, this.controller.options(), positions && ((offset) => positions.position(offset).line));
    return specs.map(
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
