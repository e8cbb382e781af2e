import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, closeSync, fsyncSync, lstatSync, openSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** A write that did not happen. The message names the target the user gave, never a temporary file. */
export class FileWriteError extends Error {
  override readonly name = 'FileWriteError';
  constructor(
    message: string,
    /** The errno code (ENOSPC, EACCES, ...) or ECHANGED (changed since read), ENOTREG (not a regular file). */
    readonly code: string,
  ) {
    super(message);
  }
}

export interface WriteOptions {
  /**
   * The bytes the caller read from `path` and edited. The write is refused if the file no longer holds
   * exactly these bytes right before the rename (compared under a lock file, so two concurrent in-place
   * edits never both succeed while one is lost). Bytes, not mtime: a touch without change is no conflict.
   */
  expect?: Uint8Array;
}

const REASONS: Record<string, string> = {
  ENOENT: 'its folder does not exist',
  ENOTDIR: 'a part of its folder path is not a folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EISDIR: 'it is a folder',
  EBUSY: 'the file is busy',
  EIO: 'an input/output error',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many levels of symbolic links',
};

function writeError(path: string, e: unknown): FileWriteError {
  if (e instanceof FileWriteError) return e;
  const code = e instanceof Error && 'code' in e && typeof e.code === 'string' ? e.code : 'EIO';
  return new FileWriteError(`cannot write ${path}: ${REASONS[code] ?? (e instanceof Error ? e.message : String(e))} (${code}); nothing was written`, code);
}

function kindOf(st: Stats): string | undefined {
  if (st.isFile()) return undefined;
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/**
 * Where a write to `path` must land: the path itself, or the final target of a symbolic link (the link
 * stays a link, as `cp` and editors do). Anything that exists and is not a regular file is refused, so a
 * device node, a FIFO or a folder is never replaced by a file.
 */
export function resolveWriteTarget(path: string): { real: string; stat?: Stats } {
  let link: Stats;
  try {
    link = lstatSync(path);
  } catch (e) {
    if (e instanceof Error && 'code' in e && e.code === 'ENOENT') return { real: path };
    throw writeError(path, e);
  }
  let real = path;
  let st = link;
  if (link.isSymbolicLink()) {
    try {
      real = realpathSync(path);
      st = statSync(real);
    } catch (e) {
      if (e instanceof Error && 'code' in e && e.code === 'ENOENT') {
        throw new FileWriteError(`cannot write ${path}: it is a symbolic link whose target does not exist; not writing through a dangling link`, 'ENOENT');
      }
      throw writeError(path, e);
    }
  }
  const kind = kindOf(st);
  if (kind) {
    const via = real === path ? '' : ` (the symbolic link's target ${real})`;
    throw new FileWriteError(`cannot write ${path}: it${via} is ${kind}, not a regular file; refusing to replace it`, 'ENOTREG');
  }
  return { real, stat: st };
}

/** Whether two paths name the same file (after links); false when either does not exist. */
export function sameFile(a: string, b: string): boolean {
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e instanceof Error && 'code' in e && e.code === 'EPERM';
  }
}

/**
 * A lock file beside the target held only around compare-and-rename (milliseconds), so that of two
 * writers that read the same bytes exactly one sees them unchanged. A lock left by a dead process, or
 * older than 30 s, is taken over.
 */
function withLock<T>(path: string, real: string, f: () => T): T {
  const lock = join(dirname(real), `.${basename(real)}.laurel-lock`);
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const fd = openSync(lock, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (e) {
      if (!(e instanceof Error && 'code' in e && e.code === 'EEXIST')) throw writeError(path, e);
      let stale = false;
      try {
        const pid = Number(readFileSync(lock, 'utf8'));
        stale = (Number.isInteger(pid) && pid > 0 && !alive(pid)) || Date.now() - statSync(lock).mtimeMs > 30_000;
      } catch {
        stale = false; // released (or still being written) meanwhile: try again
      }
      if (stale) rmSync(lock, { force: true });
      else if (Date.now() > deadline) throw new FileWriteError(`cannot write ${path}: another process holds ${lock}; nothing was written`, 'EBUSY');
      else sleep(5 + Math.random() * 10);
    }
  }
  try {
    return f();
  } finally {
    rmSync(lock, { force: true });
  }
}

function checkUnchanged(path: string, real: string, expect: Uint8Array): void {
  let now: Buffer | undefined;
  try {
    now = statSync(real).size === expect.length ? readFileSync(real) : undefined;
  } catch {
    now = undefined; // removed since it was read
  }
  if (!now?.equals(expect)) {
    throw new FileWriteError(`cannot write ${path}: it changed on disk since it was read (another program or a concurrent apply wrote it); not overwriting that change. Read it again and retry`, 'ECHANGED');
  }
}

/**
 * Write a file so that readers see the old bytes or the new ones, never a part: write a temporary file
 * beside the real target, flush it, then rename it over the target. On failure the target is untouched
 * and the error names `path`. Symbolic links are written through; non-regular files are refused.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string, opts: WriteOptions = {}): void {
  const { real, stat } = resolveWriteTarget(path);
  const tmp = join(dirname(real), `.${basename(real)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fd = openSync(tmp, 'wx', stat ? stat.mode & 0o7777 : 0o644);
    try {
      writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (stat) {
      // The replacement keeps the file's owner (when we may set it) and exact mode, not the umask's.
      if (process.getuid?.() === 0 && (stat.uid !== 0 || stat.gid !== 0)) chownSync(tmp, stat.uid, stat.gid);
      chmodSync(tmp, stat.mode & 0o7777);
    }
    const expect = opts.expect;
    if (expect) withLock(path, real, () => (checkUnchanged(path, real, expect), renameSync(tmp, real)));
    else renameSync(tmp, real);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw writeError(path, e);
  }
}
