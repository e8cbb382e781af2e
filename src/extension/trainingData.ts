// The data a model trains on, chosen once per model and remembered (workspaceState): the laurel.dataset
// setting, a .py file's `# laurel:` options, Fashion-MNIST, data files of the workspace or one browsed for,
// and for a model with several outputs the one that trains.
import { existsSync } from 'node:fs';
import * as vscode from 'vscode';
import { isPySource } from '../trainer/pySourceOptions';
import type { PyFileOptions } from '../trainer/pySourceOptions';
import type { ModelInput, TrainingOutput } from '../trainer/trainingGraph';
import { datasetPicks, npyInputTitle, npySeveralSpec, outputPicks, specForFile, withLimit } from './datasetPicks';
import type { DatasetPick } from './datasetPicks';
import type { ModelController } from './modelController';
import { readDatasetSetting, readTrainingSettings } from './settings';

const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** What is remembered per model (workspaceState): the data spec and whether its adaptation was accepted. */
export interface DataChoice {
  spec: string;
  /** 'auto', or a list as `--adapt` takes it (a .py file's `# laurel: adapt=`). */
  adapt?: string;
  /** The output picked with the data, for a model with several. */
  output?: string;
}

export class DataChoices {
  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly controller: ModelController,
  ) {}

  /** The user accepted adapting `spec` to the model: remembered, so the next run adapts without asking. */
  async rememberAdapted(uri: vscode.Uri, spec: string): Promise<void> {
    await this.context.workspaceState.update(this.key(uri), { spec, adapt: 'auto' } satisfies DataChoice);
  }

  private key(uri: vscode.Uri): string {
    return `laurel.data:${uri.toString()}`;
  }

  /**
   * The data of this model: remembered, else a .py file's `# laurel:` options (`fileOptions`, as prepare() read
   * them), else the laurel.dataset setting, else asked (and remembered).
   */
  async forModel(uri: vscode.Uri, fileOptions?: PyFileOptions): Promise<DataChoice | undefined> {
    const remembered = this.context.workspaceState.get<DataChoice>(this.key(uri));
    if (remembered && typeof remembered.spec === 'string' && remembered.spec) return remembered;
    // A .py file's `# laurel: data=... adapt=...` comes next (the trainer reads the file the editor saved).
    const own = isPySource(uri.fsPath) ? fileOptions : undefined;
    if (own?.data) return { spec: own.data, ...(own.adapt ? { adapt: own.adapt } : {}) };
    const c = vscode.workspace.getConfiguration('laurel', uri);
    const setting = readDatasetSetting((k) => c.get(k));
    if (setting) return { spec: withLimit(setting, readTrainingSettings((k) => c.get(k)).sampleLimit) };
    return this.pick(uri);
  }

  /** Asks for the data (and the output, for a model with several) and remembers the answer. */
  async pick(uri: vscode.Uri): Promise<DataChoice | undefined> {
    const c = vscode.workspace.getConfiguration('laurel', uri);
    const limit = readTrainingSettings((k) => c.get(k)).sampleLimit;
    const folder = vscode.workspace.getWorkspaceFolder(uri);
    const text = isPySource(uri.fsPath);
    const glob = `**/*{idx3-ubyte,idx3-ubyte.gz,.csv,.npy,idx1-ubyte,idx1-ubyte.gz${text ? ',.txt' : ''}}`;
    const pattern = folder ? new vscode.RelativePattern(folder, glob) : glob;
    const found = await vscode.workspace.findFiles(pattern, '**/{node_modules,.git,runs}/**', 500);
    const files = found.filter((f) => f.scheme === 'file').map((f) => ({ path: f.fsPath, relative: vscode.workspace.asRelativePath(f) }));
    // The inputs and outputs, read in the analysis worker (the host gets these, not the model).
    const facts = text ? undefined : await this.controller.ask(uri, { what: 'outputs' });
    const inputs = facts?.inputs ?? [];
    const picks = datasetPicks({ fashionMnist: existsSync(FASHION_MNIST_DIR), files, limit, text, inputs });
    const picked = await vscode.window.showQuickPick<DatasetPick>(picks, {
      title: `LAuReL: data to train ${this.controller.label(uri)} on`,
      placeHolder: 'Remembered for this model; change it with "LAuReL: Choose Dataset"',
      matchOnDescription: true,
      matchOnDetail: true,
    });
    if (!picked) return undefined;
    const spec = picked.spec ?? (inputs.length > 1 ? await this.browseSeveral(inputs) : await this.browse());
    if (!spec) return undefined;
    const output = isPySource(uri.fsPath) ? undefined : await this.pickOutput(uri, facts?.outputs ?? []);
    if (output === null) return undefined;
    const choice: DataChoice = { spec: picked.spec ? spec : withLimit(spec, limit), ...(output ? { output } : {}) };
    await this.context.workspaceState.update(this.key(uri), choice);
    return choice;
  }

  /** For a model with several outputs: which one trains (undefined: one output only; null: dismissed). */
  private async pickOutput(uri: vscode.Uri, outputs: readonly TrainingOutput[]): Promise<string | undefined | null> {
    if (outputs.length < 2) return undefined;
    const picks = outputPicks(outputs);
    const picked = await vscode.window.showQuickPick(picks, { title: `LAuReL: ${this.controller.label(uri)} has ${outputs.length} outputs; which one trains?`, matchOnDescription: true });
    return picked ? picked.output : null;
  }

  /** A model with several inputs: one x .npy per input, asked in the model's order, then the y .npy. */
  private async browseSeveral(inputs: readonly ModelInput[]): Promise<string | undefined> {
    const xs: string[] = [];
    for (let i = 0; i < inputs.length; i++) {
      const x = await openData(npyInputTitle(inputs, i), ['npy']);
      if (!x) return undefined;
      xs.push(x);
    }
    const y = await openData('LAuReL: the labels .npy (y)', ['npy']);
    return y ? npySeveralSpec(xs, y) : undefined;
  }

  private async browse(): Promise<string | undefined> {
    const open = (title: string): Promise<string | undefined> => openData(title, ['csv', 'npy', 'gz', 'ubyte', 'txt']);
    const first = await open('LAuReL: data file (IDX images, CSV, x .npy, or .txt for a language model)');
    if (!first) return undefined;
    let r = specForFile(first);
    if ('needs' in r) {
      const second = await open(r.needs === 'y' ? 'LAuReL: the labels .npy (y) of this x file' : 'LAuReL: the IDX labels file of these images');
      if (!second) return undefined;
      r = specForFile(first, second);
    }
    if ('error' in r) return void vscode.window.showErrorMessage(`LAuReL: ${r.error}`);
    return 'spec' in r ? r.spec : undefined;
  }
}

const openData = async (title: string, extensions: string[]): Promise<string | undefined> =>
  (await vscode.window.showOpenDialog({ title, canSelectMany: false, openLabel: 'Use', filters: { 'Data files': extensions, 'All files': ['*'] } }))?.[0]?.fsPath;
