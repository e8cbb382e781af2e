/** What the `laurel` commands share about their arguments. */
import { readFileSync } from 'node:fs';
import { getSystemErrorMap } from 'node:util';
import { ModelError } from '../core/errors';
import { MAX_PLAN_INT, planInt, PlanError } from '../core/laurel/planSpec';
import { FileWriteError } from '../util/fsAtomic';
import { DEFAULT_OPTIONS } from '../core/laurel/variants';
import type { VariantOptions } from '../core/laurel/variants';

/** A command line that cannot mean anything (exit code 2, the usage follows). */
export class UsageError extends Error {}

/** --rank and --k over the default variant options. */
export function variantOptions(values: { rank?: string | undefined; k?: string | undefined }): VariantOptions {
  const int = (name: string, v: string | undefined, d: number): number => {
    if (v === undefined) return d;
    const n = planInt(v);
    if (n === undefined) throw new UsageError(`--${name} must be a positive integer, got '${v}' (decimal digits, at most ${MAX_PLAN_INT})`);
    return n;
  };
  return { ...DEFAULT_OPTIONS, rank: int('rank', values.rank, DEFAULT_OPTIONS.rank), k: int('k', values.k, DEFAULT_OPTIONS.k) };
}

/** The options `inspect` and `apply` take for Keras files and .py sources alike. */
export const PLAN_OPTIONS = {
  plan: { type: 'string' },
  json: { type: 'boolean' },
  rank: { type: 'string' },
  k: { type: 'string' },
  out: { type: 'string', short: 'o' },
} as const;

/** An error class a command expects and reports as `laurel: message`, exit 1. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ExpectedError = abstract new (...args: any[]) => Error;

/** Node's system errors (ENOENT, EACCES, EISDIR, ...) carry a numeric errno and the call that failed. */
interface SystemError extends Error {
  errno: number;
  code: string;
  syscall: string;
  path?: string;
  dest?: string;
}

function isSystemError(e: unknown): e is SystemError {
  const s = e as Partial<SystemError> | null;
  return e instanceof Error && typeof s?.errno === 'number' && typeof s.code === 'string' && typeof s.syscall === 'string';
}

/** The bytes of a file the command was given; a failure names it (a folder's EISDIR carries no path). */
export function readInput(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    if (isSystemError(e) && e.path === undefined) e.path = file;
    throw e;
  }
}

/** `PATH: no such file or directory (ENOENT, open)`: the path first, in words, with the code for searching. */
function systemErrorText(e: SystemError): string {
  const words = getSystemErrorMap().get(e.errno)?.[1] ?? e.message;
  const where = e.path === undefined ? '' : `${e.path}${e.dest === undefined ? '' : ` -> ${e.dest}`}: `;
  return `${where}${words} (${e.code}, ${e.syscall})`;
}

/**
 * The one way the `laurel` commands turn an error into a message and an exit code:
 * an option parseArgs refused (its ERR_PARSE_ARGS_* code) or a UsageError → 2, with `usage` after the
 * former; a file system error → 1, naming the path; a located model or plan error, a write that did not
 * happen, or one of the command's `expected` classes → 1 with its message. Anything else is a bug and is
 * rethrown, so its stack is printed.
 */
export function cliErrorExit(e: unknown, usage: string, expected: readonly ExpectedError[] = []): number {
  const code = (e as { code?: unknown } | null)?.code;
  if (e instanceof TypeError && typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')) {
    console.error(`laurel: ${e.message}\n\n${usage}`);
    return 2;
  }
  if (e instanceof UsageError) {
    console.error(`laurel: ${e.message}`);
    return 2;
  }
  if (isSystemError(e)) {
    console.error(`laurel: ${systemErrorText(e)}`);
    return 1;
  }
  if (e instanceof ModelError || e instanceof PlanError || e instanceof FileWriteError || expected.some((k) => e instanceof k)) {
    console.error(`laurel: ${(e as Error).message}`);
    return 1;
  }
  throw e;
}
