/**
 * Starts the training harness as one Python process, or as N DistributedDataParallel ranks on this machine.
 *
 * The ranks are started here with torch.distributed's env:// contract (MASTER_ADDR, MASTER_PORT, RANK,
 * WORLD_SIZE, LOCAL_RANK), which is all that torchrun --standalone does on one machine. torchrun was dropped
 * because its agent publishes the machine's fully qualified hostname as MASTER_ADDR: where the hostname does not
 * resolve (a CI sandbox), the ranks wait on it for 30 minutes. Here every address is 127.0.0.1, one rank failing
 * kills the others at once (their next collective could only hang or fail), and a cancel reaches every rank.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';

/** A TCP port nobody listens on now, for rank 0's rendezvous store. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The environment of rank `rank` of `world` (world 1: the plain harness). Gloo binds to the loopback interface
 * (it would otherwise resolve the hostname too), and each rank gets an equal share of the cores for its
 * intra-op threads unless the user set OMP_NUM_THREADS (torchrun's default of 1 leaves most cores idle on a CPU run).
 */
export function rankEnv(base: NodeJS.ProcessEnv, rank: number, world: number, port: number, cores = availableParallelism(), platform = process.platform): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, PYTHONUNBUFFERED: '1' };
  if (world <= 1) return env;
  Object.assign(env, {
    MASTER_ADDR: '127.0.0.1',
    MASTER_PORT: String(port),
    RANK: String(rank),
    LOCAL_RANK: String(rank),
    WORLD_SIZE: String(world),
    LOCAL_WORLD_SIZE: String(world),
    GROUP_RANK: '0',
  });
  const loopback = platform === 'darwin' ? 'lo0' : platform === 'linux' ? 'lo' : undefined;
  if (loopback && !base['GLOO_SOCKET_IFNAME']) env['GLOO_SOCKET_IFNAME'] = loopback;
  if (!base['OMP_NUM_THREADS']) env['OMP_NUM_THREADS'] = String(Math.max(1, Math.floor(cores / world)));
  return env;
}

export interface RankFailure {
  rank: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** That rank's last stderr lines. */
  stderr: string[];
}

export interface RanksOutcome {
  /** The ranks were killed after a cancel because they had not stopped within killAfterMs. */
  killed: boolean;
  /** The first rank that failed (exited non-zero or by a signal we did not send), if any. */
  failure?: RankFailure;
}

export interface LaunchOptions {
  /** Rank 0's stdout, line by line (the event stream). */
  onLine: (line: string) => void;
  /** Cancelling closes every rank's stdin (the harness stops after the batch in progress); after killAfterMs they are killed. */
  signal?: AbortSignal | undefined;
  killAfterMs: number;
  env?: NodeJS.ProcessEnv;
}

const STDERR_KEEP = 200;

/** Runs `python ...args` as `processes` ranks; resolves when every rank has exited, rejects only if Python cannot start. */
export function launchRanks(python: string, args: string[], processes: number, port: number, opts: LaunchOptions): Promise<RanksOutcome> {
  return new Promise((resolve, reject) => {
    const ranks: ChildProcessWithoutNullStreams[] = [];
    const stderr: string[][] = [];
    const open = new Set<number>();
    let killed = false;
    let failure: RankFailure | undefined;
    let startError: Error | undefined;
    let killTimer: ReturnType<typeof setTimeout> | undefined;
    const killAll = (): void => {
      for (const r of open) ranks[r]!.kill('SIGKILL');
    };
    const onAbort = (): void => {
      for (const r of open) ranks[r]!.stdin.end();
      killTimer ??= setTimeout(() => {
        if (open.size) killed = true;
        killAll();
      }, opts.killAfterMs);
    };
    const finish = (): void => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      if (startError) reject(startError);
      else resolve({ killed, ...(failure ? { failure } : {}) });
    };

    for (let rank = 0; rank < processes; rank++) {
      const child = spawn(python, args, { stdio: ['pipe', 'pipe', 'pipe'], env: rankEnv(opts.env ?? process.env, rank, processes, port) });
      ranks.push(child);
      stderr.push([]);
      open.add(rank);
      const errLines = stderr[rank]!;
      const keep = (line: string): void => {
        if (!line.trim()) return;
        errLines.push(line);
        if (errLines.length > STDERR_KEEP) errLines.splice(0, errLines.length - STDERR_KEEP);
      };
      // Chunks do not end at line ends: carry the unfinished line over.
      const lines = (each: (l: string) => void): ((chunk: string) => void) & { flush: () => void } => {
        let partial = '';
        const f = (chunk: string): void => {
          const parts = (partial + chunk).split('\n');
          partial = parts.pop() ?? '';
          parts.forEach(each);
        };
        return Object.assign(f, { flush: () => (partial ? (each(partial), (partial = '')) : undefined) });
      };
      // Only rank 0 emits events; another rank's stdout can only be a print() in user code: keep it as diagnostics.
      const out = lines(rank === 0 ? opts.onLine : keep);
      const err = lines(keep);
      child.stdout.setEncoding('utf8').on('data', out);
      child.stderr.setEncoding('utf8').on('data', err);
      child.stdin.on('error', () => undefined); // EPIPE when the rank has exited already
      child.on('error', (e) => {
        startError ??= new Error(`could not start ${python}: ${e.message}`);
        killAll();
      });
      child.on('close', (code, signal) => {
        out.flush();
        err.flush();
        open.delete(rank);
        if (!failure && !killed && (code !== 0 || signal !== null)) {
          failure = { rank, code, signal, stderr: errLines };
          killAll(); // the other ranks' next collective can only hang or fail
        }
        if (open.size === 0) finish();
      });
    }
    if (opts.signal?.aborted) onAbort();
    opts.signal?.addEventListener('abort', onAbort);
  });
}
