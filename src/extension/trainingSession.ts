/**
 * Train and Compare: one trainer process at a time (dist/trainer.js through TrainerClient), shown as a
 * cancellable notification, with details in the "LAuReL Training" log. Cancel asks the trainer to stop
 * after the batch in progress; TrainerClient kills the process if it does not.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { choiceSpec } from '../core/laurel/planSpec';
import { VARIANTS, variantLabel } from '../core/laurel/variants';
import { DEFAULT_TRAIN_CONFIG } from '../protocol/runRecords';
import type { ComparisonRecord, LossSummary, RunRecord } from '../protocol/runRecords';
import type { EpochEndEvent } from '../protocol/trainerProtocol';
import { comparisonTable } from '../trainer/comparisonTable';
import { TrainerClient } from '../trainer/trainerClient';
import type { ModelController } from './modelController';
import { readBackend } from './settings';

const fmt = (n: number | null | undefined): string => (n === null || n === undefined ? '?' : n.toFixed(4));
const summary = (f: LossSummary): string => `loss ${fmt(f.loss)}${f.acc !== null ? `, acc ${fmt(f.acc)}` : ''}${f.valLoss !== null ? `, val loss ${fmt(f.valLoss)}` : ''}${f.valAcc !== null ? `, val acc ${fmt(f.valAcc)}` : ''}`;

export class TrainingSessions implements vscode.Disposable {
  private readonly log = vscode.window.createOutputChannel('LAuReL Training', { log: true });
  private client: TrainerClient | undefined;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly controller: ModelController,
  ) {}

  dispose(): void {
    void this.client?.dispose();
    this.log.dispose();
  }

  cancel(): void {
    if (!this.client) return void vscode.window.showInformationMessage('LAuReL: no training is running.');
    this.log.info('cancel requested');
    this.client.cancel('cancelled from VS Code');
  }

  async train(uri: vscode.Uri): Promise<void> {
    const file = await this.prepare(uri);
    if (!file) return;
    await this.run(`Training ${this.controller.label(uri)}`, 1, async (client, params) => {
      const record = await client.train(params);
      this.report(record);
      return record;
    }, file);
  }

  async compare(uri: vscode.Uri): Promise<void> {
    const file = await this.prepare(uri);
    if (!file) return;
    const options = this.controller.options();
    const items = VARIANTS.map((variant) => ({ label: variant === 'plain' ? 'plain' : variantLabel({ variant, options }), spec: choiceSpec({ variant, options }), picked: variant === 'plain' || variant === 'rw' || variant === 'rw+lr' }));
    const picked = await vscode.window.showQuickPick(items, { canPickMany: true, title: 'LAuReL: variants to train and compare (same seed, data and steps; the first is the baseline)' });
    if (!picked || picked.length < 2) {
      if (picked) void vscode.window.showInformationMessage('LAuReL: pick at least two variants to compare.');
      return;
    }
    await this.run(`Comparing ${picked.length} variants of ${this.controller.label(uri)}`, picked.length, async (client, params) => {
      const record: ComparisonRecord = await client.compare({ ...params, plans: picked.map((p) => p.spec) });
      this.log.info(`comparison${record.complete ? '' : ' (cancelled: later plans not trained)'}:\n${comparisonTable(record)}`);
      this.log.show(true);
      return record;
    }, file);
  }

  /** The model's path on disk, saved and readable; the trainer reads the file, not the editor. */
  private async prepare(uri: vscode.Uri): Promise<string | undefined> {
    if (this.client) {
      const cancel = 'Cancel it';
      if ((await vscode.window.showWarningMessage('LAuReL: a training run is in progress.', cancel)) === cancel) this.cancel();
      return undefined;
    }
    if (uri.scheme !== 'file') return void vscode.window.showErrorMessage('LAuReL: training needs a model file on disk.');
    if (!(await this.controller.require(uri))) return undefined;
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    if (doc?.isDirty) {
      const save = 'Save and Train';
      if ((await vscode.window.showWarningMessage(`${this.controller.label(uri)} has unsaved changes; the trainer reads the file on disk.`, save)) !== save) return undefined;
      if (!(await doc.save())) return undefined;
    }
    return uri.fsPath;
  }

  private async run<T>(title: string, runs: number, job: (client: TrainerClient, params: { modelPath: string; data: string; config: typeof DEFAULT_TRAIN_CONFIG; outDir: string; adapt: 'auto' }) => Promise<T>, modelPath: string): Promise<void> {
    const c = vscode.workspace.getConfiguration('laurel');
    const data = c.get<string>('dataset') || 'synthetic';
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
    const root = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(modelPath))?.uri.fsPath ?? dirname(modelPath);
    const outDir = join(root, 'runs', `${modelPath.split(/[\\/]/).pop()!.replace(/\.[^.]+$/, '')}-${stamp}`);
    mkdirSync(outDir, { recursive: true });
    const client = new TrainerClient({ script: vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'trainer.js').fsPath, backend: readBackend((k) => c.get(k)) });
    this.client = client;
    void vscode.commands.executeCommand('setContext', 'laurel.isTraining', true);
    this.log.info(`${title}: data ${data}, output ${outDir}`);
    client.events.on('log', (e) => this.log[e.level](e.message));
    client.events.on('stderr', (line) => this.log.trace(line));
    try {
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `LAuReL: ${title}`, cancellable: true }, async (progress, token) => {
        token.onCancellationRequested(() => this.cancel());
        let last = 0;
        client.events.on('batchEnd', (e) => {
          // A message per second at most: the trainer sends batches faster than anyone reads them.
          if (Date.now() - last < 1000) return;
          last = Date.now();
          progress.report({ message: `${e.run}: epoch ${e.epoch}, batch ${e.batch + 1}/${e.batchesPerEpoch}, loss ${fmt(e.loss)}` });
        });
        client.events.on('epochEnd', (e: EpochEndEvent) => {
          this.log.info(`${e.run}: epoch ${e.epoch}/${e.epochs} loss ${fmt(e.loss)}${e.acc !== undefined ? ` acc ${fmt(e.acc)}` : ''} (${e.backend}, ${Math.round(e.samplesPerSec)} samples/s)`);
          progress.report({ increment: 100 / (e.epochs * runs), message: `${e.run}: epoch ${e.epoch}/${e.epochs} done, loss ${fmt(e.loss)}` });
        });
        await job(client, { modelPath, data, config: { ...DEFAULT_TRAIN_CONFIG }, outDir, adapt: 'auto' });
      });
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.log.error(message);
      const show = 'Show log';
      if ((await vscode.window.showErrorMessage(`LAuReL: training failed: ${message}`, show)) === show) this.log.show();
    } finally {
      this.client = undefined;
      void vscode.commands.executeCommand('setContext', 'laurel.isTraining', false);
      await client.dispose();
    }
  }

  private report(r: RunRecord): void {
    const text = `LAuReL: ${r.name} ${r.status}${r.message ? ` (${r.message})` : ''}: ${summary(r.final)}; ${r.params.total.toLocaleString('en-US')} params`;
    this.log.info(text);
    void vscode.window.showInformationMessage(text);
  }
}
