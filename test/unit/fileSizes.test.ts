// Issue 14's rule, enforced: no source file of the repository is over 500 lines (a file that long does several
// jobs; split it by responsibility, with names that say it). Data files (test/fixtures) are not source.
import * as assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

export const MAX_LINES = 500;
const SOURCE = /\.(ts|mts|js|mjs|cjs|py|sh|css|html)$/;

function repoRoot(): string {
  for (let dir = __dirname, i = 0; i < 6; i++, dir = resolve(dir, '..')) {
    if (existsSync(join(dir, 'docs', 'ARCHITECTURE.md')) && existsSync(join(dir, 'src'))) return dir;
  }
  throw new Error(`the repository (docs/ARCHITECTURE.md) not found above ${__dirname}`);
}

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'fixtures' && name !== 'node_modules') sources(p, out);
    } else if (SOURCE.test(name)) out.push(p);
  }
  return out;
}

/** Lines of a text as an editor numbers them (a final newline ends the last line, it does not start another). */
export const lineCount = (text: string): number => (text === '' ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0));

describe('file sizes', () => {
  it(`no source file in src/, webview/, bench/, test/ or scripts/ is over ${MAX_LINES} lines`, () => {
    const root = repoRoot();
    const files = ['src', 'webview', 'bench', 'test', 'scripts'].flatMap((d) => sources(join(root, d)));
    assert.ok(files.length > 200 && files.some((f) => f.endsWith('.py')), `${files.length} files`);
    const long = files
      .map((f) => ({ file: relative(root, f).split('\\').join('/'), lines: lineCount(readFileSync(f, 'utf8')) }))
      .filter((f) => f.lines > MAX_LINES)
      .map((f) => `${f.file}: ${f.lines} lines`);
    assert.deepEqual(long, [], `files over ${MAX_LINES} lines (split them by responsibility):\n${long.join('\n')}`);
    assert.deepEqual([lineCount(''), lineCount('a'), lineCount('a\n'), lineCount('a\nb'), lineCount('a\n\n')], [0, 1, 1, 2, 2]);
  });
});
