import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { RpcError } from '../../src/protocol/rpcChannel';
import type { TrainConfig } from '../../src/protocol/runRecords';
import type { EpochEndEvent, TrainParams } from '../../src/protocol/trainerProtocol';
import { TrainerClient, TrainerExitError } from '../../src/trainer/trainerClient';

const SCRIPT = resolve('dist/trainer.js');
const MODEL = resolve('examples/resnet-mini.json');

describe('trainer process (dist/trainer.js through TrainerClient)', function () {
  let tmp: string;
  before(function () {
    this.timeout(180000);
    if (!existsSync(SCRIPT)) execFileSync(process.execPath, ['esbuild.mjs'], { stdio: 'inherit' });
    tmp = mkdtempSync(join(tmpdir(), 'laurel-proc-'));
  });
  after(function () {
    rmSync(tmp, { recursive: true, force: true });
  });

  const params = (over: Partial<TrainConfig>, outDir: string, plan?: string): TrainParams => ({
    modelPath: MODEL,
    data: 'synthetic:samples=48:classes=10',
    adapt: 'auto',
    config: { optimizer: 'adam', learningRate: 1e-3, batchSize: 16, epochs: 1, validationSplit: 0, seed: 1, ...over },
    outDir,
    ...(plan ? { plan } : {}),
  });

  it('reports errors, trains an epoch with progress, then cancels a run and ends', async function () {
    const client = new TrainerClient({ script: SCRIPT, backend: 'wasm' });
    const epochs: EpochEndEvent[] = [];
    const logs: string[] = [];
    client.events.on('epochEnd', (e) => epochs.push(e));
    client.events.on('log', (e) => logs.push(e.message));
    try {
      await assert.rejects(client.train(params({}, join(tmp, 'bad'), 'nope')), (e: unknown) => e instanceof RpcError && e.name === 'PlanError' && /unknown variant 'nope'/.test(e.message));

      const record = await client.train(params({}, join(tmp, 'one'), 'rw+lr:r=4'));
      assert.equal(record.status, 'completed');
      assert.equal(record.steps, 3);
      assert.equal(epochs.length, 1);
      assert.equal(epochs[0]!.backend, 'wasm');
      assert.ok(Number.isFinite(epochs[0]!.loss) && epochs[0]!.samplesPerSec > 0 && epochs[0]!.memory.peakBytes > 0);
      assert.ok(logs.some((l) => l.startsWith('backend wasm')), logs.join('\n'));
      assert.ok(existsSync(join(tmp, 'one', 'weights.bin')) && existsSync(join(tmp, 'one', 'run.json')));

      let cancelledAt = 0;
      client.events.once('batchEnd', () => {
        cancelledAt = Date.now();
        client.cancel();
      });
      const cancelled = await client.train(params({ epochs: 50 }, join(tmp, 'two')));
      assert.equal(cancelled.status, 'cancelled');
      assert.ok(cancelled.steps <= 2, `stopped after ${cancelled.steps} steps`);
      assert.ok(Date.now() - cancelledAt < 3000);
    } finally {
      await client.dispose();
    }
    const { code, signal } = await client.exited;
    assert.equal(signal, null);
    assert.equal(code, 0);
  });

  it('rejects with the exit code and the last stderr lines when the process crashes', async function () {
    const crash = join(tmp, 'crash.js');
    writeFileSync(crash, "process.on('message', () => { process.stderr.write('loading weights\\nRangeError: out of memory in conv2d\\n'); process.exit(3); });\n");
    const client = new TrainerClient({ script: crash });
    await assert.rejects(client.train(params({}, join(tmp, 'c'))), (e: unknown) => {
      assert.ok(e instanceof TrainerExitError);
      assert.equal(e.code, 3);
      assert.match(e.message, /^the trainer process exited with code 3:\nloading weights\nRangeError: out of memory in conv2d$/);
      return true;
    });
  });

  it('kills a process that does not answer a cancel in time', async function () {
    const stuck = join(tmp, 'stuck.js');
    writeFileSync(stuck, "process.on('message', () => undefined); setInterval(() => undefined, 1000);\n");
    const client = new TrainerClient({ script: stuck, killAfterMs: 200 });
    const pending = client.train(params({}, join(tmp, 's')));
    client.cancel();
    await assert.rejects(pending, (e: unknown) => e instanceof TrainerExitError && e.killedAfterCancel && e.signal === 'SIGKILL' && /after a cancel got no answer within 200 ms/.test(e.message));
  });
});
