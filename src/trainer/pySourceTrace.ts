/**
 * Runs src/python/laurel_trace.py on a user's .py model in a child process: one forward pass in a Python
 * that has torch, stopped at a time limit. The caller gets a checked trace or a located error, never a throw
 * for what the user's code does.
 */
import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { TRACER_SOURCE as tracerSource } from './pyTracerSource';
import { parseTrace, parseTraceSet } from '../core/pysource/pyTrace';
import type { TraceError, TraceResult, TraceSetResult } from '../core/pysource/pyTrace';
import { findTorchPython, findTorchPythonQuick, NamedPythonError, PythonNotFoundError } from './pythonFinder';
import type { FindPythonOptions } from './pythonFinder';

export interface TraceOptions extends FindPythonOptions {
  /** Python expressions in the file's namespace; else the file's `# laurel:` comment, else a guess. */
  model?: string | undefined;
  input?: string | undefined;
  /** Forward-pass limit (ms), default 60 s; the process is killed a little after it. */
  limitMs?: number;
  signal?: AbortSignal;
  /** The file's text when it differs from the disk (an unsaved editor): sent on stdin. */
  source?: string;
  /** This interpreter as it is, without the search (its missing torch is then the error). */
  python?: string;
}

/** One forward pass of the model in `file`. */
export function traceSource(file: string, opts: TraceOptions = {}): Promise<TraceResult> {
  return runTracer(file, opts, [...(opts.model !== undefined ? ['--model', opts.model] : []), ...(opts.input !== undefined ? ['--input', opts.input] : [])], parseTrace);
}

export interface TraceAllOptions extends Omit<TraceOptions, 'model' | 'input'> {
  /** Model expressions (else the file's comment lines, else every class that builds without arguments). */
  models?: string[];
  /** One input for every model, or one per model. */
  inputs?: string[];
}

/** One forward pass of every model of `file` in one Python (torch imported once); the limit covers them all. */
export function traceAllSources(file: string, opts: TraceAllOptions = {}): Promise<TraceSetResult> {
  const flags = ['--all', ...(opts.models ?? []).flatMap((m) => ['--model', m]), ...(opts.inputs ?? []).flatMap((i) => ['--input', i])];
  return runTracer(file, opts, flags, parseTraceSet);
}

async function runTracer<R extends { ok: boolean }>(file: string, opts: TraceOptions, flags: string[], parse: (stdout: string) => R | { ok: false; error: TraceError }): Promise<R | { ok: false; error: TraceError }> {
  type Result = R | { ok: false; error: TraceError };
  const pick = async (find: (o: FindPythonOptions) => Promise<string>): Promise<string | Result> => {
    try {
      return await find(opts);
    } catch (e) {
      if (e instanceof PythonNotFoundError || e instanceof NamedPythonError) return { ok: false, error: { phase: 'torch', message: e.message, line: null } };
      throw e;
    }
  };
  // Found without importing torch (the tracer's own import is the check); a candidate whose torch fails to
  // import is then left to the probe, which skips it for the next one as training does.
  const quick = opts.python ?? (await pick(findTorchPythonQuick));
  if (typeof quick !== 'string') return quick;
  const first = await spawnTracer(quick, file, opts, flags, parse);
  if (opts.python !== undefined || first.ok || !('error' in first) || first.error.phase !== 'torch') return first;
  const probed = await pick(async (o) => (await findTorchPython(o)).probe.executable);
  if (typeof probed !== 'string') return probed;
  return probed === quick ? first : spawnTracer(probed, file, opts, flags, parse);
}

function spawnTracer<R extends { ok: boolean }>(python: string, file: string, opts: TraceOptions, flags: string[], parse: (stdout: string) => R | { ok: false; error: TraceError }): Promise<R | { ok: false; error: TraceError }> {
  type Result = R | { ok: false; error: TraceError };
  const limitMs = opts.limitMs ?? 60_000;
  const path = resolve(file);
  // The tracer goes in as -c (about 20 kB, far below the argument limits); stdin carries an unsaved text.
  const args = ['-c', tracerSource, path, '--timeout', String(Math.max(1, limitMs / 1000))];
  if (opts.source !== undefined) args.push('--stdin');
  args.push(...flags);
  return new Promise<Result>((done) => {
    const child = spawn(python, args, { cwd: dirname(path), stdio: ['pipe', 'pipe', 'pipe'], env: { ...(opts.env ?? process.env), PYTHONDONTWRITEBYTECODE: '1' } });
    let stdout = '';
    let stderr = '';
    let killedFor: string | null = null;
    const kill = (why: string): void => {
      killedFor = why;
      child.kill('SIGKILL');
    };
    // Python's own alarm stops a slow forward pass with a message; this catches what the alarm cannot (C code).
    const timer = setTimeout(() => kill(`the forward pass ran past ${limitMs / 1000} s and was stopped`), limitMs + 5000);
    const onAbort = (): void => kill('cancelled');
    opts.signal?.addEventListener('abort', onAbort);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
    child.on('error', (e) => finish({ ok: false, error: { phase: 'python', message: `${python}: ${e.message}`, line: null } }));
    child.on('close', (code) => {
      if (killedFor) return finish({ ok: false, error: { phase: 'timeout', message: killedFor, line: null } });
      const r = parse(stdout);
      if ('error' in r && r.error.phase === 'python') r.error.message += `; exit code ${code}; ${stderr.trim().split('\n').slice(-3).join(' | ')}`;
      finish(r);
    });
    child.stdin.on('error', () => undefined); // a Python that exits at once: its exit code says why
    child.stdin.end(opts.source ?? '');
    function finish(r: Result): void {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      done(r);
    }
  });
}
