#!/usr/bin/env node
// Before `npm test`: the Debian packages the tests use (scripts/system-deps.json). As root with apt-get they are
// installed when missing, so a fresh Debian machine runs every test; otherwise this says the exact command and the
// tests that need them are skipped (or fail where LAUREL_REQUIRE_SYSTEM_DEPS=1, as in CI).
// LAUREL_NO_APT=1: never install, only report.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

const spec = JSON.parse(readFileSync(new URL('./system-deps.json', import.meta.url), 'utf8'));
const python = process.env.LAUREL_PYTHON || spec.python;

function missing() {
  return spec.packages.filter((p) =>
    p.file ? !existsSync(p.file) : spawnSync(python, ['-c', `import ${p.pythonModule}`], { stdio: 'ignore' }).status !== 0,
  );
}

let need = missing();
if (need.length === 0) process.exit(0);
const names = need.map((p) => p.name);
const command = `apt-get install -y ${names.join(' ')}`;
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;

if (isRoot && hasApt && process.env.LAUREL_NO_APT !== '1') {
  console.log(`system-deps: installing ${names.join(', ')} (${need.map((p) => p.for).join('; ')})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args) => spawnSync('apt-get', args, { stdio: 'inherit', env }).status === 0;
  if (!run(['update', '-qq']) || !run(['install', '-y', '-qq', '--no-install-recommends', ...names])) {
    console.error(`system-deps: apt-get failed; the tests that need ${names.join(', ')} will be skipped (run: ${command})`);
  }
  need = missing();
  if (need.length === 0) process.exit(0);
}
const sudo = isRoot ? '' : 'sudo ';
console.log(
  `system-deps: missing ${need.map((p) => p.name).join(', ')}; the tests that need them will be skipped${
    process.env.LAUREL_REQUIRE_SYSTEM_DEPS === '1' ? ' (no: LAUREL_REQUIRE_SYSTEM_DEPS=1 makes them fail)' : ''
  }. Install with: ${sudo}apt-get update && ${sudo}apt-get install -y ${need.map((p) => p.name).join(' ')}`,
);
