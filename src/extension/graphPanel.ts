import * as vscode from 'vscode';
import { webviewHtml } from './webviewHtml';
import { DEFAULT_OPTIONS } from '../core/laurel/variants';
import type { VariantChoice } from '../core/laurel/variants';
import { validateWebviewMessage } from '../protocol/webviewProtocol';
import type { HostToWebview, WebviewToHost } from '../protocol/webviewProtocol';

/**
 * What the graph view needs from the extension: the model cache (snapshots), the write path (applying a
 * variant through a WorkspaceEdit) and the editor (revealing a layer). The panel knows nothing else.
 */
export interface GraphController {
  /**
   * The current snapshot of the model at `uri` as the UTF-8 JSON the webview parses (a model file's is built
   * in the analysis worker and never parsed or copied on the host), or why there is none (read or analysis
   * error); undefined when newer text superseded this request (a newer snapshot follows).
   */
  snapshot(uri: vscode.Uri): Promise<Uint8Array | { error: string } | undefined>;
  /** Switch the given residual sites to `choice` (plain reverts them); the change comes back through onDidChange. */
  applyVariant(uri: vscode.Uri, siteIds: string[], choice: VariantChoice): Promise<void>;
  /** Show the layer in the model file's text editor (a .py model: its source `line`). */
  reveal(uri: vscode.Uri, layer: string, line?: number): void;
  /** Undo (or redo) the last edit of the model file, as Ctrl+Z in its editor would. */
  undo(uri: vscode.Uri, redo: boolean): Promise<void>;
  /** Fires with a model's URI whenever its content changes (edits, undo, git, an applied variant). */
  onDidChange: vscode.Event<vscode.Uri>;
  /** The view highlights the boxes of the editor cursor's line (.py models). */
  followsCursor?(uri: vscode.Uri): boolean;
}

/** What the webview persists with setState; the serializer reads `resource` to restore the panel. */
interface PersistedState {
  resource?: unknown;
}

/** One graph view per model file. */
export class GraphPanel {
  static readonly viewType = 'laurel.graph';
  private static readonly panels = new Map<string, GraphPanel>();

  private ready = false;
  private version = 0;
  /** Snapshot requests made: an answer is posted only if no later one was asked. */
  private asked = 0;
  /** A layer to focus once the webview is ready (show() with a layer before the first snapshot). */
  private pendingFocus: string | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  /** Open (or bring forward) the graph of `uri`; with `layer`, centre and highlight that layer. */
  static show(context: vscode.ExtensionContext, uri: vscode.Uri, controller: GraphController, layer?: string, preserveFocus = false): GraphPanel {
    const existing = GraphPanel.panels.get(uri.toString());
    if (existing) {
      existing.panel.reveal(undefined, preserveFocus);
      if (layer !== undefined) existing.focus(layer);
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(GraphPanel.viewType, GraphPanel.titleFor(uri), { viewColumn: vscode.ViewColumn.Beside, preserveFocus }, GraphPanel.options(context));
    const p = new GraphPanel(panel, context, uri, controller);
    if (layer !== undefined) p.focus(layer);
    return p;
  }

  /** Restore a panel VS Code kept across a reload (see registerGraphSerializer). */
  static revive(panel: vscode.WebviewPanel, context: vscode.ExtensionContext, uri: vscode.Uri, controller: GraphController): GraphPanel {
    GraphPanel.panels.get(uri.toString())?.panel.dispose();
    panel.webview.options = GraphPanel.options(context);
    return new GraphPanel(panel, context, uri, controller);
  }

  private static options(context: vscode.ExtensionContext): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    // Only our bundle and stylesheet: never the workspace (the model stays in the host, sent by postMessage).
    return {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(context.extensionUri, 'media')],
    };
  }

  private static titleFor(uri: vscode.Uri): string {
    return `Graph: ${uri.path.split('/').pop() ?? uri.path}`;
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly context: vscode.ExtensionContext,
    readonly uri: vscode.Uri,
    private readonly controller: GraphController,
  ) {
    GraphPanel.panels.set(uri.toString(), this);
    panel.title = GraphPanel.titleFor(uri);
    panel.webview.html = this.html();
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      // Hidden webviews are torn down (no retainContextWhenHidden): wait for the next `ready` before posting.
      panel.onDidChangeViewState(() => {
        if (!panel.visible) this.ready = false;
      }),
      panel.webview.onDidReceiveMessage((raw: unknown) => this.receive(raw)),
      controller.onDidChange((changed) => {
        if (changed.toString() === this.uri.toString()) this.sendSnapshot();
      }),
      vscode.window.onDidChangeTextEditorSelection((e) => {
        if (e.textEditor.document.uri.toString() === this.uri.toString()) this.sendCursor(e.selections[0]?.active.line);
      }),
    );
  }

  /** The cursor's line (0-based from VS Code) to a view that follows it. */
  private sendCursor(line: number | undefined): void {
    if (!this.ready || !this.controller.followsCursor?.(this.uri)) return;
    this.post({ type: 'cursorLine', line: line === undefined ? null : line + 1 });
  }

  private focus(layer: string): void {
    if (this.ready) this.post({ type: 'focusLayer', layer });
    else this.pendingFocus = layer;
  }

  private receive(raw: unknown): void {
    const msg = validateWebviewMessage(raw);
    if (!msg) return; // untrusted input: drop anything malformed without acting on it
    void this.handle(msg).catch((e: unknown) => {
      const message = e instanceof Error ? e.message : String(e);
      void vscode.window.showErrorMessage(`LAuReL graph: ${message}`);
      this.post({ type: 'error', message });
    });
  }

  private async handle(msg: WebviewToHost): Promise<void> {
    switch (msg.type) {
      case 'ready':
        // The webview (re)loaded: it has nothing, so send everything.
        this.ready = true;
        this.sendSnapshot();
        this.sendCursor(vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === this.uri.toString())?.selection.active.line);
        if (this.pendingFocus !== undefined) {
          this.post({ type: 'focusLayer', layer: this.pendingFocus });
          this.pendingFocus = undefined;
        }
        return;
      case 'applyVariant': {
        const choice: VariantChoice = { variant: msg.variant, options: { ...DEFAULT_OPTIONS, rank: msg.rank ?? DEFAULT_OPTIONS.rank, k: msg.k ?? DEFAULT_OPTIONS.k } };
        await this.controller.applyVariant(this.uri, msg.siteIds, choice);
        return;
      }
      case 'reveal':
        this.controller.reveal(this.uri, msg.layer, msg.line);
        return;
      case 'undo':
      case 'redo':
        await this.controller.undo(this.uri, msg.type === 'redo');
        // Undo runs in the file's editor; the keyboard comes back to the graph.
        if (!this.panel.active) this.panel.reveal(undefined, false);
        return;
      case 'exportImage':
        await this.saveImage(msg.format, msg.data);
        return;
    }
  }

  private sendSnapshot(): void {
    if (!this.ready) return; // the webview asks with `ready` once it listens
    const asked = ++this.asked;
    void this.controller.snapshot(this.uri).then(
      (s) => {
        // A later change asked again: only its answer is posted.
        if (asked !== this.asked || !this.ready || s === undefined) return;
        if (!(s instanceof Uint8Array)) this.post({ type: 'error', message: s.error });
        else this.post({ type: 'snapshot', graph: s, version: ++this.version, resource: this.uri.toString() });
      },
      (e: unknown) => this.post({ type: 'error', message: e instanceof Error ? e.message : String(e) }),
    );
  }

  private post(msg: HostToWebview): void {
    void this.panel.webview.postMessage(msg);
  }

  private async saveImage(format: 'svg' | 'png', data: string): Promise<void> {
    const base = this.uri.path.replace(/\.[^./]*$/, '');
    const target = await vscode.window.showSaveDialog({
      defaultUri: this.uri.with({ path: `${base}.graph.${format}` }),
      filters: format === 'svg' ? { 'SVG image': ['svg'] } : { 'PNG image': ['png'] },
      title: `Export graph as ${format.toUpperCase()}`,
    });
    if (!target) return;
    const bytes = format === 'svg' ? new TextEncoder().encode(data) : Buffer.from(data.slice(data.indexOf(',') + 1), 'base64');
    await vscode.workspace.fs.writeFile(target, bytes);
    void vscode.window.showInformationMessage(`Graph exported to ${vscode.workspace.asRelativePath(target)}`);
  }

  private html(): string {
    return webviewHtml(this.panel.webview, this.context.extensionUri, {
      title: 'LAuReL graph',
      script: ['dist', 'webview', 'main.js'],
      styles: [['media', 'graph.css']],
    });
  }

  dispose(): void {
    if (GraphPanel.panels.get(this.uri.toString()) === this) GraphPanel.panels.delete(this.uri.toString());
    this.panel.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

/**
 * Restores graph panels after a window reload from the state the webview saved (its model's URI).
 * The extension calls this in `activate` and declares `onWebviewPanel:laurel.graph` as an activation event.
 */
export function registerGraphSerializer(context: vscode.ExtensionContext, controller: GraphController): vscode.Disposable {
  const serializer: vscode.WebviewPanelSerializer<PersistedState> = {
    async deserializeWebviewPanel(panel, state) {
      const resource = state?.resource;
      if (typeof resource !== 'string' || resource.length > 4096) {
        panel.dispose();
        return;
      }
      let uri: vscode.Uri;
      try {
        uri = vscode.Uri.parse(resource, true);
      } catch {
        panel.dispose();
        return;
      }
      GraphPanel.revive(panel, context, uri, controller);
    },
  };
  const registration = vscode.window.registerWebviewPanelSerializer(GraphPanel.viewType, serializer);
  context.subscriptions.push(registration);
  return registration;
}
