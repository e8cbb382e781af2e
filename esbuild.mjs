// One build script for every bundle: the CLI, the extension host, the trainer, the webview, and (with
// --tests) the mocha suites. Type checking is separate (`npm run typecheck`).
import * as esbuild from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const args = new Set(process.argv.slice(2));
const production = args.has('--production');
const watch = args.has('--watch');

const node = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  // src/python/*.py: the one copy of the Python that generated modules, the PyTorch engine and the tracer run.
  loader: { '.py': 'text' },
  // jsonc-parser's UMD build requires files by computed paths esbuild cannot follow: take its ESM build.
  mainFields: ['module', 'main'],
  // TF.js and its WebAssembly backend are bundled together (one tfjs-core); the .wasm binaries are copied
  // to dist/wasm. The native backends stay external: optional, and they load libtensorflow beside them.
  external: ['vscode', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
};

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

// The webview starts ELK's worker from a blob: URL made of elkjs's worker script, bundled as text.
const elkWorkerSource = {
  name: 'elk-worker-source',
  setup(build) {
    build.onResolve({ filter: /^elk-worker-source$/ }, () => ({ path: join(process.cwd(), 'node_modules/elkjs/lib/elk-worker.min.js'), namespace: 'elk-worker-source' }));
    build.onLoad({ filter: /.*/, namespace: 'elk-worker-source' }, (args) => ({ contents: readFileSync(args.path, 'utf8'), loader: 'text' }));
  },
};

const configs = [];
const entry = (src, outfile, extra = {}) => existsSync(src) && configs.push({ ...node, entryPoints: [src], outfile, ...extra });
entry('src/cli/main.ts', 'dist/cli.js');
entry('src/extension/extension.ts', 'dist/extension.js');
entry('src/extension/analysisWorker.ts', 'dist/analysisWorker.js');
entry('src/trainer/main.ts', 'dist/trainer.js');
entry('bench/main.ts', 'dist/bench.js');
entry('bench/openChild.ts', 'dist/benchOpen.js');
entry('bench/analysisHeapWorker.ts', 'dist/benchAnalysisWorker.js');
entry('bench/pyOpenChild.ts', 'dist/benchPyOpen.js');
entry('webview/main.ts', 'dist/webview/main.js', { platform: 'browser', format: 'iife', target: 'es2022', external: [], plugins: [elkWorkerSource] });
// The training panel; its uPlot CSS import becomes dist/webview/training.css.
entry('webview/training/main.ts', 'dist/webview/training.js', { platform: 'browser', format: 'iife', target: 'es2022', external: [] });
if (args.has('--tests')) {
  configs.push({ ...node, entryPoints: [...walk('test'), 'test/unit/tmpRoot.ts'], outdir: 'out/test', outbase: 'test', packages: 'external', sourcemap: true });
}

const wasmDir = 'node_modules/@tensorflow/tfjs-backend-wasm/dist';
mkdirSync('dist/wasm', { recursive: true });
for (const f of readdirSync(wasmDir).filter((n) => n.endsWith('.wasm'))) copyFileSync(join(wasmDir, f), join('dist/wasm', f));
// The threaded build in Node (src/trainer/wasmThreads.ts): its emscripten glue, and its pthread worker script as a
// file (the package ships it as a string for a blob: URL, which Node's worker_threads cannot start). The string's
// newlines are escaped as the package's own loader escapes them.
const wasmOut = 'node_modules/@tensorflow/tfjs-backend-wasm/wasm-out';
copyFileSync(join(wasmOut, 'tfjs-backend-wasm-threaded-simd.js'), 'dist/wasm/tfjs-backend-wasm-threaded-simd.js');
const { wasmWorkerContents } = createRequire(import.meta.url)(`./${wasmOut}/tfjs-backend-wasm-threaded-simd.worker.js`);
writeFileSync('dist/wasm/tfjs-backend-wasm-threaded-simd.worker.js', wasmWorkerContents.replace(/\n/g, '\\n'));

if (watch) {
  for (const c of configs) (await esbuild.context(c)).watch();
} else {
  await Promise.all(configs.map((c) => esbuild.build(c)));
}
