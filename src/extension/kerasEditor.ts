/**
 * The custom editor of `.keras` archives: it opens the model's graph (with its summary header) instead of
 * VS Code's binary-file page. Variants applied from the graph, the lenses' commands or the Residuals view are
 * edits of the archive's bytes held here (the model controller routes them through `ArchiveDocument.edit`):
 * undo, redo, the dirty state, save (atomic), save as, revert (the bytes on disk) and hot exit all work as
 * for a text file. The zip itself is rewritten by the core (writeDocument), never here.
 */
import * as vscode from 'vscode';
import { writeFileAtomic } from '../util/fsAtomic';
import { GraphPanel } from './graphPanel';
import type { GraphController } from './graphPanel';
import type { ArchiveDocument, ModelController } from './modelController';

/** The view type of the custom editor (package.json customEditors). */
export const KERAS_EDITOR = 'laurel.kerasEditor';

async function writeBytes(uri: vscode.Uri, bytes: Uint8Array, expect?: Uint8Array): Promise<void> {
  // Readers of the file see the old archive or the new one, never a part of it; with `expect`, a file
  // changed on disk by another program since it was read is not overwritten (the save fails, naming it).
  if (uri.scheme === 'file') writeFileAtomic(uri.fsPath, bytes, expect ? { expect } : {});
  else await vscode.workspace.fs.writeFile(uri, bytes);
}

class KerasDocument implements vscode.CustomDocument, ArchiveDocument {
  version = 0;
  private registration: vscode.Disposable | undefined;

  constructor(
    readonly uri: vscode.Uri,
    public bytes: Uint8Array,
    private readonly controller: ModelController,
    private readonly onEdit: (e: vscode.CustomDocumentEditEvent<KerasDocument>) => void,
    /** The bytes on disk when last read or saved (unknown after a restore from a backup). */
    private disk?: Uint8Array,
  ) {
    this.registration = controller.openArchive(this);
  }

  edit(bytes: Uint8Array, label: string): void {
    const before = this.bytes;
    this.set(bytes);
    this.onEdit({ document: this, label, undo: () => this.set(before), redo: () => this.set(bytes) });
  }

  private set(bytes: Uint8Array): void {
    this.bytes = bytes;
    this.version++;
    this.controller.archiveChanged(this.uri);
  }

  async save(target = this.uri): Promise<void> {
    const same = target.toString() === this.uri.toString();
    await writeBytes(target, this.bytes, same ? this.disk : undefined);
    if (same) this.disk = this.bytes;
  }

  /** Back to the bytes on disk: the original archive when nothing was saved. */
  async revert(): Promise<void> {
    this.disk = await vscode.workspace.fs.readFile(this.uri);
    this.set(this.disk);
  }

  async backup(destination: vscode.Uri): Promise<vscode.CustomDocumentBackup> {
    await vscode.workspace.fs.createDirectory(vscode.Uri.joinPath(destination, '..'));
    await writeBytes(destination, this.bytes);
    return { id: destination.toString(), delete: () => void vscode.workspace.fs.delete(destination).then(undefined, () => undefined) };
  }

  dispose(): void {
    this.registration?.dispose();
    this.registration = undefined;
  }
}

class KerasEditorProvider implements vscode.CustomEditorProvider<KerasDocument> {
  private readonly changed = new vscode.EventEmitter<vscode.CustomDocumentEditEvent<KerasDocument>>();
  readonly onDidChangeCustomDocument = this.changed.event;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly controller: ModelController,
    private readonly graph: GraphController,
  ) {}

  async openCustomDocument(uri: vscode.Uri, open: vscode.CustomDocumentOpenContext): Promise<KerasDocument> {
    // After a crash or hot exit, the unsaved bytes come back from the backup.
    const from = open.backupId ? vscode.Uri.parse(open.backupId, true) : uri;
    const bytes = await vscode.workspace.fs.readFile(from);
    return new KerasDocument(uri, bytes, this.controller, (e) => this.changed.fire(e), open.backupId ? undefined : bytes);
  }

  resolveCustomEditor(document: KerasDocument, panel: vscode.WebviewPanel): void {
    GraphPanel.revive(panel, this.context, document.uri, this.graph);
  }

  saveCustomDocument(document: KerasDocument): Promise<void> {
    return document.save();
  }

  saveCustomDocumentAs(document: KerasDocument, destination: vscode.Uri): Promise<void> {
    return document.save(destination);
  }

  revertCustomDocument(document: KerasDocument): Promise<void> {
    return document.revert();
  }

  backupCustomDocument(document: KerasDocument, context: vscode.CustomDocumentBackupContext): Promise<vscode.CustomDocumentBackup> {
    return document.backup(context.destination);
  }
}

export function registerKerasEditor(context: vscode.ExtensionContext, controller: ModelController, graph: GraphController): vscode.Disposable {
  return vscode.window.registerCustomEditorProvider(KERAS_EDITOR, new KerasEditorProvider(context, controller, graph), {
    supportsMultipleEditorsPerDocument: false,
  });
}

/** The uri of the .keras archive in the active custom editor, if that is what the active tab shows. */
export function activeKerasUri(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  return input instanceof vscode.TabInputCustom && input.viewType === KERAS_EDITOR ? input.uri : undefined;
}
