import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { openModel } from '../../src/core/model';
import { loadDataset } from '../../src/trainer/data/loadDataset';
import { parseCudaMemory, probeCudaMemory } from '../../src/trainer/gpuMemory';
import type { CudaMemory } from '../../src/trainer/gpuMemory';
import { memoryLimit } from '../../src/trainer/memory';
import { checkMemory, estimateTrainingMemory, MemoryRefusal } from '../../src/trainer/memoryEstimate';
import { planRun, taskOf } from '../../src/trainer/runSpec';
import { trainRun } from '../../src/trainer/train';
import { fixturePath } from './fixturePath';
import { requireSystemDeps, SYSTEM_PYTHON } from './systemDeps';

const GiB = 2 ** 30;
const wasm = { name: 'wasm' as const, package: '@tensorflow/tfjs-backend-wasm', tried: [] };
const cuda = { name: 'pytorch' as const, reason: '', device: 'cuda' as const };
const gpus = (...free: number[]): CudaMemory => ({ cuda: true, devices: free.map((f, index) => ({ index, name: `GPU-${index}`, freeBytes: f * GiB, totalBytes: 141 * GiB })) });

describe('GPU memory: a PyTorch run on CUDA is checked against the free memory of its GPUs', function () {
  this.timeout(120_000);

  it('the limit is the free memory of GPU 0, or the least free of the GPUs --nproc uses; the host memory is not used', () => {
    assert.deepEqual(memoryLimit(cuda, wasm, 999 * GiB, gpus(100)), { bytes: 100 * GiB, what: 'the free memory of GPU 0 (GPU-0)' });
    assert.deepEqual(memoryLimit(cuda, wasm, 999 * GiB, gpus(80, 20, 90), 2), { bytes: 20 * GiB, what: 'the free memory of the least free of GPUs 0-1, GPU 1 (GPU-1)' });
    // More processes than devices: all devices count.
    assert.equal(memoryLimit(cuda, wasm, 999 * GiB, gpus(80, 20), 4)!.bytes, 20 * GiB);
    // Unread (no CUDA, a failed probe): not refused up front; the CPU keeps the host's memory.
    assert.equal(memoryLimit(cuda, wasm, 999 * GiB, { cuda: false, reason: 'no CUDA' }), undefined);
    assert.equal(memoryLimit(cuda, wasm, 999 * GiB), undefined);
    assert.deepEqual(memoryLimit({ ...cuda, device: 'cpu' }, wasm, 7 * GiB, gpus(100)), { bytes: 7 * GiB, what: "the machine's available memory" });
  });

  it('FC-DenseNet 103 at batch 16 on PyTorch: refused on a GPU with 24 GiB free with the batch that fits, started with 139 GiB free', () => {
    const m = openModel('d103.json', readFileSync(fixturePath('keras2-fc-densenet103-tiramisu-sequential-listconfig.json')));
    const e = estimateTrainingMemory({ analysis: m.analysis, params: m.params.total, engine: 'pytorch', batch: 16, optimizer: 'adam' });
    assert.ok(e.totalBytes > 24 * GiB && e.totalBytes < 139 * GiB, `${e.totalBytes / GiB} GiB`);
    assert.throws(
      () => checkMemory(e, memoryLimit(cuda, wasm, 999 * GiB, gpus(24))!, false),
      (err: unknown) => err instanceof MemoryRefusal && /more than the free memory of GPU 0 \(GPU-0\) allows \(24 GiB\)\. Ways out: --batch-size \d+ \(or less\)/.test(err.message),
    );
    checkMemory(e, memoryLimit(cuda, wasm, 1 * GiB, gpus(139))!, false);
  });

  it('the probe output is read strictly: a malformed line or a device without numbers is a reason, never a figure', () => {
    assert.deepEqual(parseCudaMemory('{"cuda": true, "devices": [{"index": 0, "name": "H200", "freeBytes": 5, "totalBytes": 9}]}\n'), { cuda: true, devices: [{ index: 0, name: 'H200', freeBytes: 5, totalBytes: 9 }] });
    assert.deepEqual(parseCudaMemory('{"cuda": false, "reason": "no CUDA: torch 1.13 sees no CUDA device"}'), { cuda: false, reason: 'no CUDA: torch 1.13 sees no CUDA device' });
    assert.match((parseCudaMemory('{"cuda": true, "devices": [{"index": 0, "name": "H200", "freeBytes": "lots"}]}') as { reason: string }).reason, /reported no device/);
    assert.match((parseCudaMemory('{"cuda": true, "devices": []}') as { reason: string }).reason, /reported no device/);
    assert.match((parseCudaMemory('Traceback (most recent call last)') as { reason: string }).reason, /printed no JSON \(Traceback/);
  });

  it("the probe runs in Debian's python3 here: no CUDA, said plainly; a Python without torch and a missing one are reasons too", async function () {
    requireSystemDeps(this, 'python3-torch');
    const here = await probeCudaMemory(SYSTEM_PYTHON);
    assert.equal(here.cuda, false);
    assert.match((here as { reason: string }).reason, /^no CUDA: torch \S+ sees no CUDA device$/);
    const missing = await probeCudaMemory('/nonexistent/python3');
    assert.match((missing as { reason: string }).reason, /^the GPU memory probe failed/);
  });

  it('trainRun on a CUDA engine reads the GPU before building anything and refuses a run that does not fit it', async () => {
    // The run's Python reports one GPU with 1 KiB free (a stand-in: this machine has no CUDA); nothing trains.
    const dir = mkdtempSync(join(tmpdir(), 'laurel-gpu-'));
    const python = join(dir, 'python3');
    writeFileSync(python, `#!/bin/sh\necho '{"cuda": true, "devices": [{"index": 0, "name": "Tiny GPU", "freeBytes": 1024, "totalBytes": 2097152}]}'\n`);
    chmodSync(python, 0o755);
    const m = openModel('r1d.json', readFileSync(fixturePath('keras3-resnet1d-dotkeras-config.json')));
    const data = await loadDataset({ kind: 'synthetic', samples: 4 }, taskOf(m));
    const logs: string[] = [];
    try {
      const config = { optimizer: 'adam' as const, learningRate: 1e-3, batchSize: 4, epochs: 1, validationSplit: 0, seed: 1, maxSteps: 1, engine: 'pytorch' as const };
      await assert.rejects(
        trainRun(planRun(m), data, config, { backend: wasm, engine: { ...cuda, python }, sink: { log: (l: { message: string }) => logs.push(l.message) } as never }),
        (err: unknown) => err instanceof MemoryRefusal && /more than the free memory of GPU 0 \(Tiny GPU\) allows \(1\.0 KiB\)/.test(err.message),
      );
      assert.ok(logs.some((l) => /memory estimate .* of the free memory of GPU 0 \(Tiny GPU\)/.test(l)), logs.join('\n'));
    } finally {
      tf.dispose([data.x, data.y]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
