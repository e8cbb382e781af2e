import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A temporary folder for the describe block (or file) it is called in, made before its tests and removed after them. */
export function tempFolder(prefix: string): () => string {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));
  return () => dir;
}
