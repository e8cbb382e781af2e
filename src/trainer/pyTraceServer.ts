/**
 * A warm tracer per workspace: one Python that imported torch once (`laurel_trace.py --serve`) and measures
 * each request in a forked child, so a measurement costs the user's code and not torch's import (seconds).
 * Started on the first request, ended after an idle time or on dispose; requests run one at a time. Where
 * Python cannot fork (Windows), or the server fails, callers fall back to a one-shot `traceAllSources`.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { TRACER_SOURCE as tracerSource } from './pyTracerSource';
import { parseTraceSet } from '../core/pysource/pyTrace';
import type { TraceSetResult } from '../core/pysource/pyTrace';
import { traceAllSources } from './pySourceTrace';
import type { TraceAllOptions } from './pySourceTrace';

type Pending = { id: number; pid: number | null; done: (line: string | null) => void };

export class TraceServer {
  private child: ChildProcessWithoutNullStreams | null = null;
  private pending: Pending | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private idle: NodeJS.Timeout | null = null;
  private next = 1;

  /** `python`: an interpreter with torch (the caller found it); `idleMs`: how long it stays warm unused. */
  constructor(readonly python: string, private readonly idleMs = 10 * 60_000, private readonly env: NodeJS.ProcessEnv = process.env) {}

  /** Every model of `file` (as traceAllSources), measured by the warm Python. */
  trace(file: string, opts: TraceAllOptions = {}): Promise<TraceSetResult> {
    const run = this.queue.then(() => this.request(file, opts));
    this.queue = run.catch(() => undefined);
    return run;
  }

  dispose(): void {
    if (this.idle) clearTimeout(this.idle);
    this.stop();
  }

  private start(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    const child = spawn(this.python, ['-c', tracerSource, '--serve'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...this.env, PYTHONDONTWRITEBYTECODE: '1' } });
    child.stderr.resume(); // the user's prints and warnings; not read, never allowed to block the pipe
    child.stdin.on('error', () => undefined);
    createInterface({ input: child.stdout }).on('line', (line) => {
      const p = this.pending;
      if (!p) return;
      let msg: { id?: unknown; pid?: unknown; result?: unknown };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        return;
      }
      if (msg.id !== p.id) return;
      if (typeof msg.pid === 'number') p.pid = msg.pid;
      else if (msg.result !== undefined) p.done(JSON.stringify(msg.result));
    });
    child.on('exit', () => {
      if (this.child === child) this.child = null;
      this.pending?.done(null);
    });
    child.on('error', () => undefined);
    this.child = child;
    return child;
  }

  private stop(): void {
    this.child?.kill('SIGKILL');
    this.child = null;
  }

  private async request(file: string, opts: TraceAllOptions): Promise<TraceSetResult> {
    if (this.idle) clearTimeout(this.idle);
    const limitMs = opts.limitMs ?? 60_000;
    const id = this.next++;
    let killedFor: string | null = null;
    const line = await new Promise<string | null>((done) => {
      const p: Pending = { id, pid: null, done: () => undefined };
      const kill = (why: string): void => {
        killedFor = why;
        if (p.pid !== null) {
          try {
            process.kill(p.pid, 'SIGKILL');
          } catch {
            /* already gone */
          }
        } else this.stop();
      };
      // The child's own alarm stops a slow pass with a message; this catches what the alarm cannot (C code).
      const timer = setTimeout(() => kill(`the forward pass ran past ${limitMs / 1000} s and was stopped`), limitMs + 5000);
      const onAbort = (): void => kill('cancelled');
      opts.signal?.addEventListener('abort', onAbort);
      p.done = (l) => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        this.pending = null;
        done(l);
      };
      this.pending = p;
      const request = { id, file: resolve(file), source: opts.source, models: opts.models ?? [], inputs: opts.inputs ?? [], timeout: Math.max(1, limitMs / 1000) };
      this.start().stdin.write(`${JSON.stringify(request)}\n`);
    });
    this.idle = setTimeout(() => this.stop(), this.idleMs);
    this.idle.unref();
    if (killedFor) return { ok: false, error: { phase: 'timeout', message: killedFor, line: null } };
    // The server died (not forkable here, out of memory, killed): the one-shot process answers instead.
    if (line === null) return traceAllSources(file, { ...opts, python: this.python });
    return parseTraceSet(line);
  }
}
