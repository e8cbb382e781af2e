/**
 * `laurel train|compare model.py`: a PyTorch source's variants as RunSpecs for the PyTorch engine, and its data.
 *
 * One forward pass (the tracer) measures the model; each plan is the text `laurel apply` would write, trained
 * from a copy in the run's temp folder (the user's file is never written). The task comes from the traced
 * shapes: an output (N, K) is K class logits, an output (N, T, V) on integer input (N, T) a language model
 * whose data is `text:FILE` (bytes as tokens, next-token targets, T from the input expression).
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { openPyModel } from '../core/pysource/pyModel';
import type { OpenPyModel } from '../core/pysource/pyModel';
import { pyCost } from '../core/pysource/pyModel';
import { planPy } from '../core/pysource/pyPlan';
import type { TraceNode } from '../core/pysource/pyTrace';
import type { CompareParams, TrainParams } from '../protocol/trainerProtocol';
import { parseAdaptations } from './data/adapt';
import { DatasetError } from './data/errors';
import { loadDataset, parseDataSpec } from './data/loadDataset';
import type { Dataset } from './data/loadDataset';
import { estimatePySourceMemory } from './pySourceMemory';
import { pyFileOptions } from './pySourceOptions';
import { traceSource } from './pySourceTrace';
import type { OutputHead } from './lossAndLabels';
import type { RunSpec } from './run';

export { isPySource } from './pySourceOptions';

/** What the traced shapes say the model learns. */
export type PyTask = { kind: 'classes'; input: number[]; classes: number } | { kind: 'tokens'; context: number; vocabulary: number };

export function pyTask(m: OpenPyModel): PyTask {
  const t = m.trace!;
  const node = (id: number): TraceNode | undefined => t.nodes.find((n) => n.id === id);
  const input = t.nodes.find((n) => n.kind === 'input');
  const out = t.outputs.map(node).find((n) => n?.shape && n.shape.length >= 2);
  const shape = out?.shape;
  if (!input?.shape || !shape) throw new Error(`${m.fileName}: the traced forward pass has no tensor input or output to train`);
  const what = `${t.model} on ${t.input} returns (${shape.join(', ')})`;
  if (shape.length === 3 && /^u?int/.test(input.dtype) && input.shape.length === 2) return { kind: 'tokens', context: input.shape[1]!, vocabulary: shape[2]! };
  if (shape.length === 2 && shape[1]! > 1) return { kind: 'classes', input: input.shape, classes: shape[1]! };
  throw new Error(`${m.fileName}: ${what}: train needs class logits (N, K) or per-token logits (N, T, V) on token ids (N, T)`);
}

/** Measures the file and makes one RunSpec per plan (undefined: the file as it is). */
export async function pySourceRuns(p: TrainParams | CompareParams, plans: (string | undefined)[]): Promise<{ runs: RunSpec[]; model: OpenPyModel; task: PyTask }> {
  if (p.config.engine === 'tfjs') throw new Error(`${basename(p.modelPath)} is a PyTorch source: it trains on the PyTorch engine (--engine pytorch or auto), not TF.js`);
  const file = resolve(p.modelPath);
  const text = readFileSync(file, 'utf8');
  // The `# laurel:` comment is checked before anything runs; flags win over it (model and input: the tracer reads it).
  const loss = p.pyLoss ?? pyFileOptions(file, text).loss ?? 'cross_entropy';
  const r = await traceSource(file, { model: p.pyModel, input: p.pyInput, ...(p.config.python ? { explicit: p.config.python } : {}), ...(p.config.pythonPath ? { pythonPath: p.config.pythonPath } : {}) });
  if (!r.ok) throw new Error(`${p.modelPath}${r.error.line ? `:${r.error.line}` : ''}: ${r.error.phase === 'torch' ? '' : `${r.error.phase}: `}${r.error.message}`);
  const m = openPyModel(file, text, r.trace);
  const task = pyTask(m);
  if (loss === 'mse' && task.kind === 'tokens') throw new Error(`${p.modelPath}: loss=mse is for class outputs (N, K); a language model's per-token logits take cross_entropy or model`);
  const head: OutputHead | null = task.kind === 'classes' ? { units: task.classes, activation: undefined } : null;
  const runs = plans.map((spec): RunSpec => {
    const planned = spec === undefined ? undefined : planPy(m, spec);
    const cost = planned?.cost ?? pyCost(m, new Map());
    return {
      name: spec ?? basename(file),
      build: () => Promise.reject(new Error('a PyTorch source has no TF.js model')),
      tfjsProblem: () => 'it is a PyTorch source (.py)',
      pySource: {
        fileName: basename(file).replace(/[^\w.-]/g, '_'),
        userDir: dirname(file),
        text: planned?.text ?? text,
        usesLaurel: planned?.usesLaurel ?? /\bLaurelResidual\b/.test(text),
        model: r.trace.model,
        head,
        loss,
      },
      model: { file, name: r.trace.model },
      plan: { spec: spec ?? null, sites: cost.sites.map((s) => ({ id: s.site, variant: s.label })) },
      baseParams: cost.baseParams,
      addedParams: cost.addedParams,
      addedMacs: cost.macs,
      memory: (_engine, batch, optimizer, dataBytes) => estimatePySourceMemory(r.trace, cost.baseParams + cost.addedParams, cost.activations ?? 0, batch, optimizer, dataBytes),
    };
  });
  return { runs, model: m, task };
}

/**
 * `text:FILE[:limit=N]`: the file's bytes as tokens in windows of the context length T (one after another),
 * each with the next bytes as targets; the validation split takes the last windows (a held-out tail).
 */
export function textData(spec: string, context: number, vocabulary: number): Dataset {
  const m = /^text:(.+?)(?::limit=(\d+))?$/.exec(spec);
  if (!m) throw new DatasetError(`text data: expected text:FILE[:limit=N], got '${spec}'`);
  const bytes = readFileSync(m[1]!);
  const windows = Math.min(Math.floor((bytes.length - 1) / context), m[2] ? Number(m[2]) : Infinity);
  if (!(windows >= 2)) throw new DatasetError(`${m[1]}: ${bytes.length} bytes make fewer than 2 windows of ${context + 1} bytes (the context length from the input expression, plus the next token)`);
  if (vocabulary < 256) {
    const at = bytes.findIndex((b) => b >= vocabulary);
    if (at >= 0 && at < windows * context + 1) throw new DatasetError(`${m[1]}: byte ${bytes[at]} at offset ${at} is not a token of the model's vocabulary of ${vocabulary} (bytes are tokens 0..255)`);
  }
  const x = new Float32Array(windows * context);
  const y = new Float32Array(windows * context);
  for (let i = 0; i < windows * context; i++) {
    x[i] = bytes[i]!;
    y[i] = bytes[i + 1]!;
  }
  return {
    name: `text ${basename(m[1]!)}`,
    x: tf.tensor2d(x, [windows, context]),
    y: tf.tensor2d(y, [windows, context]),
    samples: windows,
    classes: vocabulary,
    adaptations: [`bytes as tokens: ${windows} windows of ${context} (${windows * context} of ${bytes.length} bytes), next-byte targets`],
  };
}

/** The data for a traced task: text for a language model, else the image/tabular data sets in NCHW. */
export async function pySourceData(p: TrainParams | CompareParams, task: PyTask): Promise<Dataset> {
  if (task.kind === 'tokens') {
    if (!p.data.startsWith('text:')) throw new DatasetError(`the model is a language model (per-token logits over ${task.vocabulary} tokens): give --data text:FILE, not '${p.data}'`);
    return textData(p.data, task.context, task.vocabulary);
  }
  if (p.data.startsWith('text:')) throw new DatasetError(`text data is for language models; this model returns ${task.classes} class logits`);
  const [, ...dims] = task.input;
  // The loaders speak Keras's channels-last: ask for (H, W, C) and hand PyTorch (C, H, W).
  const nchw = dims.length === 3;
  const inputShape = nchw ? [null, dims[1]!, dims[2]!, dims[0]!] : [null, ...dims];
  const adapt = p.adapt === undefined || p.adapt === 'none' ? undefined : parseAdaptations(p.adapt);
  // Class indices, as PyTorch's cross-entropy takes them (the engine one-hot encodes them where a loss needs it).
  const data = await loadDataset(parseDataSpec(p.data), { inputShape, outputShape: [null, task.classes], loss: 'sparse_categorical_crossentropy' }, adapt);
  if (!nchw) return data;
  const x = tf.transpose(data.x, [0, 3, 1, 2]);
  data.x.dispose();
  return { ...data, x, adaptations: [...data.adaptations, 'NHWC to NCHW for PyTorch'] };
}
