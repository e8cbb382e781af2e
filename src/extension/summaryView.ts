/**
 * Show Summary: a read-only virtual document (no save prompt) with the Keras-style table, the residual
 * sites and the current plan; it follows the model as it is edited.
 */
import * as vscode from 'vscode';
import type { ModelController } from './modelController';

export class SummaryView implements vscode.TextDocumentContentProvider, vscode.Disposable {
  static readonly scheme = 'laurel-summary';
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  private readonly shown = new Map<string, vscode.Uri>();
  private readonly disposables: vscode.Disposable[];
  readonly onDidChange = this.changed.event;

  constructor(private readonly controller: ModelController) {
    this.disposables = [
      this.changed,
      vscode.workspace.registerTextDocumentContentProvider(SummaryView.scheme, this),
      controller.onDidChangeModel((uri) => {
        const summary = this.shown.get(uri.toString());
        if (summary) this.changed.fire(summary);
      }),
    ];
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const source = vscode.Uri.parse(uri.query, true);
    // Written in the analysis worker: the host gets the text, not the model.
    // Superseded (the document closed meanwhile): asked once more.
    const r = (await this.controller.queries.command(source, { what: 'summary' })) ?? (await this.controller.queries.command(source, { what: 'summary' }));
    if (!r?.ok) return `${this.controller.label(source)} cannot be read:\n\n${r ? r.error.message : 'it changed while the summary was being written'}\n`;
    return r.answer.what === 'summary' ? r.answer.text : '';
  }

  async show(source: vscode.Uri): Promise<void> {
    const name = source.path.split('/').pop() ?? 'model';
    const uri = vscode.Uri.from({ scheme: SummaryView.scheme, path: `/${name} (LAuReL summary)`, query: source.toString() });
    this.shown.set(source.toString(), uri);
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: true, preserveFocus: false });
  }
}
