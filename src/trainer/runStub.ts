/**
 * run.json from a run's start: written with status 'running' and the trainer's pid before anything can
 * fail, turned into 'failed' with the reason when the run throws, and by the host when the trainer process
 * dies (kill -9, out of memory), so a run folder always says what became of its run.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunStub } from '../protocol/runRecords';
import { writeFileAtomic } from '../util/fsAtomic';

export const RUN_RECORD = 'run.json';

const write = (dir: string, stub: RunStub): void => writeFileAtomic(join(dir, RUN_RECORD), JSON.stringify(stub, null, 2) + '\n');

export function writeRunStart(dir: string, header: Omit<RunStub, 'status' | 'pid' | 'startedAt'>): RunStub {
  mkdirSync(dir, { recursive: true });
  const stub: RunStub = { ...header, status: 'running', pid: process.pid, startedAt: new Date().toISOString() };
  write(dir, stub);
  return stub;
}

export function writeRunFailed(dir: string, stub: RunStub, message: string): void {
  write(dir, { ...stub, status: 'failed', message, finishedAt: new Date().toISOString() });
}

function readStub(path: string): RunStub | undefined {
  try {
    const x = JSON.parse(readFileSync(path, 'utf8')) as Partial<RunStub>;
    return x.kind === 'laurel-run' && x.status === 'running' && typeof x.pid === 'number' ? (x as RunStub) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Marks the runs a dead trainer process left 'running' in `dir` (a run folder) or its subfolders (a
 * comparison's runs) as failed with `why`. Only records of that process (by pid) are touched. Returns
 * the records it marked.
 */
export function markRunsOfDeadTrainer(dir: string, pid: number, why: string): string[] {
  let subdirs: string[] = [];
  try {
    subdirs = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => join(dir, d.name));
  } catch {
    return [];
  }
  const marked: string[] = [];
  for (const d of [dir, ...subdirs]) {
    const stub = readStub(join(d, RUN_RECORD));
    if (stub?.pid !== pid) continue;
    try {
      writeRunFailed(d, stub, why);
      marked.push(join(d, RUN_RECORD));
    } catch {
      // the folder went away or is not writable: nothing more to do for it
    }
  }
  return marked;
}
