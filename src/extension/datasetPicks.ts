/**
 * The dataset picker's items: synthetic data, Fashion-MNIST when installed, and the IDX, CSV and .npy files
 * of the workspace paired into data specs. Pure (no `vscode`): the caller finds the files.
 */
import { formatShape } from '../trainer/data/task';
import type { ModelInput, TrainingOutput } from '../trainer/trainingGraph';

export interface DatasetPick {
  label: string;
  description?: string;
  detail?: string;
  /** The data spec (laurel train --data); absent for "Browse…". */
  spec?: string;
}

/** A file found in the workspace: its absolute path and the path shown to the user. */
export interface FoundFile {
  path: string;
  relative: string;
}

const base = (p: string): string => p.replace(/^.*[\\/]/, '');

/** `spec` with `:limit=N` appended (0: no limit; a spec that sets its own limit keeps it). */
export function withLimit(spec: string, limit: number): string {
  return limit > 0 && !/:limit=\d+$/.test(spec) ? `${spec}:limit=${limit}` : spec;
}

/** The labels file of an IDX images file, by the usual naming (train-images-idx3-ubyte ↔ train-labels-idx1-ubyte). */
export function idxLabelsFor(images: string): string | undefined {
  const name = base(images);
  if (!/images/i.test(name) || !/idx3/i.test(name)) return undefined;
  return images.slice(0, images.length - name.length) + name.replace(/images/i, (m) => (m === 'IMAGES' ? 'LABELS' : m[0] === 'I' ? 'Labels' : 'labels')).replace(/idx3/i, 'idx1');
}

/** The y file of an x .npy file (x_train.npy ↔ y_train.npy, X.npy ↔ y.npy). */
export function npyLabelsFor(x: string): string[] {
  const name = base(x);
  if (!/^x/i.test(name)) return [];
  const dir = x.slice(0, x.length - name.length);
  return [`${dir}y${name.slice(1)}`, `${dir}Y${name.slice(1)}`];
}

const inputText = (i: ModelInput): string => `'${i.name}' ${i.shape ? formatShape(i.shape) : '(shape unknown)'}`;

/**
 * `text`: the model is a PyTorch source, which may be a language model: .txt files are offered as `text:` data.
 * `inputs`: the model's inputs; with several, the picks are synthetic data (one array per input) and one .npy
 * per input chosen in turn (IDX, CSV and an x/y pair give one x).
 */
export function datasetPicks(opts: { fashionMnist: boolean; files: FoundFile[]; limit: number; text?: boolean; inputs?: readonly ModelInput[] }): DatasetPick[] {
  const { limit } = opts;
  const limitNote = limit > 0 ? `, first ${limit.toLocaleString('en-US')} samples (laurel.training.sampleLimit)` : '';
  if (opts.inputs && opts.inputs.length > 1) {
    const names = opts.inputs.map(inputText).join(', ');
    return [
      { label: 'synthetic', description: `one array per input: ${names}`, detail: `labels from a fixed random teacher of every input; needs no files${limitNote}`, spec: withLimit('synthetic', limit) },
      { label: 'Browse…', description: `one x .npy per input (${opts.inputs.length}, in order), then the y .npy`, detail: 'IDX and CSV files give one x, so they cannot feed this model' },
    ];
  }
  const picks: DatasetPick[] = [
    { label: 'synthetic', description: 'random inputs shaped for this model, labels from a fixed random teacher', detail: `needs no files${limitNote}`, spec: withLimit('synthetic', limit) },
  ];
  if (opts.fashionMnist) {
    picks.push({ label: 'Fashion-MNIST', description: '/usr/share/datasets/fashion-mnist', detail: `28×28 grey images, 10 classes; adapted to the model's input when needed${limitNote}`, spec: withLimit('fashion-mnist', limit) });
  }
  const byPath = new Map(opts.files.map((f) => [f.path, f]));
  const used = new Set<string>();
  for (const f of opts.files) {
    const labels = idxLabelsFor(f.path);
    const lf = labels && byPath.get(labels);
    if (lf) {
      used.add(f.path).add(lf.path);
      picks.push({ label: base(f.path), description: `IDX with ${base(lf.path)}`, detail: f.relative, spec: withLimit(`idx:${f.path},${lf.path}`, limit) });
    }
  }
  for (const f of opts.files) {
    if (!/\.npy$/i.test(f.path) || used.has(f.path)) continue;
    const y = npyLabelsFor(f.path).map((p) => byPath.get(p)).find((p) => p !== undefined);
    if (y) {
      used.add(f.path).add(y.path);
      picks.push({ label: base(f.path), description: `.npy with ${base(y.path)}`, detail: f.relative, spec: withLimit(`npy:${f.path},${y.path}`, limit) });
    }
  }
  for (const f of opts.files) {
    if (/\.csv$/i.test(f.path)) picks.push({ label: base(f.path), description: 'CSV, label in the last column', detail: f.relative, spec: withLimit(`csv:${f.path}`, limit) });
  }
  if (opts.text) {
    for (const f of opts.files) {
      if (/\.txt$/i.test(f.path)) picks.push({ label: base(f.path), description: 'text: bytes as tokens, next-byte targets (a language model)', detail: f.relative, spec: withLimit(`text:${f.path}`, limit) });
    }
  }
  picks.push({ label: 'Browse…', description: `an IDX images file, a CSV file, ${opts.text ? 'a .txt file (language models), ' : ''}or an x .npy file (its y file is asked next)` });
  return picks;
}

/** The spec for a file chosen by "Browse…" (with the second file of a pair when one is needed), or why not. */
export function specForFile(path: string, second?: string): { spec: string } | { needs: 'labels' | 'y' } | { error: string } {
  if (/\.csv$/i.test(path)) return { spec: `csv:${path}` };
  if (/\.txt$/i.test(path)) return { spec: `text:${path}` };
  if (/\.npy$/i.test(path)) return second ? { spec: `npy:${path},${second}` } : { needs: 'y' };
  if (/idx\d/i.test(base(path)) || /ubyte/i.test(base(path))) return second ? { spec: `idx:${path},${second}` } : { needs: 'labels' };
  return { error: `${base(path)}: not an IDX, CSV, .npy or .txt file` };
}

/** The open dialog's title for input i of a model with several (the x .npy files are asked one by one, in order). */
export const npyInputTitle = (inputs: readonly ModelInput[], i: number): string => `LAuReL: the x .npy of input ${i + 1} of ${inputs.length}, ${inputText(inputs[i]!)}`;

/** The spec of one x .npy per input and the y .npy (npy:X1.npy+X2.npy,Y.npy). */
export const npySeveralSpec = (xs: readonly string[], y: string): string => `npy:${xs.join('+')},${y}`;

/** One row per model output, the last (the default) first: the layer, its shape, its place. */
export function outputPicks(outputs: readonly TrainingOutput[]): { label: string; description: string; detail: string; output: string }[] {
  return [...outputs].reverse().map((o, i) => ({
    label: o.name,
    description: `${o.shape ? formatShape(o.shape) : 'shape unknown'}${i === 0 ? ' (the last output: the default)' : ''}`,
    detail: `output ${o.index + 1} of ${o.of}`,
    output: o.name,
  }));
}
