// tfjs-backend-wasm's threaded SIMD build in Node (the trainer process, which the extension host forks).
//
// The package never picks it in Node: its WASM_HAS_MULTITHREAD_SUPPORT flag is false under IS_NODE (tfjs issue
// #3830), and its loader starts the pthread workers from blob: URLs, which Node's worker_threads cannot load (a
// Worker takes a path, or a file: / data: URL). The emscripten glue of that build (wasm-out/) does support Node: it
// makes its pthreads with worker_threads when given a worker script that is a file. So the backend is registered
// here with that glue, the worker script written out at build time (esbuild.mjs: dist/wasm), and the package's
// own BackendWasm and kernels on top.
//
// What it cannot change: the compiled backend (src/cc/backend.cc of tfjs 4.22) gives XNNPACK's thread pool
// min(requested, 8, logical cores / 2) threads, halving for hyper-threading. Where that is 1 (a 2- or 3-core
// machine) the threaded build would only add shared-memory overhead, so the single-threaded SIMD build is kept.
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

export const THREADED_FILES = {
  wasm: 'tfjs-backend-wasm-threaded-simd.wasm',
  glue: 'tfjs-backend-wasm-threaded-simd.js',
  worker: 'tfjs-backend-wasm-threaded-simd.worker.js',
} as const;

/** The threads the compiled threaded build gives itself for `requested` threads on `logicalCores` cores. */
export function threadedCap(requested: number, logicalCores: number): number {
  return Math.max(1, Math.min(requested, 8, Math.floor(logicalCores / 2)));
}

export interface ThreadPlan {
  /** Load the threaded build (else the single-threaded SIMD one). */
  threaded: boolean;
  /** The threads asked of it (all cores) and what it will use. */
  requested: number;
  expected: number;
  /** Why, in words, for the log. */
  why: string;
}

/** Whether to load the threaded build: SIMD, its files, shared memory, and more than one thread to gain. */
export function planThreads(opts: { simd: boolean; logicalCores: number; dir: string; filesPresent: (dir: string) => string[] }): ThreadPlan {
  const requested = opts.logicalCores;
  const expected = threadedCap(requested, opts.logicalCores);
  const no = (why: string): ThreadPlan => ({ threaded: false, requested, expected: 1, why });
  if (!opts.simd) return no('threaded wasm unavailable: this runtime has no WebAssembly SIMD, which the threaded build needs');
  if (typeof SharedArrayBuffer === 'undefined') return no('threaded wasm unavailable: no SharedArrayBuffer in this runtime');
  const missing = opts.filesPresent(opts.dir);
  if (missing.length) return no(`threaded wasm unavailable: ${missing.join(', ')} not found in ${opts.dir}`);
  if (expected < 2) {
    return no(`threaded wasm not used: tfjs-backend-wasm's threaded build runs at most logical cores / 2 threads, ${opts.logicalCores} core${opts.logicalCores === 1 ? '' : 's'} here give 1`);
  }
  return { threaded: true, requested, expected, why: `threaded SIMD build, ${requested} cores asked; tfjs-backend-wasm uses at most logical cores / 2 (8 at most)` };
}

/** The threaded build's files missing from `dir`. */
export const missingThreadedFiles = (dir: string): string[] => Object.values(THREADED_FILES).filter((f) => !existsSync(join(dir, f)));

export const logicalCores = (): number => availableParallelism();

/** The emscripten module of the threaded glue (the part of its API used here). */
interface EmscriptenModule {
  cwrap(name: string, ret: string | null, args: string[]): (...a: number[]) => number;
  tfjs?: unknown;
}
type Factory = (config: Record<string, unknown>) => Promise<EmscriptenModule>;

type WasmPackage = typeof import('@tensorflow/tfjs-backend-wasm');

/**
 * Registers the 'wasm' backend on the threaded build in `dir` (before the backend's first initialisation): the
 * same BackendWasm and kernels as the package's own, its thread pool asked for `threads`.
 */
export function registerThreadedWasm(wasm: WasmPackage, dir: string, threads: number): void {
  const glue = join(dir, THREADED_FILES.glue);
  tf.removeBackend('wasm');
  tf.registerBackend(
    'wasm',
    async () => {
      const factory = createRequire(__filename)(glue) as Factory;
      const module = await factory({
        // The pthread workers start from the worker script file; each loads the glue from its path.
        locateFile: (path: string) => join(dir, path.endsWith('.worker.js') ? THREADED_FILES.worker : path),
        mainScriptUrlOrBlob: glue,
      });
      // As tfjs-backend-wasm's own init() wraps its module (backend_wasm.ts).
      module.tfjs = {
        init: module.cwrap('init', null, []),
        initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
        getThreadsCount: module.cwrap('get_threads_count', 'number', []),
        registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
        disposeData: module.cwrap('dispose_data', null, ['number']),
        dispose: module.cwrap('dispose', null, []),
      };
      return new wasm.BackendWasm(module as unknown as ConstructorParameters<WasmPackage['BackendWasm']>[0]);
    },
    2,
  );
  wasm.setThreadsCount(threads);
}
