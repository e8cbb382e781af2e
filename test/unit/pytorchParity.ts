/**
 * Parity of the PyTorch export with TF.js: the model buildModel makes from the same IR and plan, with random
 * weights (LAuReL's B non-zero, BN statistics non-trivial), run on a random batch. The generated Python loads the
 * same weights through its own load_tfjs_weights() and must give the same outputs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { toPyTorch } from '../../src/core/export/pytorch';
import { parsePlan, resolvePlan } from '../../src/core/laurel/planSpec';
import { openModel, planModel } from '../../src/core/model';
import type { OpenModel } from '../../src/core/model';
import { mulberry32 } from '../../src/core/random';
import { buildModel } from '../../src/laurel/buildModel';
import { examplePath, fixturePath } from './fixturePath';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { requireSystemDeps, SYSTEM_PYTHON } from './systemDeps';

export const PYTHON = SYSTEM_PYTHON;
const TOLERANCE = 1e-4;

/** Loads the exported file, counts, loads the weights, runs, compares; prints one JSON line. */
const RUNNER = String.raw`
import importlib.util, json, sys
import numpy as np
import torch

torch.set_num_threads(2)
code, manifest, blob = sys.argv[1:4]
spec = importlib.util.spec_from_file_location("exported", code)
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
man = json.load(open(manifest))
data = np.fromfile(blob, dtype=np.float32)
arr = lambda e: data[e["offset"]:e["offset"] + int(np.prod(e["shape"]))].reshape(e["shape"])
torch.manual_seed(0)
model = getattr(mod, man["className"])().eval()
count = sum(p.numel() for p in model.parameters())
count += sum(b.numel() for n, b in model.named_buffers() if n.endswith(("running_mean", "running_var")))
init = {n: p.detach().clone() for n, p in model.named_parameters()}
mod.load_tfjs_weights(model, {n: arr(e) for n, e in man["weights"].items()})
with torch.no_grad():
    out = model(*[torch.from_numpy(arr(e).copy()) for e in man["inputs"]])
outs = out if isinstance(out, tuple) else (out,)
diffs, scales = [], []
for o, e in zip(outs, man["outputs"]):
    ref = arr(e)
    assert tuple(o.shape) == tuple(ref.shape), (tuple(o.shape), tuple(ref.shape))
    diffs.append(float(np.abs(o.numpy() - ref).max()))
    scales.append(float(np.abs(ref).max()))
laurel = {}
for n, p in init.items():
    if any(k in n for k in ("lr_up", "pa_up", "lr_down", "pa_down", "pa_gamma", "rw_", "gemma_norm_scale")):
        laurel[n] = [float(p.abs().max()), float(p.min()), float(p.max())]
print(json.dumps({"count": count, "maxAbsDiff": max(diffs), "scale": max(scales), "laurelInit": laurel}))
`;

export const open = (file: string): OpenModel => openModel(file, readFileSync(file.includes('/') ? file : existsSync(fixturePath(file)) ? fixturePath(file) : examplePath(file)));


/** Random values that keep activations O(1): kernels scaled by fan-in, BN statistics and LAuReL weights non-trivial. */
function randomWeight(name: string, shape: number[], rnd: () => number): Float32Array {
  const size = shape.reduce((a, b) => a * b, 1);
  const u = (lo: number, hi: number) => () => lo + (hi - lo) * rnd();
  const fanIn = name === 'depthwise_kernel' ? shape.slice(0, -2).reduce((a, b) => a * b, 1) : size / (shape.at(-1) ?? 1);
  const bound = Math.sqrt(3 / Math.max(fanIn, 1));
  const pick: Record<string, () => number> = {
    moving_variance: u(0.5, 1.5),
    moving_mean: u(-0.2, 0.2),
    gamma: u(0.7, 1.3),
    beta: u(-0.1, 0.1),
    bias: u(-0.1, 0.1),
    rw_logits: u(-1, 1),
    rw_theta: u(-1, 1),
    pa_gamma: u(0.5, 1.5),
    gemma_norm_scale: u(0.7, 1.3),
    alpha: u(0, 0.3),
    embeddings: u(-0.5, 0.5),
  };
  const gen = pick[name] ?? u(-bound, bound);
  return Float32Array.from({ length: size }, gen);
}

/** A weight's name inside its layer: 'kernel', or 'forward_lstm/kernel' for a Bidirectional's. */
const weightPath = (layer: string, original: string): string => (original.startsWith(`${layer}/`) ? original.slice(layer.length + 1) : original.split('/').pop()!);

interface Blob {
  parts: Float32Array[];
  size: number;
}
function put(blob: Blob, data: Float32Array, shape: number[]): { offset: number; shape: number[] } {
  blob.parts.push(data);
  const offset = blob.size;
  blob.size += data.length;
  return { offset, shape };
}

export interface Parity {
  count: number;
  maxAbsDiff: number;
  scale: number;
  laurelInit: Record<string, [number, number, number]>;
}

/** The folder the exported files go to (set by each suite's before()). */
export const parityWork = { dir: '' };
export const results: string[] = [];

/** Exports m under `spec`, runs TF.js and the Python file on the same weights and batch. */
export async function parity(m: OpenModel, spec: string, seed = 1): Promise<Parity> {
  const choices = resolvePlan(parsePlan(spec), m.sites);
  const { code, unsupported } = toPyTorch(m, choices);
  assert.deepEqual(unsupported, []);
  const model = await buildModel(m, choices);
  const rnd = mulberry32(seed);
  const blob: Blob = { parts: [], size: 0 };
  const weights: Record<string, { offset: number; shape: number[] }> = {};
  try {
    for (const layer of model.layers) {
      const values: tf.Tensor[] = [];
      for (const w of layer.weights) {
        const short = w.originalName.split('/').pop()!;
        const shape = w.shape as number[];
        const data = randomWeight(short, shape, rnd);
        weights[`${layer.name}/${weightPath(layer.name, w.originalName)}`] = put(blob, data, shape);
        values.push(tf.tensor(data, shape));
      }
      if (values.length) layer.setWeights(values);
      tf.dispose(values);
    }
    const inputs = model.inputs.map((t, i) => {
      const shape = [2, ...(t.shape.slice(1) as number[])];
      const size = shape.reduce((a, b) => a * b, 1);
      // Token ids for an Embedding input, values in [-1, 1) otherwise.
      const ids = model.layers.some((l) => l.getClassName() === 'Embedding' && l.inboundNodes[0]?.inboundLayers[0]?.name === model.inputLayers[i]!.name);
      const data = Float32Array.from({ length: size }, () => (ids ? Math.floor(rnd() * 5) : rnd() * 2 - 1));
      return { data, shape };
    });
    const xs = inputs.map((x) => tf.tensor(x.data, x.shape));
    const ys = [model.predict(xs.length === 1 ? xs[0]! : xs)].flat() as tf.Tensor[];
    const outputs = ys.map((y) => put(blob, y.dataSync() as Float32Array, y.shape as number[]));
    tf.dispose([...xs, ...ys]);
    const manifest = { className: [...code.matchAll(/^class (\w+)\(nn\.Module\):/gm)].pop()![1], weights, inputs: inputs.map((x) => put(blob, x.data, x.shape)), outputs };
    const stem = join(parityWork.dir, `${m.doc.fileName.split('/').pop()}-${spec.replace(/[^a-z0-9]+/gi, '_')}`);
    writeFileSync(`${stem}.py`, code);
    writeFileSync(`${stem}.json`, JSON.stringify(manifest));
    writeFileSync(`${stem}.bin`, Buffer.concat(blob.parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength))));
    const run = spawnSync(PYTHON, ['-c', RUNNER, `${stem}.py`, `${stem}.json`, `${stem}.bin`], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (run.status !== 0) throw new Error(`python failed on ${stem}.py:\n${run.stderr}`);
    return JSON.parse(run.stdout.trim().split('\n').pop()!) as Parity;
  } finally {
    model.dispose();
  }
}

export async function check(file: string | OpenModel, spec: string, tolerance = TOLERANCE): Promise<Parity> {
  const m = typeof file === 'string' ? open(file) : file;
  const p = await parity(m, spec);
  const name = m.doc.fileName.split('/').pop()!;
  results.push(`${name} ${spec}: max |diff| ${p.maxAbsDiff.toExponential(2)} (outputs up to ${p.scale.toFixed(3)})`);
  assert.equal(p.count, m.params.total + planModel(m, spec).cost.addedParams, 'parameters + BN running statistics');
  assert.ok(p.maxAbsDiff <= tolerance * Math.max(1, p.scale), `max |torch - tfjs| = ${p.maxAbsDiff} (outputs up to ${p.scale})`);
  return p;
}

/** A parity suite's hooks: torch required, TF.js on the CPU backend, a temp folder, the parity lines printed after. */
export function parityHooks(prefix: string): void {
  before(async function () {
    requireSystemDeps(this, 'python3-torch', 'python3-numpy');
    await tf.setBackend('cpu');
    parityWork.dir = mkdtempSync(join(tmpdir(), prefix));
  });
  after(() => {
    if (parityWork.dir) rmSync(parityWork.dir, { recursive: true, force: true });
    if (results.length) console.log(`      parity:\n${results.map((r) => `        ${r}`).join('\n')}`);
    results.length = 0;
  });
}

/** A Keras 2 functional model JSON from layer entries (inbound nodes as [[name, 0, 0, {}], ...]). */
export function kerasModel(name: string, layers: unknown[], inputs: string[], output: string): OpenModel {
  const json = { class_name: 'Model', config: { name, layers, input_layers: inputs.map((i) => [i, 0, 0]), output_layers: [[output, 0, 0]] }, keras_version: '2.13.1', backend: 'tensorflow' };
  return openModel(`${name}.json`, new TextEncoder().encode(JSON.stringify(json)));
}
export const inputLayer = (name: string, shape: (number | null)[]) => ({ class_name: 'InputLayer', config: { name, batch_input_shape: shape }, name, inbound_nodes: [] });
export const call = (cls: string, name: string, config: Record<string, unknown>, inputs: string[]) => ({ class_name: cls, config: { name, ...config }, name, inbound_nodes: [inputs.map((i) => [i, 0, 0, {}])] });

/** Runs `script` (Python) with the exported module of `m` importable as `exported`; returns its JSON line. */
export function runWith(m: OpenModel, script: string): Record<string, unknown> {
  const file = join(parityWork.dir, `${m.doc.fileName.replace(/\W/g, '_')}.py`);
  writeFileSync(file, toPyTorch(m).code);
  const prologue = ['import importlib.util, json, math, sys', 'import numpy as np, torch', 'spec = importlib.util.spec_from_file_location("exported", sys.argv[1])', 'ex = importlib.util.module_from_spec(spec)', 'spec.loader.exec_module(ex)', 'rng = np.random.default_rng(0)', 'torch.manual_seed(0)'];
  const r = spawnSync(PYTHON, ['-c', [...prologue, script].join('\n'), file], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`python failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}
