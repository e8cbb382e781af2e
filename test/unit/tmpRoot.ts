import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Mocha root hooks for `npm test` (.mocharc.json requires this file): every temporary folder the tests (and the
// product under test, and its Python children) make lands in one folder of this run, removed at the end, so a
// run leaves nothing behind in /tmp even where a test fails before its own clean-up. os.tmpdir() reads TMPDIR
// at each call.
let root = '';
const before = process.env.TMPDIR;

export const mochaHooks = {
  beforeAll(): void {
    root = mkdtempSync(join(tmpdir(), 'laurel-test-run-'));
    process.env.TMPDIR = root;
  },
  afterAll(): void {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    if (root) rmSync(root, { recursive: true, force: true });
  },
};
