import assert from 'node:assert/strict';
import { freePort, launchRanks, rankEnv } from '../../src/trainer/pythonRanks';
import type { RanksOutcome } from '../../src/trainer/pythonRanks';

// The launcher on its own, with small Python programs (any python3; no torch needed) standing in for the harness.
const python = 'python3';

async function run(code: string, processes: number, opts: { signal?: AbortSignal; killAfterMs?: number } = {}): Promise<RanksOutcome & { lines: string[]; ms: number }> {
  const lines: string[] = [];
  const t0 = Date.now();
  const outcome = await launchRanks(python, ['-c', code], processes, await freePort(), { onLine: (l) => lines.push(l), signal: opts.signal, killAfterMs: opts.killAfterMs ?? 3000 });
  return { ...outcome, lines, ms: Date.now() - t0 };
}

describe('DDP rank launcher', function () {
  this.timeout(30000);

  it('gives each rank the env:// variables on 127.0.0.1, the loopback for Gloo and a share of the cores', function () {
    const one = rankEnv({ PATH: '/bin' }, 0, 1, 0, 16, 'linux');
    assert.deepEqual(one, { PATH: '/bin', PYTHONUNBUFFERED: '1' }); // one process: nothing distributed

    const r1 = rankEnv({ PATH: '/bin' }, 1, 4, 41234, 16, 'linux');
    assert.equal(r1['MASTER_ADDR'], '127.0.0.1'); // never the hostname: it may not resolve
    assert.equal(r1['MASTER_PORT'], '41234');
    assert.equal(r1['RANK'], '1');
    assert.equal(r1['LOCAL_RANK'], '1');
    assert.equal(r1['WORLD_SIZE'], '4');
    assert.equal(r1['LOCAL_WORLD_SIZE'], '4');
    assert.equal(r1['GLOO_SOCKET_IFNAME'], 'lo');
    assert.equal(r1['OMP_NUM_THREADS'], '4');
    assert.equal(rankEnv({}, 0, 2, 1, 16, 'darwin')['GLOO_SOCKET_IFNAME'], 'lo0');
    assert.equal(rankEnv({}, 0, 2, 1, 16, 'win32')['GLOO_SOCKET_IFNAME'], undefined);
    assert.equal(rankEnv({}, 0, 3, 1, 2, 'linux')['OMP_NUM_THREADS'], '1'); // more ranks than cores

    // What the user set wins.
    const mine = rankEnv({ GLOO_SOCKET_IFNAME: 'eth1', OMP_NUM_THREADS: '7' }, 0, 2, 1, 16, 'linux');
    assert.equal(mine['GLOO_SOCKET_IFNAME'], 'eth1');
    assert.equal(mine['OMP_NUM_THREADS'], '7');
  });

  it("reads rank 0's stdout as the event stream and every rank sees its own rank", async function () {
    const r = await run('import os,sys\nprint("rank", os.environ["RANK"], "of", os.environ["WORLD_SIZE"], os.environ["MASTER_ADDR"])', 3);
    assert.equal(r.failure, undefined);
    assert.equal(r.killed, false);
    assert.deepEqual(r.lines, ['rank 0 of 3 127.0.0.1']); // ranks 1 and 2 printed too, but they are not the stream
  });

  it('one failing rank kills the others at once and is named with its error', async function () {
    // Rank 0 would wait two minutes for a collective that cannot come; the launcher must not wait with it.
    const r = await run('import os,time\nif os.environ["RANK"] == "1":\n    raise ValueError("rank one broke")\ntime.sleep(120)', 2);
    assert.ok(r.ms < 15000, `took ${r.ms} ms`);
    assert.ok(r.failure);
    assert.equal(r.failure.rank, 1);
    assert.equal(r.failure.code, 1);
    assert.match(r.failure.stderr.join('\n'), /ValueError: rank one broke/);
    assert.equal(r.killed, false);
  });

  it('a cancel closes every rank\'s stdin; ranks that stop in time end normally', async function () {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const r = await run('import os,sys\nsys.stdin.read()\nprint("stopped", os.environ["RANK"])', 2, { signal: ac.signal });
    assert.equal(r.killed, false);
    assert.equal(r.failure, undefined);
    assert.deepEqual(r.lines, ['stopped 0']);
  });

  it('ranks that ignore the cancel are killed after killAfterMs, and that is not a failure', async function () {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const r = await run('import time\ntime.sleep(120)', 2, { signal: ac.signal, killAfterMs: 500 });
    assert.equal(r.killed, true);
    assert.equal(r.failure, undefined);
    assert.ok(r.ms < 10000, `took ${r.ms} ms`);
  });

  it('a Python that cannot start rejects with its name', async function () {
    await assert.rejects(launchRanks('/nonexistent/python3', ['-c', 'pass'], 2, 1, { onLine: () => undefined, killAfterMs: 100 }), /could not start \/nonexistent\/python3: .*ENOENT/);
  });
});
