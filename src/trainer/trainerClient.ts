/**
 * The host side of the trainer process (CLI now, the extension next): forks dist/trainer.js, talks to it
 * through RpcChannel over the IPC channel, and turns its notifications into events. No tfjs here, so the
 * CLI bundle stays small.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { RpcChannel } from '../protocol/rpcChannel';
import type { ComparisonRecord, RunRecord } from '../protocol/runRecords';
import type { BatchEndEvent, CompareParams, EpochEndEvent, LogEvent, TrainerNotifications, TrainerRequests, TrainParams } from '../protocol/trainerProtocol';
import type { BackendPreference } from './backend';
import { markRunsOfDeadTrainer } from './runStub';

export interface TrainerClientOptions {
  /** The trainer bundle; default dist/trainer.js beside the calling bundle. */
  script?: string;
  backend?: BackendPreference;
  env?: NodeJS.ProcessEnv;
  /** After `cancel()`, how long the job may take to finish before the process is killed (ms). Default 3000. */
  killAfterMs?: number;
}

export interface TrainerEvents {
  batchEnd: [BatchEndEvent];
  epochEnd: [EpochEndEvent];
  log: [LogEvent];
  runDone: [RunRecord];
  /** A line the process wrote to stderr (tfjs warnings, crashes). */
  stderr: [string];
  exit: [{ code: number | null; signal: NodeJS.Signals | null }];
}

/** The trainer process ended while a request was pending (crash, kill, or killed after a cancel). */
export class TrainerExitError extends Error {
  override readonly name = 'TrainerExitError';
  constructor(
    message: string,
    readonly code: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly stderrTail: string[],
    /** True when the process was killed because a cancel got no answer in time. */
    readonly killedAfterCancel: boolean,
  ) {
    super(message);
  }
}

const STDERR_LINES = 20;

export class TrainerClient {
  readonly events = new EventEmitter<TrainerEvents>();
  /** Settles when the process has exited and its output is read. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;
  private readonly channel: RpcChannel<TrainerRequests, TrainerNotifications>;
  private readonly stderrTail: string[] = [];
  private readonly killAfterMs: number;
  private active = 0;
  private killedAfterCancel = false;
  private killTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(options: TrainerClientOptions = {}) {
    this.killAfterMs = options.killAfterMs ?? 3000;
    const script = options.script ?? join(__dirname, 'trainer.js');
    const args = options.backend ? ['--backend', options.backend] : [];
    // 'advanced' serialisation (structured clone): NaN and Infinity losses arrive as numbers, not null.
    this.child = fork(script, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], serialization: 'advanced', env: options.env ?? process.env });
    this.channel = new RpcChannel<TrainerRequests, TrainerNotifications>((msg) => {
      if (!this.child.connected) throw new Error('the trainer process is not running');
      this.child.send(msg);
    });
    this.child.on('message', (m) => this.channel.receive(m));
    this.channel.onNotification('batchEnd', (e) => this.events.emit('batchEnd', e));
    this.channel.onNotification('epochEnd', (e) => this.events.emit('epochEnd', e));
    this.channel.onNotification('log', (e) => this.events.emit('log', e));
    this.channel.onNotification('runDone', (e) => this.events.emit('runDone', e.record));
    this.child.stdout?.resume(); // tfjs' console banner; nothing the host needs
    let partial = '';
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) this.stderrLine(line);
    });
    this.exited = new Promise((resolve) => {
      const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (this.closed) return;
        if (partial) this.stderrLine(partial);
        partial = '';
        this.closed = true;
        if (this.killTimer) clearTimeout(this.killTimer);
        this.channel.dispose(this.exitError(code, signal));
        this.events.emit('exit', { code, signal });
        resolve({ code, signal });
      };
      // Settle once the process has exited and stderr is drained, so a crash message has its last lines.
      // Not on 'close' alone: after a parent-side disconnect() with advanced serialisation, Node 20 may
      // never emit it.
      const stderr = this.child.stderr;
      let stderrDone = !stderr;
      let exitStatus: [number | null, NodeJS.Signals | null] | undefined;
      stderr?.on('close', () => {
        stderrDone = true;
        if (exitStatus) finish(...exitStatus);
      });
      this.child.on('exit', (code, signal) => {
        exitStatus = [code, signal];
        if (stderrDone) finish(code, signal);
        else setTimeout(() => finish(code, signal), 500).unref(); // a grandchild may hold stderr open
      });
      this.child.on('close', (code, signal) => finish(code, signal));
      this.child.on('error', (e) => {
        // Spawn failures (no such script) or a failed kill: settle pending requests with the cause.
        this.channel.dispose(new TrainerExitError(`the trainer process failed: ${e.message}`, null, null, [...this.stderrTail], false));
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Trains one model; resolves with its record (also when cancelled or diverged). */
  train(params: TrainParams): Promise<RunRecord> {
    return this.track(this.markOnDeath(this.channel.request('train', params), params.outDir));
  }

  /** Trains every plan in turn; resolves with the comparison. */
  compare(params: CompareParams): Promise<ComparisonRecord> {
    return this.track(this.markOnDeath(this.channel.request('compare', params), params.outDir));
  }

  /** When the process dies under a request, its runs left 'running' in `outDir` are marked failed with why. */
  private markOnDeath<T>(p: Promise<T>, outDir: string | undefined): Promise<T> {
    return p.catch((e: unknown) => {
      const pid = this.child.pid;
      if (e instanceof TrainerExitError && outDir && pid !== undefined) markRunsOfDeadTrainer(outDir, pid, e.message);
      throw e;
    });
  }

  /**
   * Asks the trainer to stop after the batch in progress; if the job has not finished `killAfterMs` later,
   * kills the process (the pending request then rejects with a TrainerExitError).
   */
  cancel(reason?: string): void {
    if (this.closed) return;
    this.channel.notify('cancel', reason ? { reason } : {});
    if (this.active > 0 && !this.killTimer) {
      this.killTimer = setTimeout(() => {
        this.killTimer = undefined;
        if (this.active > 0 && !this.closed) {
          this.killedAfterCancel = true;
          this.child.kill('SIGKILL');
        }
      }, this.killAfterMs);
    }
  }

  /** Ends the process (it exits on disconnect; killed if it does not within `killAfterMs`). */
  async dispose(): Promise<void> {
    if (this.closed) return;
    this.channel.dispose();
    if (this.child.connected) this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), this.killAfterMs);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
      if (this.killTimer) clearTimeout(this.killTimer);
    }
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.active++;
    const done = (): void => {
      this.active--;
      if (this.active === 0 && this.killTimer) {
        clearTimeout(this.killTimer);
        this.killTimer = undefined;
      }
    };
    p.then(done, done);
    return p;
  }

  private stderrLine(line: string): void {
    this.stderrTail.push(line);
    if (this.stderrTail.length > STDERR_LINES) this.stderrTail.shift();
    this.events.emit('stderr', line);
  }

  private exitError(code: number | null, signal: NodeJS.Signals | null): TrainerExitError {
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const why = this.killedAfterCancel ? ` after a cancel got no answer within ${this.killAfterMs} ms` : '';
    const tail = this.stderrTail.filter((l) => l.trim() !== '');
    const last = tail.length ? `:\n${tail.slice(-10).join('\n')}` : '';
    return new TrainerExitError(`the trainer process ${how}${why}${last}`, code, signal, tail, this.killedAfterCancel);
  }
}
