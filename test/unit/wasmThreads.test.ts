import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { EpochEndEvent } from '../../src/protocol/trainerProtocol';
import { TrainerClient } from '../../src/trainer/trainerClient';
import { missingThreadedFiles, planThreads, threadedCap, THREADED_FILES } from '../../src/trainer/wasmThreads';

const SCRIPT = resolve('dist/trainer.js');
const MODEL = resolve('examples/resnet-mini.json');

describe('threaded WebAssembly in Node (wasmThreads.ts)', function () {
  this.timeout(300_000);
  let tmp: string;
  before(function () {
    if (!existsSync(SCRIPT) || missingThreadedFiles(resolve('dist/wasm')).length) execFileSync(process.execPath, ['esbuild.mjs'], { stdio: 'inherit' });
    tmp = mkdtempSync(join(tmpdir(), 'laurel-wasm-threads-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it("asks for every core; the compiled build's cap is logical cores / 2, at most 8", () => {
    assert.deepEqual([1, 2, 3, 4, 8, 16, 64].map((n) => threadedCap(n, n)), [1, 1, 1, 2, 4, 8, 8]);
    const plan = (logicalCores: number, simd = true, missing: string[] = []) => planThreads({ simd, logicalCores, dir: '/d', filesPresent: () => missing });
    assert.deepEqual(plan(8), { threaded: true, requested: 8, expected: 4, why: 'threaded SIMD build, 8 cores asked; tfjs-backend-wasm uses at most logical cores / 2 (8 at most)' });
    assert.equal(plan(2).threaded, false);
    assert.match(plan(2).why, /^threaded wasm not used: .* 2 cores here give 1$/);
    assert.match(plan(8, false).why, /^threaded wasm unavailable: .* no WebAssembly SIMD/);
    assert.match(plan(8, true, [THREADED_FILES.worker]).why, /^threaded wasm unavailable: tfjs-backend-wasm-threaded-simd\.worker\.js not found in \/d$/);
    // The build writes the worker script and the glue beside the .wasm files.
    assert.deepEqual(missingThreadedFiles(resolve('dist/wasm')), []);
  });

  it('the trainer process runs the threaded build with 4 threads where it sees 8 cores, and trains to the same loss as 1 thread', async function () {
    // This machine may have fewer cores than the cap needs: a preload makes Node report 8 (os.cpus, which the
    // emscripten build reads, and os.availableParallelism). The threads are real worker_threads.
    const cores8 = join(tmp, 'cores8.js');
    writeFileSync(cores8, "const os = require('os'); const c = os.cpus(); os.cpus = () => Array.from({ length: 8 }, (_, i) => c[i % c.length]); os.availableParallelism = () => 8;\n");
    const run = async (env: NodeJS.ProcessEnv, out: string): Promise<{ logs: string[]; epoch: EpochEndEvent }> => {
      const client = new TrainerClient({ script: SCRIPT, backend: 'wasm', env });
      const logs: string[] = [];
      const epochs: EpochEndEvent[] = [];
      client.events.on('log', (e) => logs.push(e.message));
      client.events.on('epochEnd', (e) => epochs.push(e));
      try {
        const record = await client.train({
          modelPath: MODEL,
          data: 'synthetic:samples=48:classes=10',
          adapt: 'auto',
          config: { optimizer: 'adam', learningRate: 1e-3, batchSize: 16, epochs: 1, validationSplit: 0, seed: 1 },
          outDir: join(tmp, out),
          plan: 'rw+lr:r=4',
        });
        assert.equal(record.status, 'completed');
      } finally {
        await client.dispose();
      }
      assert.equal((await client.exited).code, 0, 'the process exits with its worker threads');
      return { logs, epoch: epochs[0]! };
    };
    const threaded = await run({ ...process.env, NODE_OPTIONS: `--require ${cores8}` }, 'threaded');
    const single = await run(process.env, 'single');
    const backendLine = (logs: string[]) => logs.find((l) => l.startsWith('backend wasm')) ?? logs.join('\n');
    assert.match(backendLine(threaded.logs), /SIMD, 4 threads \(threaded SIMD build, 8 cores asked;/);
    assert.match(backendLine(single.logs), /SIMD, \d+ threads? \(/);
    // XNNPACK splits work by output tiles, not within sums: the same numbers.
    assert.ok(Math.abs(threaded.epoch.loss - single.epoch.loss) < 1e-5, `loss ${threaded.epoch.loss} (4 threads) vs ${single.epoch.loss} (1 thread)`);
  });
});
