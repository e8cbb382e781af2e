import * as vscode from 'vscode';
import { webviewHtml } from './webviewHtml';
import { validateTrainingMessage } from '../protocol/trainingPanel';
import type { TrainingHistory, TrainingHostToWebview, TrainingWebviewToHost } from '../protocol/trainingPanel';

/**
 * What the training panel needs from the sessions: the history (kept in the host, so a hidden and shown
 * again panel gets everything back), its changes, and the two actions. The panel knows nothing else.
 */
export interface TrainingPanelSource {
  history(): TrainingHistory;
  onDidChange: vscode.Event<void>;
  /** The Cancel button. */
  cancel(reason: string): void;
  showLog(): void;
  /** The user closed the panel: runs in progress are cancelled (nobody would see them end). */
  panelClosed(): void;
  /** The Export report.md button of a finished comparison. */
  exportReport?(job: number): void;
}

/** Snapshots go out at most this often while batches stream in (ms). */
const POST_INTERVAL = 250;

/** The one training panel: curves, the backend, Cancel, and the comparison table at the end. */
export class TrainingPanel implements vscode.Disposable {
  static readonly viewType = 'laurel.training';
  private static current: TrainingPanel | undefined;

  private ready = false;
  private version = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastPost = 0;
  private readonly disposables: vscode.Disposable[] = [];

  /** Open the panel, or bring it forward without taking the focus from the editor. */
  static show(context: vscode.ExtensionContext, source: TrainingPanelSource): TrainingPanel {
    const existing = TrainingPanel.current;
    if (existing) {
      if (!existing.panel.visible) existing.panel.reveal(undefined, true);
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(TrainingPanel.viewType, 'LAuReL Training', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, TrainingPanel.options(context));
    return (TrainingPanel.current = new TrainingPanel(panel, context, source));
  }

  /** The panel VS Code kept across a reload (registerWebviewPanelSerializer): it shows the restored history. */
  static revive(panel: vscode.WebviewPanel, context: vscode.ExtensionContext, source: TrainingPanelSource): TrainingPanel {
    TrainingPanel.current?.panel.dispose();
    panel.webview.options = TrainingPanel.options(context);
    return (TrainingPanel.current = new TrainingPanel(panel, context, source));
  }

  private static options(context: vscode.ExtensionContext): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    return {
      enableScripts: true,
      // Only our bundles and stylesheets: never the workspace (the history arrives by postMessage).
      localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(context.extensionUri, 'media')],
    };
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly context: vscode.ExtensionContext,
    private readonly source: TrainingPanelSource,
  ) {
    panel.webview.html = this.html();
    this.disposables.push(
      panel.onDidDispose(() => {
        this.dispose();
        source.panelClosed();
      }),
      // Hidden webviews are torn down (no retainContextWhenHidden): wait for the next `ready`, then send all.
      panel.onDidChangeViewState(() => {
        if (!panel.visible) this.ready = false;
      }),
      panel.webview.onDidReceiveMessage((raw: unknown) => {
        const msg = validateTrainingMessage(raw);
        if (msg) this.handle(msg); // untrusted input: anything malformed is dropped
      }),
      source.onDidChange(() => this.schedule()),
    );
  }

  private handle(msg: TrainingWebviewToHost): void {
    switch (msg.type) {
      case 'ready':
        this.ready = true;
        this.postNow();
        return;
      case 'cancel':
        this.source.cancel('cancelled from the training panel');
        return;
      case 'showLog':
        this.source.showLog();
        return;
      case 'exportReport':
        this.source.exportReport?.(msg.job);
        return;
    }
  }

  /** Full snapshots, throttled: batches arrive about once a second per run, the panel redraws at most 4×/s. */
  private schedule(): void {
    if (!this.ready || this.timer) return;
    const wait = Math.max(0, this.lastPost + POST_INTERVAL - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.postNow();
    }, wait);
  }

  private postNow(): void {
    if (!this.ready) return;
    this.lastPost = Date.now();
    const msg: TrainingHostToWebview = { type: 'history', history: this.source.history(), version: ++this.version };
    void this.panel.webview.postMessage(msg);
  }

  private html(): string {
    return webviewHtml(this.panel.webview, this.context.extensionUri, {
      title: 'LAuReL training',
      script: ['dist', 'webview', 'training.js'],
      styles: [['dist', 'webview', 'training.css'], ['media', 'training.css']],
    });
  }

  dispose(): void {
    if (TrainingPanel.current === this) TrainingPanel.current = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }
}
