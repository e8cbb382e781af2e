// Picks the fastest TF.js backend that loads on this machine and says why faster ones did not.
//
// One tf instance: everything here uses require('@tensorflow/tfjs'). tfjs-node(-gpu) and
// tfjs-backend-wasm import tfjs-core themselves and call registerBackend/registerKernel on it. Both the
// engine (globalThis._tfengine, holding the backend registry) and the kernel registry
// (global 'kernelRegistry' map) live on the global object, so even if npm nests a second tfjs-core under
// one of those packages, its 'tensorflow' backend and kernels land in the same engine and registry we
// use; what must not be mixed are the op functions and Tensor classes of two copies, hence a single
// import of '@tensorflow/tfjs' for all ops. tfjs-node registers 'tensorflow' with priority 3 and wasm with 2,
// so merely requiring them changes tf's default: we always call tf.setBackend explicitly.
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { describeLoadFailure } from './backendReasons';
import { registerDilatedConvGradients } from './kernels/dilatedGrads';
import { registerWasmGradientKernels } from './wasmKernels';
import { logicalCores, missingThreadedFiles, planThreads, registerThreadedWasm } from './wasmThreads';
import type { BackendAttempt, BackendChoice } from '../protocol/backends';

export type BackendPreference = 'auto' | 'tfjs-node-gpu' | 'tfjs-node' | 'wasm' | 'cpu';

export const PACKAGES = {
  'tfjs-node-gpu': '@tensorflow/tfjs-node-gpu',
  'tfjs-node': '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs',
} as const;

type Candidate = keyof typeof PACKAGES;
const ORDER: Candidate[] = ['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'];

type Outcome = { ok: true; choice: Omit<BackendChoice, 'tried'>; note?: string } | { ok: false; reason: string };

/** The native backend's extra fields (tfjs-node's NodeJSKernelBackend). */
interface NodeBackendInfo {
  isUsingGpuDevice?: boolean;
}

async function tryNative(candidate: 'tfjs-node-gpu' | 'tfjs-node'): Promise<Outcome> {
  const pkg = PACKAGES[candidate];
  try {
    // Literal requires so bundlers keep them as (external) runtime requires. Loading the package
    // dlopens libtensorflow and registers the 'tensorflow' backend into the shared engine.
    if (candidate === 'tfjs-node-gpu') require('@tensorflow/tfjs-node-gpu');
    else require('@tensorflow/tfjs-node');
  } catch (err) {
    return { ok: false, reason: describeLoadFailure(pkg, err) };
  }
  try {
    if (!(await tf.setBackend('tensorflow'))) return { ok: false, reason: 'loaded, but the tensorflow backend failed to initialise' };
    await tf.ready();
  } catch (err) {
    return { ok: false, reason: describeLoadFailure(pkg, err) };
  }
  if (candidate === 'tfjs-node-gpu' && (tf.backend() as unknown as NodeBackendInfo).isUsingGpuDevice === false) {
    // The GPU build runs on the CPU when CUDA/cuDNN or a device is missing; report it as what it is.
    return { ok: true, choice: { name: 'tensorflow', package: pkg }, note: 'loaded, but TensorFlow sees no GPU (CUDA/cuDNN missing or no device): running on the CPU' };
  }
  return { ok: true, choice: { name: candidate === 'tfjs-node-gpu' ? 'tensorflow-gpu' : 'tensorflow', package: pkg } };
}

/**
 * Where tfjs-backend-wasm's .wasm files are: dist/wasm beside a bundle (the build copies them there, and
 * the extension ships no node_modules), else the package's own dist folder.
 */
export function wasmDistDir(): string {
  const besideBundle = join(__dirname, 'wasm');
  return existsSync(join(besideBundle, 'tfjs-backend-wasm.wasm')) ? besideBundle : dirname(require.resolve(PACKAGES.wasm));
}

async function tryWasm(): Promise<Outcome> {
  const pkg = PACKAGES.wasm;
  let wasm: typeof import('@tensorflow/tfjs-backend-wasm');
  try {
    wasm = require('@tensorflow/tfjs-backend-wasm');
  } catch (err) {
    return { ok: false, reason: describeLoadFailure(pkg, err) };
  }
  const dir = wasmDistDir();
  const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  const file = simd ? 'tfjs-backend-wasm-simd.wasm' : 'tfjs-backend-wasm.wasm';
  if (!existsSync(join(dir, file))) return { ok: false, reason: `${file} not found in ${dir}` };
  // The threaded build where it gains threads (wasmThreads.ts); else the package's single-threaded SIMD build.
  const plan = planThreads({ simd, logicalCores: logicalCores(), dir, filesPresent: missingThreadedFiles });
  // Paths and builds only matter before the backend's first initialisation (checked on the engine, not a module
  // flag, because several bundles may each carry a copy of this module).
  const fresh = !('wasm' in tf.engine().registry);
  const packageFactory = tf.findBackendFactory('wasm');
  // In Node the module is read from disk, so the prefix is a folder path ending in a separator.
  if (fresh) wasm.setWasmPaths(dir + sep);
  if (fresh && plan.threaded) registerThreadedWasm(wasm, dir, plan.requested);
  let why = plan.why;
  try {
    if (!(await tf.setBackend('wasm'))) {
      if (!(fresh && plan.threaded && packageFactory)) return { ok: false, reason: 'the wasm backend failed to initialise (see the warning above)' };
      // The threaded build failed to start: the package's own single-threaded build, saying why.
      tf.removeBackend('wasm');
      tf.registerBackend('wasm', packageFactory, 2);
      why = 'threaded wasm failed to start (see the warning above)';
      if (!(await tf.setBackend('wasm'))) return { ok: false, reason: 'the wasm backend failed to initialise (see the warning above)' };
    }
    await tf.ready();
  } catch (err) {
    return { ok: false, reason: describeLoadFailure(pkg, err) };
  }
  registerWasmGradientKernels();
  return { ok: true, choice: { name: 'wasm', package: pkg, threads: wasm.getThreadsCount(), threadNote: why, simd } };
}

async function tryCpu(): Promise<Outcome> {
  if (!(await tf.setBackend('cpu'))) return { ok: false, reason: 'the cpu backend failed to initialise' };
  await tf.ready();
  return { ok: true, choice: { name: 'cpu', package: PACKAGES.cpu } };
}

function attempt(candidate: Candidate): Promise<Outcome> {
  switch (candidate) {
    case 'tfjs-node-gpu':
    case 'tfjs-node':
      return tryNative(candidate);
    case 'wasm':
      return tryWasm();
    case 'cpu':
      return tryCpu();
  }
}

/**
 * Activates the fastest backend that works, starting from `preference` ('auto' = fastest first) and
 * falling through to slower ones; the result lists every candidate tried and why each failed.
 */
export async function selectBackend(preference: BackendPreference = 'auto'): Promise<BackendChoice> {
  const start = preference === 'auto' ? 0 : ORDER.indexOf(preference);
  if (start < 0) throw new Error(`unknown backend preference '${preference}'`);
  const tried: BackendAttempt[] = [];
  for (const candidate of ORDER.slice(start)) {
    const outcome = await attempt(candidate);
    if (outcome.ok) {
      registerDilatedConvGradients(); // tfjs-core refuses these gradients on every backend
      tried.push(outcome.note ? { candidate, ok: true, reason: outcome.note } : { candidate, ok: true });
      return { ...outcome.choice, tried };
    }
    tried.push({ candidate, ok: false, reason: outcome.reason });
  }
  throw new Error(`no TensorFlow.js backend could be loaded: ${tried.map((t) => `${t.candidate}: ${t.reason}`).join('; ')}`);
}
