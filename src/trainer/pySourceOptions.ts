/**
 * A PyTorch source's `# laurel:` options (core/pysource/pyOptions.ts) as a run uses them: problems refused with
 * file:line:column, the data spec's paths taken relative to the file's folder (the comment travels with the
 * file; the trainer's working folder is the CLI's, or anything in the extension). No tfjs here: the CLI and
 * the extension host call it before a trainer starts.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { describeOptionProblems, readPyOptions } from '../core/pysource/pyOptions';
import type { PyLoss } from '../core/pysource/pyOptions';

export class PyOptionsError extends Error {}

/** A PyTorch source, by its name (the CLI and the extension route it to the PyTorch engine). */
export const isPySource = (path: string): boolean => path.toLowerCase().endsWith('.py');

export interface PyFileOptions {
  model?: string;
  input?: string;
  loss?: PyLoss;
  /** The data spec, its paths absolute. */
  data?: string;
  /** The data adaptations (`auto` or a list, as `--adapt`). */
  adapt?: string;
}

/** The options of the file's text; PyOptionsError lists every problem with its place. */
export function pyFileOptions(file: string, text: string): PyFileOptions {
  const o = readPyOptions(text);
  if (o.problems.length) throw new PyOptionsError(describeOptionProblems(file, o.problems));
  const v = o.values;
  return {
    ...(v.model ? { model: v.model.value } : {}),
    ...(v.input ? { input: v.input.value } : {}),
    ...(v.loss ? { loss: v.loss.value as PyLoss } : {}),
    ...(v.data ? { data: dataRelativeTo(v.data.value, dirname(file)) } : {}),
    ...(v.adapt ? { adapt: v.adapt.value } : {}),
  };
}

/**
 * The file paths of a data spec (`text:`, `csv:`, `npy:X,Y`, `idx:IMAGES,LABELS`) made absolute against `dir`;
 * trailing `:limit=N` / `:label=COL` options and the other forms are kept as they are.
 */
export function dataRelativeTo(spec: string, dir: string): string {
  const m = /^(text|csv|npy|idx):(.*?)((?::(?:limit|label)=[^:]*)*)$/.exec(spec.trim());
  if (!m) return spec.trim();
  const [, head, body, opts] = m as unknown as [string, string, string, string];
  const abs = (p: string): string => (p === '' || isAbsolute(p) ? p : resolve(dir, p));
  const paths = head === 'npy' || head === 'idx' ? body.split(',').map((p) => abs(p.trim())).join(',') : abs(body);
  return `${head}:${paths}${opts}`;
}
