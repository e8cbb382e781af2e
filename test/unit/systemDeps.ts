/**
 * Tests that need a Debian package (scripts/system-deps.json) call `requireSystemDeps` first. `npm test`
 * installs missing ones when it runs as root (scripts/system-deps.mjs); elsewhere the test is skipped with the
 * exact install command, and where LAUREL_REQUIRE_SYSTEM_DEPS=1 (CI) a missing package fails it instead.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

type SystemPackage = { name: string; file?: string; pythonModule?: string; for: string };
const spec = JSON.parse(readFileSync(resolve(__dirname, '../../../scripts/system-deps.json'), 'utf8')) as { python: string; packages: SystemPackage[] };

/** The Python the Debian packages install into (LAUREL_PYTHON overrides it). */
export const SYSTEM_PYTHON = process.env['LAUREL_PYTHON'] || spec.python;

const present = new Map<string, boolean>();
function isPresent(p: SystemPackage): boolean {
  let ok = present.get(p.name);
  if (ok === undefined) {
    ok = p.file ? existsSync(p.file) : spawnSync(SYSTEM_PYTHON, ['-c', `import ${p.pythonModule}`], { stdio: 'ignore' }).status === 0;
    present.set(p.name, ok);
  }
  return ok;
}

/** The install command for the named packages that are missing, or undefined when all are there. */
export function missingSystemDeps(names: readonly string[]): string | undefined {
  const missing = names.filter((n) => {
    const p = spec.packages.find((q) => q.name === n);
    if (!p) throw new Error(`${n} is not listed in scripts/system-deps.json`);
    return !isPresent(p);
  });
  return missing.length ? `apt-get install -y ${missing.join(' ')}` : undefined;
}

/** Skip (or, in CI, fail) the current test or hook when a Debian package it needs is missing. */
export function requireSystemDeps(ctx: Mocha.Context, ...names: string[]): void {
  const install = missingSystemDeps(names);
  if (!install) return;
  const why = `needs Debian packages missing here (${SYSTEM_PYTHON} / /usr/share/datasets); install with: ${install}`;
  if (process.env['LAUREL_REQUIRE_SYSTEM_DEPS'] === '1') throw new Error(`${why} (LAUREL_REQUIRE_SYSTEM_DEPS=1: required)`);
  console.log(`      skipped: ${why}`);
  ctx.skip();
}
