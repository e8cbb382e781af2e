/**
 * The PyTorch harness as a child process: its command line (python, or torchrun for several ranks) and
 * environment, its JSON event stream turned into the trainer's events, the watchdog for a silent or foreign
 * engine, cancel and kill, and the message of a failed run (the earliest rank's Python error).
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import type { BackendChoice } from '../protocol/backends';
import type { EngineChoice, EpochMetrics, RunStatus, TrainConfig } from '../protocol/runRecords';
import torchrunBoot from '../python/torchrun_boot.py';
import type { TrainSink } from './run';

/** An engine silent this long (no event, no heartbeat) is stopped; LAUREL_ENGINE_SILENCE_MS overrides it. */
export const ENGINE_SILENCE_MS = 20_000;
/**
 * Before its first line the limit is longer: under torchrun the launcher imports torch and starts the ranks
 * before rank 0's heartbeat exists, which took over 20 s on a loaded 2-core machine. The override sets both.
 */
export const ENGINE_STARTUP_SILENCE_MS = 90_000;
/** After its `done` event an engine (torchrun and its ranks) has this long to exit before it is ended. */
const EXIT_AFTER_DONE_MS = 10_000;
/** Stdout lines that are not protocol events tolerated before the engine is stopped. */
const MALFORMED_LIMIT = 20;
const PROTOCOL_EVENTS = new Set(['log', 'batchEnd', 'epochEnd', 'done', 'alive']);
/** After a cancel, how long Python may take to stop at the next batch and save before it is killed. */
export const KILL_AFTER_MS = 3000;

/** What the harness prints last. */
export interface DoneEvent {
  status: RunStatus;
  message: string | null;
  budgetHit: boolean;
  epochs: Record<string, unknown>[];
  steps: number;
  stepMs: number | null;
  samplesPerSec: number | null;
  peakBytes: number;
  firstStepMs: number | null;
  trainMs: number;
  saveMs: number;
  stateDict: string | null;
  params: { total: number; trainable: number };
  device: 'cuda' | 'cpu';
  precision: 'bf16-autocast' | 'float32';
  compiled: boolean;
  compileNote: string | null;
  threads: number;
  processes?: number;
  distBackend?: 'nccl' | 'gloo' | null;
  /** The held-out test figures of the best-validation checkpoint (with a test set). */
  test?: { loss: unknown; acc: unknown; epoch: number; by: 'valAcc' | 'valLoss' | 'final' } | null;
}

/** What runPython needs of a run's options. */
export interface HarnessOptions {
  engine: EngineChoice;
  backend: BackendChoice;
  sink?: TrainSink;
  signal?: AbortSignal;
}

/** The torchrun launch with its torch 1.13 shim (src/python/torchrun_boot.py, bundled as text). */
export const TORCHRUN_BOOT = torchrunBoot;

/**
 * The command line for the harness: `python train.py config.json`, or with several processes torchrun's
 * (`python -m torch.distributed.run --nproc_per_node N train.py config.json`, through TORCHRUN_BOOT), which
 * starts the ranks and sets RANK/WORLD_SIZE/LOCAL_RANK for them.
 *
 * One machine, so the static rendezvous with rank 0's store on 127.0.0.1 and a free port. Not --standalone or
 * c10d: their agent publishes the machine's fully qualified hostname as MASTER_ADDR, and where that name does not
 * resolve (a CI sandbox; reproduced with `unshare --uts` and an unknown hostname) the ranks wait 30 minutes for
 * it. torch 1.13's --standalone also always takes port 29400, so two runs at once would meet and hang. The agent
 * checks on its ranks every 0.5 s instead of 5 s, so a run ends when its ranks do.
 */
export function pythonArgs(script: string, configPath: string, processes: number, port: number): string[] {
  if (processes <= 1) return [script, configPath];
  const rdzv = ['--nnodes=1', '--node_rank=0', '--rdzv_backend=static', '--master_addr=127.0.0.1', `--master_port=${port}`, '--max_restarts=0', '--monitor_interval=0.5'];
  return ['-c', TORCHRUN_BOOT, ...rdzv, `--nproc_per_node=${processes}`, script, configPath];
}

/**
 * The environment for the harness. With several ranks: Gloo binds to the loopback interface (it would otherwise
 * look the hostname up too), and each rank gets an equal share of the cores for its intra-op threads, unless the
 * user set either (torchrun's default of 1 thread per rank leaves most cores idle on a CPU run).
 */
export function pythonEnv(base: NodeJS.ProcessEnv, processes: number, cores = availableParallelism(), platform = process.platform): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, PYTHONUNBUFFERED: '1' };
  if (processes <= 1) return env;
  const loopback = platform === 'darwin' ? 'lo0' : platform === 'linux' ? 'lo' : undefined;
  if (loopback && !base['GLOO_SOCKET_IFNAME']) env['GLOO_SOCKET_IFNAME'] = loopback;
  if (!base['OMP_NUM_THREADS']) env['OMP_NUM_THREADS'] = String(Math.max(1, Math.floor(cores / processes)));
  return env;
}

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

/** JSON numbers, and the strings the harness writes for NaN and ±Infinity. */
export const harnessNumber = (v: unknown): number | undefined => (typeof v === 'number' ? v : typeof v === 'string' && /^-?(NaN|Infinity)$/.test(v) ? Number(v) : undefined);

export function epochMetrics(e: Record<string, unknown>): EpochMetrics {
  const m: EpochMetrics = {
    epoch: Number(e['epoch']),
    loss: harnessNumber(e['loss']) ?? NaN,
    batches: Number(e['batches']),
    samples: Number(e['samples']),
    samplesPerSec: harnessNumber(e['samplesPerSec']) ?? 0,
    stepMs: harnessNumber(e['stepMs']) ?? 0,
    seconds: harnessNumber(e['seconds']) ?? 0,
    memory: e['memory'] as EpochMetrics['memory'],
  };
  for (const k of ['acc', 'valLoss', 'valAcc', 'lr'] as const) {
    const v = harnessNumber(e[k]);
    if (v !== undefined) m[k] = v;
  }
  return m;
}

/** The last line of a Python traceback ('ValueError: ...'), else the last non-empty line. */
export function pythonErrorLine(stderr: string[]): string | undefined {
  const lines = stderr.map((l) => l.trimEnd()).filter(Boolean);
  return [...lines].reverse().find((l) => /^[A-Za-z_.]*(Error|Exception|Interrupt)\b.*:?/.test(l)) ?? lines[lines.length - 1];
}

const ERROR_TAG = 'LAUREL_ERROR ';
/** A line torchrun's elastic agent logs ('WARNING:torch.distributed.elastic.multiprocessing.api:Sending process 123 closing signal SIGTERM'). */
const TORCHRUN_LOG = /^(DEBUG|INFO|WARNING|ERROR|CRITICAL):torch\.distributed\./;

/**
 * Traceback lines kept in a failure's message: the loop's own frames (train.py, main, the set-up) take about 10
 * (Python 3.11 marks the failing expression under its line), the user's frames follow them.
 */
const TRACEBACK_LINES = 20;

/**
 * Why the harness failed, for the message: the earliest error a rank reported (the harness tags each rank's
 * exception with its time; later ones are ranks falling in a collective after it, and torchrun's own summary
 * comes last), with that rank's traceback as the detail. Without a tag (Python died before the harness ran):
 * the last traceback line and the last lines of stderr.
 */
export function pythonFailure(stderr: string[], processes: number): { why?: string; detail: string } {
  let first: { rank: number; time: number; error: string; at: number } | undefined;
  stderr.forEach((line, at) => {
    if (!line.startsWith(ERROR_TAG)) return;
    try {
      const t = JSON.parse(line.slice(ERROR_TAG.length)) as { rank: number; time: number; error: string };
      if (!first || t.time < first.time) first = { ...t, at };
    } catch {
      /* a cut line: ignore it */
    }
  });
  const untagged = stderr.filter((l) => !l.startsWith(ERROR_TAG));
  if (!first) return { why: pythonErrorLine(untagged), detail: untagged.slice(-TRACEBACK_LINES).join('\n') };
  // That rank's traceback: from its tag to the next rank's traceback (ranks' stderr lines share one pipe).
  // torchrun's own log lines (the SIGTERM it sends the other ranks) land anywhere among them: not the rank's.
  const after = stderr.slice(first.at + 1).filter((l) => !l.startsWith(ERROR_TAG) && !TORCHRUN_LOG.test(l));
  const next = after.findIndex((l, i) => i > 0 && l.startsWith('Traceback ('));
  const detail = (next > 0 ? after.slice(0, next) : after).slice(-TRACEBACK_LINES).join('\n');
  return { why: processes > 1 ? `rank ${first.rank} of ${processes}: ${first.error}` : first.error, detail };
}

/** Runs the harness, forwards its events, and resolves with its `done` event (or a cancelled one if it was killed). */
export function runPython(python: string, args: string[], processes: number, run: string, config: TrainConfig, opts: HarnessOptions): Promise<DoneEvent & { killed: boolean }> {
  const sink = opts.sink ?? {};
  const engineLabel = `pytorch ${opts.engine.device}${opts.engine.device === 'cuda' && opts.engine.bf16 ? ' bf16' : ''}`;
  return new Promise((resolve, reject) => {
    // torchrun (several processes) runs in its own process group so that the kill after a cancel takes its ranks too.
    const group = processes > 1;
    const child = spawn(python, args, { stdio: ['pipe', 'pipe', 'pipe'], env: pythonEnv(process.env, processes), detached: group });
    const stderr: string[] = [];
    let done: DoneEvent | undefined;
    const epochEvents: Record<string, unknown>[] = [];
    let killed = false;
    let killTimer: ReturnType<typeof setTimeout> | undefined;
    let partial = '';
    // A foreign or broken engine (malformed lines, or silence: no heartbeat) is stopped within seconds.
    let fault: string | undefined;
    let malformed = 0;
    let lastEvent = Date.now();
    const override = Number(process.env['LAUREL_ENGINE_SILENCE_MS']);
    const silenceMs = override || ENGINE_SILENCE_MS;
    const startupMs = override || ENGINE_STARTUP_SILENCE_MS;
    let started = false;
    const stopEngine = (why: string): void => {
      fault ??= why;
      killEngine();
    };
    const killEngine = (): void => {
      if (group && child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
          return;
        } catch {
          // the group is gone already
        }
      }
      child.kill('SIGKILL');
    };
    const watchdog = setInterval(() => {
      const quiet = Date.now() - lastEvent;
      // The result is in and rank 0 has stopped its heartbeat: a launcher still waiting on its other ranks is
      // ended after a while, and the run keeps its result.
      if (done) {
        if (quiet > EXIT_AFTER_DONE_MS) killEngine();
        return;
      }
      if (quiet > (started ? silenceMs : startupMs)) stopEngine(`the engine sent nothing for ${Math.round((Date.now() - lastEvent) / 1000)} s (it prints a heartbeat every second)`);
    }, Math.min(1000, silenceMs / 2));
    const onLine = (line: string): void => {
      if (!line.trim()) return;
      let ev: Record<string, unknown> | undefined;
      try {
        ev = JSON.parse(line) as Record<string, unknown>;
      } catch {
        ev = undefined;
      }
      if (!ev || typeof ev !== 'object' || !PROTOCOL_EVENTS.has(String(ev['event']))) {
        stderr.push(line); // kept with the diagnostics; a few are tolerated (a stray print), a stream of them is not
        if (++malformed > MALFORMED_LIMIT) stopEngine(`the engine printed ${malformed} lines that are not protocol events (the last: ${JSON.stringify(line.slice(0, 120))})`);
        return;
      }
      lastEvent = Date.now();
      started = true;
      switch (ev['event']) {
        case 'log':
          sink.log?.({ level: ev['level'] as 'info' | 'warn' | 'error', message: `${run}: ${String(ev['message'])}` });
          break;
        case 'batchEnd': {
          const acc = harnessNumber(ev['acc']);
          sink.batchEnd?.({
            run,
            epoch: Number(ev['epoch']),
            batch: Number(ev['batch']),
            batchesPerEpoch: Number(ev['batchesPerEpoch']),
            step: Number(ev['step']),
            loss: harnessNumber(ev['loss']) ?? NaN,
            ...(acc !== undefined ? { acc } : {}),
            samplesPerSec: harnessNumber(ev['samplesPerSec']) ?? 0,
          });
          break;
        }
        case 'epochEnd': {
          epochEvents.push(ev);
          const { epoch, batches: _b, samples: _s, seconds: _sec, ...rest } = epochMetrics(ev);
          sink.epochEnd?.({ run, epoch, epochs: config.epochs, ...rest, backend: opts.backend.name, engine: engineLabel });
          break;
        }
        case 'done':
          done = ev as unknown as DoneEvent;
          break;
      }
    };
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      lines.forEach(onLine);
    });
    // Chunks do not end at line ends: carry the unfinished line over, as for stdout.
    let partialErr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partialErr + chunk).split('\n');
      partialErr = lines.pop() ?? '';
      for (const l of lines) if (l.trim()) stderr.push(l);
      if (stderr.length > 200) stderr.splice(0, stderr.length - 200);
    });
    child.stderr.on('end', () => {
      if (partialErr.trim()) stderr.push(partialErr);
      partialErr = '';
    });
    child.stdin.on('error', () => undefined); // EPIPE when Python has exited already
    const onAbort = (): void => {
      child.stdin.end();
      killTimer ??= setTimeout(() => {
        killed = true;
        if (group && child.pid !== undefined) {
          try {
            process.kill(-child.pid, 'SIGKILL');
          } catch {
            child.kill('SIGKILL'); // the group is gone already
          }
        } else child.kill('SIGKILL');
      }, KILL_AFTER_MS);
    };
    if (opts.signal?.aborted) onAbort();
    opts.signal?.addEventListener('abort', onAbort);
    child.on('error', (e) => {
      clearInterval(watchdog);
      opts.signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      reject(new Error(`could not start ${python}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearInterval(watchdog);
      opts.signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      if (partial) onLine(partial);
      if (fault) {
        const tail = stderr.slice(-5).join('\n');
        return reject(new Error(`PyTorch training stopped: the engine (${python}) ${fault.replace(/^the engine /, '')}; it was killed${tail ? `\n${tail}` : ''}`));
      }
      if (done) return resolve({ ...done, killed: false });
      if (killed) {
        return resolve({
          status: 'cancelled', message: null, budgetHit: false, epochs: epochEvents, steps: 0, stepMs: null, samplesPerSec: null, peakBytes: 0, firstStepMs: null,
          trainMs: 0, saveMs: 0, stateDict: null, params: { total: 0, trainable: 0 }, device: opts.engine.device ?? 'cpu', precision: 'float32', compiled: false, compileNote: null, threads: 0, killed: true,
        });
      }
      const { why, detail } = pythonFailure(stderr, processes);
      reject(new Error(`PyTorch training failed (${python} ${signal ? `killed by ${signal}` : `exited with code ${code}`})${why ? `: ${why}` : ''}${detail ? `\n${detail}` : ''}`));
    });
  });
}
