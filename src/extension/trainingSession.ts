/**
 * Train and Compare: one trainer process at a time (dist/trainer.js through TrainerClient), streamed into
 * the training panel (curves, backend, table) and summarised in the "LAuReL Training" log. The run history
 * lives here, in the host, so the panel can be closed, hidden and reopened without losing it.
 *
 * Cancel (the panel's button, the notification, the command, or closing the panel) asks the trainer to stop
 * after the batch in progress; TrainerClient kills the process if it does not stop in time.
 */
import { mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { DEFAULT_TRAIN_CONFIG } from '../protocol/runRecords';
import type { ComparisonRecord, RunRecord, TrainConfig } from '../protocol/runRecords';
import { comparisonTable } from '../trainer/comparisonTable';
import { seedSummary } from '../trainer/seedSummary';
import { writeSeedReport } from '../trainer/reportFiles';
import { TrainerClient } from '../trainer/trainerClient';
import type { ModelController } from './modelController';
import { readBackend, readEngineSettings, readOutputSettings, readTrainingSettings } from './settings';
import { DataChoices } from './trainingData';
import type { DataChoice } from './trainingData';
import { TrainingPanel } from './trainingPanel';
import { pickSavedRuns } from './savedRuns';
import { withFileLabel } from './fileMessages';
import { backendFromLog, backendView, dataFromLog, jobFromRecords, mismatchOffers, runSummaryView, sideBySide } from './trainingRecords';
import { compactHistory, reduceTraining, restoreHistory } from './trainingHistory';
import type { TrainingEvent } from './trainingHistory';
import type { TrainingHistory } from '../protocol/trainingPanel';
import type { OpenPyModel } from '../core/pysource/pyModel';
import { isPySource, pyFileOptions } from '../trainer/pySourceOptions';
import type { PyFileOptions } from '../trainer/pySourceOptions';
import { pyComparePicks } from './pyComparePicks';
import type { PyModelLenses } from './pyLenses';

/** workspaceState key of the panel's history. */
const HISTORY_KEY = 'laurel.trainingHistory';

/** Compare's second question: how many seeds, and whether a test set is held out (Fashion-MNIST's t10k, else the data's last 10%). */
const SEED_PICKS: (vscode.QuickPickItem & { seeds?: number[]; test: boolean })[] = [
  { label: '1 seed', description: 'seed 42, no test set (as before)', test: false },
  { label: '1 seed, held-out test set', description: 'seed 42; the best-validation epoch of each run is tested once', test: true },
  { label: '3 seeds, held-out test set', description: 'seeds 1, 2, 3: mean ± std and paired 95% CIs on test accuracy, bands in the curves', seeds: [1, 2, 3], test: true },
  { label: '5 seeds, held-out test set', description: 'seeds 1 to 5', seeds: [1, 2, 3, 4, 5], test: true },
];

/** The panel's run name of a plan under one seed of several. */
const seedSuffix = (seed: number): string => ` · seed ${seed}`;

const fmt = (n: number | null | undefined): string => (n === null || n === undefined ? '?' : n.toFixed(4));
const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** The interpreter the Python extension has selected for this file, when that extension is installed. */
async function pythonExtensionInterpreter(uri: vscode.Uri): Promise<string | undefined> {
  const ext = vscode.extensions.getExtension<{ settings?: { getExecutionDetails?(r?: vscode.Uri): { execCommand?: string[] } } }>('ms-python.python');
  if (!ext) return undefined;
  try {
    const api = ext.isActive ? ext.exports : await ext.activate();
    return api?.settings?.getExecutionDetails?.(uri)?.execCommand?.[0];
  } catch {
    return undefined; // its API changes between versions; the engine then looks on PATH
  }
}

type JobParams = { modelPath: string; data: string; config: TrainConfig; outDir: string; adapt?: string; output?: string; head?: { classes: number } };

export class TrainingSessions implements vscode.Disposable {
  private readonly log = vscode.window.createOutputChannel('LAuReL Training', { log: true });
  private readonly changed = new vscode.EventEmitter<void>();
  private state: TrainingHistory;
  private nextJob: number;
  private client: TrainerClient | undefined;
  private jobId: number | undefined;
  /** Appended to the trainer's run names while one seed of a multi-seed comparison trains (' · seed 2'). */
  private runSuffix = '';
  /** The comparisons of each Compare job run in this window, for the panel's Export report.md. */
  private readonly reports = new Map<number, { records: ComparisonRecord[]; outDir: string }>();
  /** The `# laurel:` options of each .py file as prepare() last read them. */
  private readonly pyOptions = new Map<string, PyFileOptions>();

  private readonly data: DataChoices;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly controller: ModelController,
    /** PyTorch .py models: their measurement, and the workspace's consent to run them. */
    private readonly py?: PyModelLenses,
  ) {
    this.data = new DataChoices(context, controller);
    // The panel's history survives a reload of the window (the panel itself comes back through its serializer).
    this.state = restoreHistory(context.workspaceState.get(HISTORY_KEY), new Date().toISOString());
    this.nextJob = Math.max(0, ...this.state.jobs.map((j) => j.id)) + 1;
  }

  /** The training panel VS Code restored after a reload. */
  revivePanel(panel: vscode.WebviewPanel): void {
    TrainingPanel.revive(panel, this.context, this.source);
  }

  dispose(): void {
    void this.client?.dispose();
    this.changed.dispose();
    this.log.dispose();
  }

  cancel(reason = 'cancelled from VS Code'): void {
    if (!this.client) return void vscode.window.showInformationMessage('LAuReL: no training is running.');
    this.log.info(`cancel requested (${reason})`);
    if (this.jobId !== undefined) this.dispatch({ type: 'cancelling', jobId: this.jobId });
    this.client.cancel(reason);
  }

  /** 'LAuReL: Choose Dataset': pick (again) the data this model trains on. */
  async chooseDataset(uri: vscode.Uri): Promise<void> {
    const choice = await this.data.pick(uri);
    if (choice) void vscode.window.showInformationMessage(`LAuReL: ${this.controller.label(uri)} trains on ${choice.spec}.`);
  }

  async train(uri: vscode.Uri): Promise<void> {
    const file = await this.prepare(uri);
    const data = file && (await this.data.forModel(uri, this.pyOptions.get(uri.toString())));
    if (!file || !data) return;
    await this.run(uri, 'train', `Training ${this.controller.label(uri)}`, [], data, file, async (client, params) => {
      const record: RunRecord = await client.train(params);
      const text = `LAuReL: ${record.name} ${record.status}${record.message ? ` (${record.message})` : ''}: loss ${fmt(record.final.loss)}${record.final.acc !== null ? `, acc ${fmt(record.final.acc)}` : ''}; ${record.params.total.toLocaleString('en-US')} params`;
      this.log.info(text);
      void vscode.window.showInformationMessage(text);
      return record.status === 'cancelled';
    });
  }

  async compare(uri: vscode.Uri): Promise<void> {
    const file = await this.prepare(uri);
    if (!file) return;
    if (isPySource(file)) return this.comparePy(uri, file);
    const options = this.controller.options();
    // Plain is always the baseline; the costs are what each variant adds on every residual (priced in the analysis worker).
    const a = await this.controller.ask(uri, { what: 'compare' });
    if (!a) return;
    await this.pickAndCompare(uri, file, a.picks, `LAuReL: variants to compare with plain (r=${options.rank}, k=${options.k} from settings laurel.rank, laurel.paK)`, 'Each is trained with the same seed, data and steps as the plain baseline');
  }

  /** The variants to train next to plain (the baseline), then the data and the comparison. */
  private async pickAndCompare<T extends vscode.QuickPickItem & { spec: string }>(uri: vscode.Uri, file: string, items: T[], title: string, placeHolder: string): Promise<void> {
    const picked = await vscode.window.showQuickPick(items, { canPickMany: true, title, placeHolder, matchOnDescription: true });
    if (!picked || picked.length === 0) {
      if (picked) void vscode.window.showInformationMessage('LAuReL: pick at least one variant to compare with plain.');
      return;
    }
    const plans = ['plain', ...picked.map((p) => p.spec)];
    const how = await vscode.window.showQuickPick(SEED_PICKS, { title: 'LAuReL: seeds and test set', placeHolder: 'Several seeds give mean ± std and paired 95% confidence intervals (report.md)' });
    if (!how) return;
    const data = await this.data.forModel(uri, this.pyOptions.get(uri.toString()));
    if (!data) return;
    const seeds = how.seeds;
    // Several seeds: every plan under each seed, its runs named 'rw · seed 2' in the panel (bands over seeds).
    const runNames = seeds ? seeds.flatMap((s) => plans.map((p) => `${p}${seedSuffix(s)}`)) : plans;
    const jobTitle = `Comparing ${plans.length} variants of ${this.controller.label(uri)}${seeds ? ` over seeds ${seeds.join(', ')}` : ''}`;
    await this.run(uri, 'compare', jobTitle, runNames, data, file, async (client, params, jobId) => {
      const done: ComparisonRecord[] = [];
      try {
        for (const seed of seeds ?? [params.config.seed]) {
          this.runSuffix = seeds ? seedSuffix(seed) : '';
          const record: ComparisonRecord = await client.compare({ ...params, ...(how.test ? { test: {} } : {}), config: { ...params.config, seed }, outDir: seeds ? join(params.outDir, `seed-${seed}`) : params.outDir, plans });
          this.log.info(`comparison${seeds ? ` (seed ${seed})` : ''}${record.complete ? '' : ' (cancelled: later plans not trained)'}:\n${comparisonTable(record)}`);
          done.push(record);
          if (!record.complete) return true;
        }
      } finally {
        this.runSuffix = '';
        if (done.length) this.reports.set(jobId, { records: done, outDir: params.outDir });
      }
      writeSeedReport(join(params.outDir, 'report.md'), done);
      if (seeds) {
        const s = seedSummary(done);
        this.log.info(`over seeds ${seeds.join(', ')} (${s.metric}):\n${s.table}\n${s.verdicts.join('\n')}`);
        this.dispatch({ type: 'seedSummary', jobId, table: s.table, verdicts: s.verdicts });
      }
      return false;
    });
  }

  /** The panel's Export report.md: the comparison's report (as `laurel compare` writes it) saved where the user says. */
  private async exportReport(jobId: number): Promise<void> {
    const r = this.reports.get(jobId);
    if (!r) return void vscode.window.showInformationMessage('LAuReL: this comparison has no report in this window (it was not run here, or not finished); report.md is written in its output folder.');
    const target = await vscode.window.showSaveDialog({ title: 'LAuReL: save the experiment report', defaultUri: vscode.Uri.file(join(r.outDir, 'report.md')), filters: { Markdown: ['md'] } });
    if (!target) return;
    try {
      const files = writeSeedReport(target.fsPath, r.records);
      const figures = files.slice(0, -1).map((f) => basename(f));
      const pick = await vscode.window.showInformationMessage(`LAuReL: report saved to ${vscode.workspace.asRelativePath(target)}${figures.length ? ` with its figures ${figures.join(', ')}` : ''}.`, 'Open Preview');
      if (pick) await vscode.commands.executeCommand('markdown.showPreview', target);
    } catch (e) {
      void vscode.window.showErrorMessage(`LAuReL: ${errorText(e)}`);
    }
  }

  // ---- PyTorch .py models ----

  /** Compare Variants on a .py model: priced from its measurement, trained from rewritten copies (the file stays). */
  private async comparePy(uri: vscode.Uri, file: string): Promise<void> {
    const m = await this.measuredPy(uri);
    if (!m) return;
    const options = this.controller.options();
    const { picks, left } = pyComparePicks(m, options);
    if (left.length) this.log.info(`${this.controller.label(uri)}: not offered: ${left.join('; ')}`);
    if (!picks.length) return void vscode.window.showErrorMessage(`LAuReL: no variant applies to ${this.controller.label(uri)}: ${left.join('; ')}`);
    await this.pickAndCompare(
      uri,
      file,
      picks,
      `LAuReL: variants to compare with plain (r=${options.rank} from setting laurel.rank; the file is not changed)`,
      'Each is trained by PyTorch from a rewritten copy, with the same seed, data and initial weights of the untouched modules',
    );
  }

  /** The .py model measured at its current text (measuring it now when needed); undefined after saying why not. */
  private async measuredPy(uri: vscode.Uri): Promise<OpenPyModel | undefined> {
    if (!this.py) return undefined;
    const doc = await vscode.workspace.openTextDocument(uri);
    await this.py.measure(doc);
    let now = this.py.model(doc);
    // A measurement of this text that was already running: wait for it (the lenses change when it ends).
    while (now.state.kind === 'running') {
      await new Promise<void>((done) => {
        const d = this.py!.onDidChangeCodeLenses(() => (d.dispose(), done()));
      });
      now = this.py.model(doc);
    }
    if (now.state.kind === 'measured') return now.model;
    const why = now.state.kind === 'failed' ? `${now.state.error.phase}${now.state.error.line ? ` at line ${now.state.error.line}` : ''}: ${now.state.error.message}` : 'it was not measured';
    void vscode.window.showErrorMessage(`LAuReL: ${this.controller.label(uri)} could not be measured (${why})`);
    return undefined;
  }

  /** Training runs the file in Python: a trusted workspace, the consent the lenses ask, and a clean `# laurel:` comment. */
  private async preparePy(uri: vscode.Uri, text: string): Promise<PyFileOptions | undefined> {
    if (!this.py || !(await this.py.allow('Training'))) return undefined;
    try {
      return pyFileOptions(uri.fsPath, text);
    } catch (e) {
      void vscode.window.showErrorMessage(`LAuReL: ${errorText(e)}`);
      return undefined;
    }
  }

  // ---- the panel's source ----

  private readonly source = {
    history: (): TrainingHistory => this.state,
    onDidChange: this.changed.event,
    cancel: (reason: string): void => this.cancel(reason),
    showLog: (): void => this.log.show(true),
    panelClosed: (): void => {
      if (this.client) this.cancel('the training panel was closed');
    },
    exportReport: (job: number): void => void this.exportReport(job),
  };

  private dispatch(ev: TrainingEvent): void {
    const next = reduceTraining(this.state, ev);
    if (next === this.state) return;
    this.state = next;
    this.changed.fire();
    // Saved when a job or run starts or ends, not per batch; curves are thinned for storage.
    if (ev.type === 'jobStarted' || ev.type === 'runDone' || ev.type === 'jobDone' || ev.type === 'jobFailed' || ev.type === 'jobLoaded') {
      void this.context.workspaceState.update(HISTORY_KEY, compactHistory(this.state));
    }
  }

  // ---- runs from disk ----

  /** 'LAuReL: Open Training Runs': comparisons and runs saved under the workspace (or any file), back in the panel. */
  async openRuns(): Promise<void> {
    const chosen = await pickSavedRuns();
    if (!chosen) return;
    const one = chosen.length === 1 ? chosen[0] : undefined;
    const job = jobFromRecords(
      this.nextJob++,
      one ? one.runs : sideBySide(chosen.flatMap((c) => c.runs)),
      one?.comparison ? { title: `${one.name} (from disk)`, ...(one.comparison.outDir ? { outDir: one.comparison.outDir } : {}) } : {},
    );
    this.dispatch({ type: 'jobLoaded', job });
    TrainingPanel.show(this.context, this.source);
  }

  // ---- the run ----

  /** The model's path on disk, saved and readable; the trainer reads the file, not the editor. */
  private async prepare(uri: vscode.Uri): Promise<string | undefined> {
    if (this.client) {
      const cancel = 'Cancel it';
      if ((await vscode.window.showWarningMessage('LAuReL: a training run is in progress.', cancel)) === cancel) this.cancel();
      return undefined;
    }
    if (uri.scheme !== 'file') return void vscode.window.showErrorMessage('LAuReL: training needs a model file on disk.');
    // Restricted Mode: a run starts processes (the trainer, Python) chosen by settings and interpreters that the
    // workspace could supply, so it waits for trust; reading, pricing, the graph and edits work without it.
    if (!vscode.workspace.isTrusted) return void vscode.window.showWarningMessage('LAuReL: training starts a trainer and Python: trust this workspace first (Workspaces: Manage Workspace Trust). Figures, the graph and edits work without it.');
    const py = isPySource(uri.fsPath);
    if (!py && !(await this.controller.ask(uri, { what: 'reads' }))) return undefined;
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    if (doc?.isDirty) {
      const save = 'Save and Train';
      if ((await vscode.window.showWarningMessage(`${this.controller.label(uri)} has unsaved changes; the trainer reads the file on disk.`, save)) !== save) return undefined;
      if (!(await doc.save())) return undefined;
    }
    if (py) {
      const options = await this.preparePy(uri, doc?.getText() ?? new TextDecoder().decode(await vscode.workspace.fs.readFile(uri)));
      if (!options) return undefined;
      this.pyOptions.set(uri.toString(), options);
    }
    return uri.fsPath;
  }

  /** `job` resolves true when the trainer stopped on a cancel. */
  private async run(uri: vscode.Uri, kind: 'train' | 'compare', title: string, plans: string[], data: DataChoice, modelPath: string, job: (client: TrainerClient, params: JobParams, jobId: number) => Promise<boolean>): Promise<void> {
    const c = vscode.workspace.getConfiguration('laurel', uri);
    const t = readTrainingSettings((k) => c.get(k));
    const pythonPath = await pythonExtensionInterpreter(uri);
    const config: TrainConfig = {
      ...DEFAULT_TRAIN_CONFIG,
      epochs: t.epochs,
      batchSize: t.batchSize,
      learningRate: t.learningRate,
      ...readEngineSettings((k) => c.get(k)),
      ...(pythonPath ? { pythonPath } : {}),
    };
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
    const root = vscode.workspace.getWorkspaceFolder(uri)?.uri.fsPath ?? dirname(modelPath);
    const outDir = join(root, 'runs', `${modelPath.split(/[\\/]/).pop()!.replace(/\.[^.]+$/, '')}-${stamp}`);
    const jobId = this.nextJob++;
    this.dispatch({
      type: 'jobStarted',
      job: { id: jobId, kind, title, model: this.controller.label(uri), data: data.spec, config: { epochs: config.epochs, batchSize: config.batchSize, learningRate: config.learningRate }, startedAt: new Date().toISOString(), outDir, runs: plans },
    });
    TrainingPanel.show(this.context, this.source);

    let client: TrainerClient;
    try {
      mkdirSync(outDir, { recursive: true });
      client = new TrainerClient({ script: vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'trainer.js').fsPath, backend: readBackend((k) => c.get(k)) });
    } catch (e) {
      return this.failed(jobId, e, uri);
    }
    this.client = client;
    this.jobId = jobId;
    void vscode.commands.executeCommand('setContext', 'laurel.isTraining', true);
    this.log.info(`${title}: data ${data.spec}, output ${outDir}`);
    client.events.on('log', (e) => {
      this.log[e.level](e.message);
      const backend = backendFromLog(e.message);
      if (backend) this.dispatch({ type: 'backend', jobId, backend });
      const note = dataFromLog(e.message);
      if (note) this.dispatch({ type: 'dataNote', jobId, note });
    });
    client.events.on('stderr', (line) => this.log.trace(line));
    client.events.on('batchEnd', (e) => this.dispatch({ type: 'batch', jobId, e: { ...e, run: e.run + this.runSuffix } }));
    client.events.on('epochEnd', (e) => {
      this.log.info(`${e.run}: epoch ${e.epoch}/${e.epochs} loss ${fmt(e.loss)}${e.acc !== undefined ? ` acc ${fmt(e.acc)}` : ''} (${e.backend}, ${Math.round(e.samplesPerSec)} samples/s)`);
      this.dispatch({ type: 'epoch', jobId, e: { ...e, run: e.run + this.runSuffix } });
    });
    client.events.on('runDone', (r) => {
      this.dispatch({ type: 'backend', jobId, backend: backendView(r.backend, r.engine) });
      this.dispatch({ type: 'runDone', jobId, run: r.name + this.runSuffix, summary: runSummaryView(r) });
    });
    let declined: string | undefined;
    try {
      const cancelled = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `LAuReL: ${title}`, cancellable: true }, async (progress, token) => {
        token.onCancellationRequested(() => this.cancel());
        let last = 0;
        client.events.on('batchEnd', (e) => {
          // A message per second at most: the trainer sends batches faster than anyone reads them.
          if (Date.now() - last < 1000) return;
          last = Date.now();
          progress.report({ message: `${e.run}: epoch ${e.epoch}, batch ${e.batch + 1}/${e.batchesPerEpoch}, loss ${fmt(e.loss)}` });
        });
        const picked = readOutputSettings((k) => c.get(k));
        const output = picked.output ?? data.output;
        const params: JobParams = { modelPath, data: data.spec, config, outDir, ...(data.adapt ? { adapt: data.adapt } : {}), ...(output ? { output } : {}), ...(picked.head ? { head: picked.head } : {}) };
        try {
          return await job(client, params, jobId);
        } catch (e) {
          // Data that does not fit: offer the trainer's adaptations once, and remember the answer for this model.
          const offers = data.adapt ? undefined : mismatchOffers(e);
          if (!offers) throw e;
          const adapt = `Adapt (${[...new Set(offers.map((o) => o.split(' ')[0]))].join(', ')})`;
          const answer = await vscode.window.showWarningMessage(`LAuReL: ${data.spec} does not fit ${this.controller.label(uri)} as it is.`, { modal: true, detail: `${errorText(e)}\n\nAdapt it: ${offers.join(', ')}.` }, adapt);
          if (answer !== adapt) {
            declined = `${data.spec} does not fit the model; not adapted`;
            return true;
          }
          await this.data.rememberAdapted(uri, data.spec);
          return await job(client, { ...params, adapt: 'auto' }, jobId);
        }
      });
      this.dispatch({ type: 'jobDone', jobId, at: new Date().toISOString(), cancelled, ...(declined ? { message: declined } : {}) });
    } catch (e) {
      this.failed(jobId, e, uri);
    } finally {
      this.client = undefined;
      this.jobId = undefined;
      void vscode.commands.executeCommand('setContext', 'laurel.isTraining', false);
      await client.dispose();
    }
  }

  /** A failed job (bad data, a crash of the trainer): shown in the panel and as an error; the editor goes on. */
  private failed(jobId: number, e: unknown, uri: vscode.Uri): void {
    // The trainer names the model by its absolute path; the panel and the notification use the label.
    const message = withFileLabel(errorText(e), uri.fsPath, this.controller.label(uri));
    this.log.error(message);
    this.dispatch({ type: 'jobFailed', jobId, at: new Date().toISOString(), message });
    // Not awaited: the session ends now, whether or not the user ever answers the notification.
    const show = 'Show log';
    void vscode.window.showErrorMessage(`LAuReL: training failed: ${message}`, show).then((a) => a === show && this.log.show());
  }
}
