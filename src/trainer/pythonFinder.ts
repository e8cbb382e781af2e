/**
 * Finds a Python that imports torch (and numpy) for the PyTorch engine. Candidates, in order: an explicit
 * choice (--python / a setting), LAUREL_PYTHON, the caller's interpreter (the extension passes the Python
 * extension's), `python3` on PATH, then /usr/bin/python3 (Debian's python3-torch; a pyenv or venv python3 earlier
 * on PATH often lacks torch). The first that imports both wins; each is probed once per process. A Python the
 * user named (the first two) that does not work is an error, not a reason to try the next.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import PROBE from '../python/torch_probe.py';

/** What `import torch` tells about an interpreter. */
export interface TorchProbe {
  /** sys.executable (the real interpreter behind a shim). */
  executable: string;
  pythonVersion: string;
  torch: string;
  numpy: string;
  cuda: boolean;
  /** The CUDA device's name, or 'cpu'. */
  deviceName: string;
  bf16: boolean;
  /** torch.compile exists (torch 2.x); whether it works on this card is only known when a run tries it. */
  compile: boolean;
  threads: number;
}

export interface PythonCandidate {
  python: string;
  /** Where it came from: '--python', 'LAUREL_PYTHON', 'pythonPath', 'PATH', 'default'. */
  source: string;
}

export interface PythonSkip extends PythonCandidate {
  reason: string;
}

export interface PythonFound extends PythonCandidate {
  probe: TorchProbe;
  skipped: PythonSkip[];
}

export interface FindPythonOptions {
  /** --python or a setting. */
  explicit?: string;
  /** The caller's interpreter (the VS Code Python extension's). */
  pythonPath?: string;
  env?: NodeJS.ProcessEnv;
  /** Probe time limit per interpreter (ms); `import torch` can take seconds on a cold cache. Default 60000. */
  timeoutMs?: number;
}

/** No candidate imports torch: the message lists each with its reason and says what to install. */
export class PythonNotFoundError extends Error {
  override readonly name = 'PythonNotFoundError';
  constructor(readonly skipped: PythonSkip[]) {
    super(
      `no Python with torch found (${skipped.map((s) => `${s.python} [${s.source}]: ${s.reason}`).join('; ') || 'no candidates'}): ` +
        'install python3-torch (apt-get install python3-torch) or `pip install torch numpy`, or point --python / LAUREL_PYTHON at a Python that has torch',
    );
  }
}

type ProbeResult = { ok: true; probe: TorchProbe } | { ok: false; reason: string };

const cache = new Map<string, Promise<ProbeResult>>();

/** First `name` on PATH as an absolute path (what a shell would run), or undefined. */
export function onPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Runs the probe in `python` (cached per path for the life of the process). */
export function probePython(python: string, timeoutMs = 60_000): Promise<ProbeResult> {
  let p = cache.get(python);
  if (!p) {
    p = new Promise<ProbeResult>((resolve) => {
      execFile(python, ['-c', PROBE], { timeout: timeoutMs, encoding: 'utf8', maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
        const line = stdout.trim().split('\n').pop() ?? '';
        if (err && !line) {
          const e = err as NodeJS.ErrnoException & { killed?: boolean };
          if (e.code === 'ENOENT') return resolve({ ok: false, reason: 'not found' });
          if (e.code === 'EACCES') return resolve({ ok: false, reason: 'not executable' });
          if (e.killed) return resolve({ ok: false, reason: `the probe took over ${timeoutMs} ms` });
          const last = stderr.trim().split('\n').pop();
          return resolve({ ok: false, reason: `the probe failed (${last || e.message})` });
        }
        try {
          const j = JSON.parse(line) as Partial<TorchProbe> & { missing?: string; error?: string };
          if (j.missing) resolve({ ok: false, reason: `${j.missing} not importable (${j.error})` });
          else resolve({ ok: true, probe: j as TorchProbe });
        } catch {
          resolve({ ok: false, reason: `the probe printed no JSON (${(stderr || stdout).trim().split('\n').pop() ?? ''})` });
        }
      });
    });
    cache.set(python, p);
  }
  return p;
}

/** The candidates in order, duplicates (same path) dropped. */
export function pythonCandidates(opts: FindPythonOptions = {}): PythonCandidate[] {
  const env = opts.env ?? process.env;
  const list: PythonCandidate[] = [];
  const add = (python: string | undefined, source: string): void => {
    if (python && python.trim() && !list.some((c) => c.python === python)) list.push({ python, source });
  };
  add(opts.explicit, '--python');
  add(env['LAUREL_PYTHON'], 'LAUREL_PYTHON');
  add(opts.pythonPath, 'pythonPath');
  add(onPath('python3', env), 'PATH');
  add('/usr/bin/python3', 'default');
  return list;
}

/**
 * A Python the user named (--python, laurel.pythonPath, LAUREL_PYTHON) that cannot train: an error in
 * every engine mode, never a quiet fall back to another interpreter than the one asked for.
 */
export class NamedPythonError extends Error {
  override readonly name = 'NamedPythonError';
  constructor(readonly candidate: PythonSkip) {
    const named = candidate.source === 'LAUREL_PYTHON' ? `LAUREL_PYTHON=${candidate.python}` : `${candidate.python} (--python / laurel.pythonPath)`;
    super(`the Python named by ${named} cannot train: ${candidate.reason}; point it at a Python that imports torch and numpy, or unset it to let LAuReL Studio search`);
  }
}

const NAMED = new Set(['--python', 'LAUREL_PYTHON']);

/** The first candidate whose Python imports torch and numpy; throws PythonNotFoundError listing why each failed. */
export async function findTorchPython(opts: FindPythonOptions = {}): Promise<PythonFound> {
  const skipped: PythonSkip[] = [];
  for (const c of pythonCandidates(opts)) {
    const r = await probePython(c.python, opts.timeoutMs);
    if (r.ok) return { ...c, probe: r.probe, skipped };
    if (NAMED.has(c.source)) throw new NamedPythonError({ ...c, reason: r.reason });
    skipped.push({ ...c, reason: r.reason });
  }
  throw new PythonNotFoundError(skipped);
}

const specs = new Map<string, Promise<boolean>>();

/** Whether `python` runs and finds torch installed, without importing it (tens of ms; the import takes seconds). */
function findsTorch(python: string): Promise<boolean> {
  let p = specs.get(python);
  if (!p) {
    p = new Promise<boolean>((resolve) => {
      execFile(python, ['-c', 'import importlib.util as u; print(u.find_spec("torch") is not None)'], { timeout: 20_000, encoding: 'utf8' }, (err, stdout) => resolve(!err && stdout.trim() === 'True'));
    });
    specs.set(python, p);
  }
  return p;
}

/**
 * The interpreter for a run that imports torch itself and reports a failing import (the tracer): the first
 * candidate with torch installed, found without importing it, so a one-shot measurement imports torch once
 * (the probe's import cost as much again). A candidate the probe already answered keeps that answer; a named
 * one without torch, or no candidate with it, goes to findTorchPython, which says why.
 */
export async function findTorchPythonQuick(opts: FindPythonOptions = {}): Promise<string> {
  for (const c of pythonCandidates(opts)) {
    const probed = cache.get(c.python);
    const ok = probed ? (await probed).ok : await findsTorch(c.python);
    if (ok) return c.python;
    if (NAMED.has(c.source)) break;
  }
  return (await findTorchPython(opts)).probe.executable;
}
