/**
 * The LAuReL Residuals view (Explorer): the residual sites of the active model, one-line, formatted and
 * `.keras` alike, from the model controller's cache. A click reveals a site in the file and in the graph;
 * context actions apply a variant to a site, the selection, a stage or every site through the controller.
 */
import * as vscode from 'vscode';
import { GraphPanel } from './graphPanel';
import { activeKerasUri } from './kerasEditor';
import type { GraphController } from './graphPanel';
import { isModelDocument } from './modelController';
import type { ModelController } from './modelController';
import { isKerasArchiveName } from './modelSniff';
import type { ResidualTreeItem, SiteItem } from './residualTreeItems';
import type { Container } from '../core/ir';

export const RESIDUALS_VIEW = 'laurel.residuals';

/** The model uri of the active editor tab: a model text file or a .keras archive in the custom editor. */
function activeModelUri(): vscode.Uri | undefined | null {
  const editor = vscode.window.activeTextEditor;
  if (editor) return isModelDocument(editor.document) ? editor.document.uri : null;
  const archive = activeKerasUri();
  if (archive) return archive;
  if (vscode.window.tabGroups.activeTabGroup.activeTab?.input instanceof vscode.TabInputText) return null;
  return undefined; // a webview (the graph, the training panel) or nothing: keep the model shown
}

export class ResidualView implements vscode.TreeDataProvider<ResidualTreeItem>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private readonly view: vscode.TreeView<ResidualTreeItem>;
  private uri: vscode.Uri | undefined;
  /** How the shown model is held in its file (from the last tree read). */
  private container: Container | undefined;
  readonly onDidChangeTreeData = this.changed.event;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly controller: ModelController,
    private readonly graph: GraphController,
  ) {
    this.view = vscode.window.createTreeView(RESIDUALS_VIEW, { treeDataProvider: this, canSelectMany: true, showCollapseAll: true });
    const follow = (): void => {
      const next = activeModelUri();
      if (next === undefined || next?.toString() === this.uri?.toString()) return;
      this.uri = next ?? undefined;
      this.changed.fire();
    };
    this.disposables.push(
      this.view,
      vscode.window.onDidChangeActiveTextEditor(follow),
      vscode.window.tabGroups.onDidChangeTabs(follow),
      controller.onDidChangeModel((u) => {
        if (u.toString() === this.uri?.toString()) this.changed.fire();
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('laurel')) this.changed.fire();
      }),
      ...this.commands(),
    );
    follow();
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }

  /** The model the view shows, if any. */
  get model(): vscode.Uri | undefined {
    return this.uri;
  }

  async getChildren(element?: ResidualTreeItem): Promise<ResidualTreeItem[]> {
    if (element?.kind === 'site' && !element.variants.length && this.uri) return this.controller.queries.siteVariants(this.uri, element.siteId);
    if (element) return element.kind === 'stage' ? element.sites : element.kind === 'site' ? element.variants : [];
    const uri = this.uri;
    if (!uri) {
      this.view.message = 'Open a model file (Keras to_json, config.json, TF.js model.json or a .keras archive) to see its residual connections.';
      this.view.description = undefined;
      return [];
    }
    // Made in the analysis worker: an edit of a large model copies neither the model nor its tree to the host.
    const r = await this.controller.queries.residuals(uri);
    // Superseded by newer text: the change that brought it refreshes the view again.
    if (!r) return [];
    this.view.description = this.controller.label(uri);
    if (!r.ok) {
      this.view.message = `${this.controller.label(uri)} cannot be read: ${r.error.message}`;
      return [];
    }
    this.container = r.container;
    this.view.message = r.sites ? undefined : `${r.name} has no residual connections${r.unknownLayers ? ' that can be seen' : ''}.`;
    return r.tree;
  }

  getTreeItem(e: ResidualTreeItem): vscode.TreeItem {
    const C = vscode.TreeItemCollapsibleState;
    switch (e.kind) {
      case 'note': {
        const t = new vscode.TreeItem(e.label, C.None);
        t.iconPath = new vscode.ThemeIcon('warning');
        t.tooltip = e.tooltip;
        t.contextValue = 'laurelNote';
        return t;
      }
      case 'stage': {
        const t = new vscode.TreeItem(e.label, C.Expanded);
        t.id = `stage:${e.siteIds[0]}`;
        t.description = e.description;
        t.contextValue = 'laurelStage';
        t.iconPath = new vscode.ThemeIcon('layers');
        return t;
      }
      case 'site': {
        const t = new vscode.TreeItem(e.label, C.Collapsed);
        t.id = `site:${e.siteId}`;
        t.description = e.description;
        t.tooltip = e.tooltip;
        t.contextValue = 'laurelSite';
        t.iconPath = new vscode.ThemeIcon('symbol-operator');
        t.command = { command: 'laurel.residuals.reveal', title: 'Reveal', arguments: [e] };
        return t;
      }
      case 'variant': {
        const t = new vscode.TreeItem(e.label, C.None);
        t.id = `variant:${e.siteId}:${e.choice.variant}`;
        t.description = e.description;
        t.tooltip = e.tooltip;
        t.contextValue = e.current ? 'laurelVariantCurrent' : 'laurelVariant';
        t.iconPath = new vscode.ThemeIcon(e.current ? 'pass-filled' : e.capped ? 'warning' : 'circle-outline');
        return t;
      }
    }
  }

  /** The site ids of a context action: the selection when the clicked item is part of it, else the item. */
  private targets(item: ResidualTreeItem | undefined, selected: readonly ResidualTreeItem[] | undefined): string[] {
    const items = item && selected?.includes(item) ? selected : item ? [item] : this.view.selection;
    const ids = items.flatMap((i) => (i.kind === 'stage' ? i.siteIds : i.kind === 'site' || i.kind === 'variant' ? [i.siteId] : []));
    return [...new Set(ids)];
  }

  private commands(): vscode.Disposable[] {
    const reg = vscode.commands.registerCommand;
    const withUri = (f: (uri: vscode.Uri) => Thenable<unknown>) => async () => {
      if (this.uri) await f(this.uri);
    };
    return [
      reg('laurel.residuals.reveal', (item: SiteItem) => this.reveal(item)),
      reg('laurel.residuals.apply', async (item?: ResidualTreeItem, selected?: ResidualTreeItem[]) => {
        const ids = this.targets(item, selected);
        if (this.uri && ids.length) await vscode.commands.executeCommand('laurel.pickVariantForSites', this.uri, ids);
      }),
      reg('laurel.residuals.applyVariant', async (item?: ResidualTreeItem, selected?: ResidualTreeItem[]) => {
        if (!this.uri || item?.kind !== 'variant') return;
        // The same variant on every selected variant row's site (the choice is capped per site on apply).
        await this.controller.applyChoice(this.uri, item.choice, this.targets(item, selected));
      }),
      reg('laurel.residuals.revert', async (item?: ResidualTreeItem, selected?: ResidualTreeItem[]) => {
        const ids = this.targets(item, selected);
        if (this.uri && ids.length) await this.controller.applyChoice(this.uri, { variant: 'plain', options: this.controller.options() }, ids);
      }),
      reg('laurel.residuals.applyAll', withUri((uri) => vscode.commands.executeCommand('laurel.applyVariantAll', uri))),
      reg('laurel.residuals.revertAll', withUri((uri) => vscode.commands.executeCommand('laurel.revertAll', uri))),
      reg('laurel.residuals.openGraph', withUri(async (uri) => vscode.commands.executeCommand('laurel.openGraph', uri))),
    ];
  }

  /** Select the site's layer in the file (its whole object, even on one line) and focus it in the graph. */
  private async reveal(item: SiteItem): Promise<void> {
    const uri = this.uri;
    if (!uri) return;
    const site = item;
    // The model text is the file's only for a plain container (not a JSON string, not an archive).
    if (!isKerasArchiveName(uri.path) && this.container === 'plain') {
      const doc = await vscode.workspace.openTextDocument(uri);
      const shown = vscode.window.visibleTextEditors.find((e) => e.document === doc);
      const editor = await vscode.window.showTextDocument(doc, { viewColumn: shown?.viewColumn ?? vscode.ViewColumn.One, preserveFocus: true, preview: false });
      // Found in the analysis worker for a large text (no text tree or line scan on the host).
      const range = await this.controller.queries.layerRange(doc, site.merge, site.scope);
      if (range) {
        editor.selection = new vscode.Selection(range.start, range.end);
        editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
      }
    }
    GraphPanel.show(this.context, uri, this.graph, site.merge, true);
  }
}
