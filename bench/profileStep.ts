/**
 * Where a training step's time goes, per kernel, on one backend (wasm by default):
 *
 *   npx esbuild bench/profileStep.ts --bundle --platform=node --main-fields=module,main --outfile=dist/profileStep.js \
 *     --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu && node dist/profileStep.js [--micro] [--upstream]
 *
 * Every registered kernel of the backend is wrapped with a timer that keeps self time (a composed
 * kernel's inner ops are charged to themselves, not to it), so the table adds up to the time spent in
 * kernels; the rest of the step is engine/tape/layers overhead. wasm kernels are synchronous, so wall
 * time is their time. Also times the plain step (median of --steps, wrappers off) and, with --micro,
 * the conv forward and both conv backprops on [32,28,28,16] x 3x3x16x16 'same' (ours and upstream's).
 * --upstream profiles with tfjs-backend-wasm's own versions of the kernels we replace.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { openModel } from '../src/core/model';
import type { OpenModel } from '../src/core/model';
import { buildModel } from '../src/laurel/buildModel';
import { selectBackend } from '../src/trainer/backend';
import type { BackendPreference } from '../src/trainer/backend';
import { WASM_GRADIENTS, WASM_REPLACED_KERNELS, replacedUpstreamGradients, replacedUpstreamKernels } from '../src/trainer/wasmKernels';

interface Tally {
  calls: number;
  selfMs: number;
}

const tallies = new Map<string, Tally>();
const childMs: number[] = [];
let wrapped: Array<{ config: KernelConfig; original: KernelFunc }> = [];

/** Swaps each kernel function of `backend` (in place, in the registry) for a self-timing one. */
function wrapKernels(backend: string): void {
  for (const config of tf.getKernelsForBackend(backend)) {
    const original = config.kernelFunc;
    const name = config.kernelName;
    const timed: KernelFunc = (args) => {
      childMs.push(0);
      const t0 = performance.now();
      try {
        return original(args);
      } finally {
        const total = performance.now() - t0;
        const inner = childMs.pop()!;
        if (childMs.length > 0) childMs[childMs.length - 1] += total;
        const t = tallies.get(name) ?? { calls: 0, selfMs: 0 };
        t.calls++;
        t.selfMs += total - inner;
        tallies.set(name, t);
      }
    };
    (config as { kernelFunc: KernelFunc }).kernelFunc = timed;
    wrapped.push({ config, original });
  }
}

function unwrapKernels(): void {
  for (const { config, original } of wrapped) (config as { kernelFunc: KernelFunc }).kernelFunc = original;
  wrapped = [];
}

/** Puts tfjs-backend-wasm's own kernels (and tfjs-core's gradients) back in place of ours (true), or ours (false). */
function useUpstream(upstream: boolean, names: readonly string[] = [...WASM_REPLACED_KERNELS, ...WASM_GRADIENTS].map((k) => k.kernelName)): void {
  for (const ours of WASM_REPLACED_KERNELS.filter((k) => names.includes(k.kernelName))) {
    const theirs = replacedUpstreamKernels().get(ours.kernelName);
    if (!theirs) continue;
    tf.unregisterKernel(ours.kernelName, 'wasm');
    tf.registerKernel(upstream ? theirs : ours);
  }
  for (const ours of WASM_GRADIENTS.filter((g) => names.includes(g.kernelName))) {
    const theirs = replacedUpstreamGradients().get(ours.kernelName);
    if (theirs) tf.registerGradient(upstream ? theirs : ours);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function batchFor(m: OpenModel, batch: number): { x: tf.Tensor; y: tf.Tensor } {
  const input = m.analysis.shapes.get(m.doc.graph.inputs[0]!.node)![0]!;
  const dims = input.slice(1) as number[];
  let s = 12345;
  const rand = (): number => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  const x = tf.tensor(Float32Array.from({ length: batch * dims.reduce((a, b) => a * b, 1) }, rand), [batch, ...dims]);
  const y = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), 'int32'), 10);
  return { x, y };
}

async function profileModel(backend: string, name: string, batch: number, steps: number, top: number): Promise<void> {
  const root = resolve(__dirname, '..');
  const m = openModel(`${name}.json`, readFileSync(join(root, 'examples', `${name}.json`)));
  const model = await buildModel(m);
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
  const { x, y } = batchFor(m, batch);
  for (let i = 0; i < 3; i++) await model.trainOnBatch(x, y);
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    await model.trainOnBatch(x, y);
    times.push(performance.now() - t0);
  }
  const stepMs = median(times);

  const profiled = Math.max(3, Math.ceil(steps / 3));
  tallies.clear();
  wrapKernels(backend);
  const t0 = performance.now();
  try {
    for (let i = 0; i < profiled; i++) await model.trainOnBatch(x, y);
  } finally {
    unwrapKernels();
  }
  const wallMs = (performance.now() - t0) / profiled;
  const rows = [...tallies.entries()].map(([k, t]) => ({ k, calls: t.calls / profiled, ms: t.selfMs / profiled })).sort((a, b) => b.ms - a.ms);
  const inKernels = rows.reduce((a, r) => a + r.ms, 0);
  console.log(`\n${name} on ${backend}, batch ${batch}: ${stepMs.toFixed(1)} ms/step (median of ${steps}; ${times.map((t) => t.toFixed(0)).join(' ')})`);
  console.log(`profiled step ${wallMs.toFixed(1)} ms, of which ${inKernels.toFixed(1)} ms in kernels (self time, mean of ${profiled} steps)`);
  console.log(`${'kernel'.padEnd(36)} ${'calls'.padStart(6)} ${'ms/step'.padStart(9)} ${'%'.padStart(6)}`);
  for (const r of rows.slice(0, top)) {
    console.log(`${r.k.padEnd(36)} ${r.calls.toFixed(0).padStart(6)} ${r.ms.toFixed(2).padStart(9)} ${((100 * r.ms) / wallMs).toFixed(1).padStart(6)}`);
  }
  const rest = rows.slice(top).reduce((a, r) => a + r.ms, 0);
  console.log(`${'(other kernels)'.padEnd(36)} ${''.padStart(6)} ${rest.toFixed(2).padStart(9)} ${((100 * rest) / wallMs).toFixed(1).padStart(6)}`);
  console.log(`${'(outside kernels)'.padEnd(36)} ${''.padStart(6)} ${(wallMs - inKernels).toFixed(2).padStart(9)} ${((100 * (wallMs - inKernels)) / wallMs).toFixed(1).padStart(6)}`);
  model.dispose();
  tf.dispose([x, y]);
}

/** Median ms of `fn` (its result read back) over `reps` runs after two warm-ups. */
function timeOp(fn: () => tf.Tensor, reps: number): number {
  const ts: number[] = [];
  for (let i = 0; i < reps + 2; i++) {
    const t0 = performance.now();
    // Braces matter: a tidy that returns the Float32Array walks every element looking for tensors.
    tf.tidy(() => {
      fn().dataSync();
    });
    if (i >= 2) ts.push(performance.now() - t0);
  }
  return median(ts);
}

function micro(reps: number): void {
  const [b, h, w, c, k] = [32, 28, 28, 16, 3];
  const x = tf.randomNormal([b, h, w, c], 0, 1, 'float32', 1) as tf.Tensor4D;
  const f = tf.randomNormal([k, k, c, c], 0, 1, 'float32', 2) as tf.Tensor4D;
  const dy = tf.randomNormal([b, h, w, c], 0, 1, 'float32', 3) as tf.Tensor4D;
  const dy2 = tf.randomNormal([b, h / 2, w / 2, c], 0, 1, 'float32', 4) as tf.Tensor4D;
  const attrs = (strides: number) => ({ strides, pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined, inputShape: [b, h, w, c], filterShape: [k, k, c, c] }) as unknown as tf.NamedAttrMap;
  const rows: Array<[string, number]> = [
    ['Conv2D forward', timeOp(() => tf.conv2d(x, f, 1, 'same'), reps)],
    ['Conv2DBackpropFilter', timeOp(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs(1)) as tf.Tensor, reps)],
    ['Conv2DBackpropInput', timeOp(() => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: f }, attrs(1)) as tf.Tensor, reps)],
    ['Conv2DBackpropInput stride 2', timeOp(() => tf.engine().runKernel('Conv2DBackpropInput', { dy: dy2, filter: f }, attrs(2)) as tf.Tensor, reps)],
  ];
  if (tf.getBackend() === 'wasm' && replacedUpstreamKernels().has('Conv2DBackpropInput')) {
    useUpstream(true, ['Conv2DBackpropInput']);
    try {
      rows.push(['  upstream Conv2DBackpropInput', timeOp(() => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: f }, attrs(1)) as tf.Tensor, reps)]);
      rows.push(['  upstream, stride 2', timeOp(() => tf.engine().runKernel('Conv2DBackpropInput', { dy: dy2, filter: f }, attrs(2)) as tf.Tensor, reps)]);
    } finally {
      useUpstream(false, ['Conv2DBackpropInput']);
    }
  }
  console.log(`\nconv kernels on ${tf.getBackend()}, [${b},${h},${w},${c}] x ${k}x${k}x${c}x${c} 'same' (median of ${reps})`);
  for (const [n, ms] of rows) console.log(`${n.padEnd(32)} ${ms.toFixed(1).padStart(8)} ms`);
  tf.dispose([x, f, dy, dy2]);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backend: { type: 'string', default: 'wasm' },
      models: { type: 'string', default: 'resnet-mini,prenorm-mixer' },
      batch: { type: 'string', default: '32' },
      steps: { type: 'string', default: '10' },
      top: { type: 'string', default: '20' },
      micro: { type: 'boolean', default: false },
      // Profile with tfjs-backend-wasm's own versions of the kernels we replace (the "before").
      upstream: { type: 'boolean', default: false },
      reps: { type: 'string', default: '10' },
    },
  });
  await selectBackend(values.backend as BackendPreference);
  if (values.micro) micro(Number(values.reps));
  if (values.upstream) useUpstream(true);
  for (const name of values.models!.split(',').filter(Boolean)) {
    await profileModel(tf.getBackend(), name, Number(values.batch), Number(values.steps), Number(values.top));
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exitCode = 1;
});
