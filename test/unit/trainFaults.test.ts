import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chanceLoss, DivergenceWatch, divergenceRule } from '../../src/trainer/divergence';
import { markRunsOfDeadTrainer } from '../../src/trainer/runStub';

const root = resolve(__dirname, '../../..');
const cli = join(root, 'bin', 'laurel.js');
const model = join(root, 'examples', 'resnet-mini.json');

interface Run {
  code: number | null;
  out: string;
  err: string;
}

function train(args: string[], env: NodeJS.ProcessEnv = {}, onStart?: (pid: number) => void): Promise<Run> {
  return new Promise((done) => {
    const p = spawn(process.execPath, [cli, 'train', model, ...args], { cwd: root, env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    if (p.pid !== undefined) onStart?.(p.pid);
    p.on('close', (code) => done({ code, out, err }));
  });
}

const record = (dir: string): Record<string, unknown> => JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as Record<string, unknown>;

/** A fault injector standing in for Python: the probe (`-c ...`) goes to the real interpreter, the training run misbehaves. */
function fakePython(dir: string, name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\ncase "$1" in -c) exec /usr/bin/python3 "$@";; esac\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}

describe('training faults: divergence, killed trainers, broken engines, named Pythons', function () {
  this.timeout(300_000);
  let dir: string;
  const torch = spawnSync('/usr/bin/python3', ['-c', 'import torch, numpy']).status === 0;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'laurel-faults-'));
    if (!existsSync(join(root, 'dist', 'trainer.js'))) spawnSync(process.execPath, ['esbuild.mjs'], { cwd: root, stdio: 'inherit' });
  });

  describe('the divergence rule', () => {
    const rule = divergenceRule('categoricalCrossentropy', 10);
    const feed = (losses: number[]): [number, string] | undefined => {
      const w = new DivergenceWatch(rule);
      for (let i = 0; i < losses.length; i++) {
        const why = w.step(i + 1, losses[i]!);
        if (why) return [i + 1, why];
      }
      return undefined;
    };

    it('chance levels: ln C for softmax losses, ln 2 for binary, none for regression', () => {
      assert.equal(chanceLoss('categoricalCrossentropy', 10), Math.log(10));
      assert.equal(chanceLoss('softmaxCrossEntropyFromLogits', 3), Math.log(3));
      assert.equal(chanceLoss('binaryCrossentropy', undefined), Math.LN2);
      assert.equal(chanceLoss('meanSquaredError', undefined), null);
    });

    it('flags a loss that jumps far above its start and stays there (lr 1e9), after the window', () => {
      const r = feed([2.48, ...new Array(40).fill(14.1)]);
      assert.deepEqual(r?.[0], 21);
      assert.match(r![1], /loss diverging: 14\.100 at step 21, over 3x its start \(2\.480\) for 20 steps in a row/);
    });

    it('flags a high start that never falls while far above chance; a high start that falls is fine', () => {
      const stuck = feed(new Array(30).fill(10.9));
      assert.match(stuck?.[1] ?? '', /over 3x the chance level \(2\.303\) without falling below its start \(10\.900\)/);
      assert.equal(feed(Array.from({ length: 200 }, (_, i) => 10.9 * Math.exp(-i / 50) + 0.2)), undefined);
    });

    it('noise and short spikes are not divergence', () => {
      const noisy = Array.from({ length: 500 }, (_, i) => 2.3 - i / 400 + (i % 7 === 0 ? 5 : 0) + 0.3 * Math.sin(i));
      assert.equal(feed(noisy), undefined);
      const spikes = [2.3, ...Array.from({ length: 100 }, (_, i) => (i % 20 < 19 ? 8 : 2))];
      assert.equal(feed(spikes), undefined, '19 bad steps in a row, then a good one: not yet');
    });

    it('regression losses: only far above the start counts', () => {
      const w = new DivergenceWatch(divergenceRule('meanSquaredError', undefined));
      let why: string | undefined;
      for (let i = 0; i < 30 && !why; i++) why = w.step(i + 1, i === 0 ? 1 : 50);
      assert.match(why ?? '', /over 3x its start \(1\.000\)/);
    });
  });

  for (const engine of ['tfjs', 'pytorch'] as const) {
    it(`--lr 1e9 on ${engine}: stopped as diverged with the reason, exit 1, no weights saved`, async function () {
      if (engine === 'pytorch' && !torch) this.skip();
      const out = join(dir, `lr-${engine}`);
      const r = await train(['--lr', '1e9', '--engine', engine, '--python', '/usr/bin/python3', '--batch-size', '16', '--data', 'synthetic:samples=512', '-o', out]);
      assert.equal(r.code, 1, r.err);
      assert.match(r.out + r.err, /loss diverging: [\d.]+ at step 21, over 3x its start/);
      const rec = record(out);
      assert.equal(rec['status'], 'diverged');
      assert.match(String(rec['message']), /training stopped: try a lower learning rate \(now 1000000000, adam\)/);
      assert.deepEqual(readdirSync(out), ['run.json']);
    });
  }

  it('kill -9 of the trainer: run.json said running from the start, and the host marks it failed with the signal', async () => {
    const out = join(dir, 'killed');
    let killedPid: number | undefined;
    const r = await train(['--epochs', '50', '--data', 'synthetic:samples=256', '-o', out], {}, () => {
      const poll = setInterval(() => {
        try {
          const rec = record(out);
          if (rec['status'] === 'running' && typeof rec['pid'] === 'number') {
            clearInterval(poll);
            killedPid = rec['pid'];
            process.kill(killedPid, 'SIGKILL');
          }
        } catch {
          // not written yet
        }
      }, 100);
    });
    assert.ok(killedPid, 'the trainer wrote run.json with its pid before training');
    assert.equal(r.code, 1);
    assert.match(r.err, /the trainer process was killed by SIGKILL/);
    const rec = record(out);
    assert.equal(rec['status'], 'failed');
    assert.match(String(rec['message']), /killed by SIGKILL/);
    assert.equal(typeof rec['finishedAt'], 'string');
  });

  it("marking a dead trainer's runs touches only that process's 'running' records", () => {
    const d = mkdtempSync(join(tmpdir(), 'laurel-mark-'));
    const stub = (status: string, pid: number): string => JSON.stringify({ kind: 'laurel-run', version: 1, name: 'x', status, pid, startedAt: 'then' });
    for (const [sub, text] of [['1-plain', stub('running', 111)], ['2-rw', stub('running', 222)], ['3-lr', stub('completed', 111)]] as const) {
      spawnSync('mkdir', [join(d, sub)]);
      writeFileSync(join(d, sub, 'run.json'), text);
    }
    assert.deepEqual(markRunsOfDeadTrainer(d, 111, 'killed by SIGKILL'), [join(d, '1-plain', 'run.json')]);
    assert.equal(record(join(d, '1-plain'))['status'], 'failed');
    assert.equal(record(join(d, '2-rw'))['status'], 'running');
    assert.equal(record(join(d, '3-lr'))['status'], 'completed');
  });

  it('an engine printing malformed lines is stopped within seconds, and its run is recorded as failed', async function () {
    if (!torch) this.skip(); // the fake answers the probe with the real Python
    const out = join(dir, 'garbage');
    const py = fakePython(dir, 'garbage-python', 'while true; do echo "not a protocol line"; sleep 0.05; done');
    const r = await train(['--engine', 'pytorch', '--data', 'synthetic:samples=64', '-o', out], { LAUREL_PYTHON: py });
    assert.equal(r.code, 1);
    assert.match(r.err, /PyTorch training stopped: the engine \(.*garbage-python\) printed 21 lines that are not protocol events \(the last: "not a protocol line"\); it was killed/);
    assert.equal(record(out)['status'], 'failed');
    assert.match(String(record(out)['message']), /not protocol events/);
  });

  it('a silent engine is stopped after the silence limit, not left hanging', async function () {
    if (!torch) this.skip();
    const out = join(dir, 'silent');
    const py = fakePython(dir, 'silent-python', 'exec sleep 600');
    const r = await train(['--engine', 'pytorch', '--data', 'synthetic:samples=64', '-o', out], { LAUREL_PYTHON: py, LAUREL_ENGINE_SILENCE_MS: '3000' });
    assert.equal(r.code, 1);
    assert.match(r.err, /the engine \(.*silent-python\) sent nothing for [34] s \(it prints a heartbeat every second\); it was killed/);
    assert.equal(record(out)['status'], 'failed');
  });

  it('a real PyTorch run is not stopped by a tight watchdog (the heartbeat covers torch import and build)', async function () {
    if (!torch) this.skip();
    const out = join(dir, 'quiet');
    // A tight watchdog (8 s, the default is 20 s) over a whole real run: torch's import and the model build
    // print no event; the heartbeat (started before torch is imported) covers them.
    const r = await train(['--engine', 'pytorch', '--python', '/usr/bin/python3', '--epochs', '2', '--data', 'synthetic:samples=256', '-o', out], { LAUREL_ENGINE_SILENCE_MS: '8000' });
    assert.equal(r.code, 0, r.err);
    assert.equal(record(out)['status'], 'completed');
  });

  it('a LAUREL_PYTHON or --python that does not exist is an error naming it, recorded as a failed run', async () => {
    const out = join(dir, 'nopython');
    const r = await train(['--engine', 'pytorch', '--data', 'synthetic:samples=64', '-o', out], { LAUREL_PYTHON: '/nonexistent/python3' });
    assert.equal(r.code, 1);
    assert.match(r.err, /the Python named by LAUREL_PYTHON=\/nonexistent\/python3 cannot train: not found/);
    assert.equal(record(out)['status'], 'failed');
    const r2 = await train(['--engine', 'pytorch', '--python', '/nonexistent/python3', '--data', 'synthetic:samples=64', '-o', join(dir, 'nopython2')]);
    assert.equal(r2.code, 1);
    assert.match(r2.err, /\/nonexistent\/python3 \(--python \/ laurel\.pythonPath\) cannot train: not found/);
  });
});
