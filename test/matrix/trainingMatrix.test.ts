// Which model file trains on which engine: every real fixture (shared/fixtures/models and
// test/fixtures/models), one optimizer step on two synthetic samples, through `laurel train` exactly as a
// user runs it, on each engine (tfjs, pytorch, auto). The table goes to test-artifacts/training-matrix.md
// and must equal docs/training-matrix.md, which the README quotes: a file that trained and now fails (or
// the other way round) fails this test until the document says so. LAUREL_UPDATE_MATRIX=1 rewrites the
// document from the run instead (then review the diff). LAUREL_MATRIX_FILES=a.json,b.json runs (and
// checks or rewrites) those rows only. Run with `npm run test:matrix` (minutes).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const ENGINES = ['tfjs', 'pytorch', 'auto'] as const;
type Engine = (typeof ENGINES)[number];

function repoRoot(): string {
  for (let dir = __dirname, i = 0; i < 6; i++, dir = resolve(dir, '..')) if (existsSync(join(dir, 'bin', 'laurel.js'))) return dir;
  throw new Error(`bin/laurel.js not found above ${__dirname}`);
}

/** Every fixture file: the shared ones (beside the repository), then the repository's own. */
function fixtures(): string[] {
  const shared = join(dirname(repoRoot()), 'shared', 'fixtures', 'models');
  const own = join(repoRoot(), 'test', 'fixtures', 'models');
  const list = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => join(dir, f));
  assert.ok(existsSync(shared), `${shared} is missing`);
  return [...list(shared), ...list(own)];
}

interface Outcome {
  code: number | null;
  text: string;
}

function train(file: string, engine: Engine, out: string): Promise<Outcome> {
  const args = [join(repoRoot(), 'bin', 'laurel.js'), 'train', file, '--data', 'synthetic:samples=1', '--val-split', '0', '--steps', '1', '--engine', engine, '--out', out];
  return new Promise((done) => {
    execFile(process.execPath, args, { timeout: 900_000, maxBuffer: 16 * 2 ** 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      done({ code, text: `${stdout}\n${stderr}` });
    });
  });
}

/** One table cell, in words that do not change between runs of the same code on this kind of machine. */
export function cell(o: Outcome, engine: Engine): string {
  const ran = /^engine (tfjs|pytorch)\b/m.exec(o.text)?.[1];
  const via = engine === 'auto' && ran ? ` (${ran})` : '';
  if (o.code === 0 && /\] completed in /.test(o.text)) return /loss (nan|inf|-inf)\b/i.test(o.text) ? `loss not finite${via}` : `trains${via}`;
  const error = /^laurel: (.*)$/m.exec(o.text)?.[1] ?? o.text.trim().split('\n').pop() ?? '';
  if (/^not started: memory estimate/.test(error)) return `refused: memory${via}`;
  const lacking = [...error.matchAll(/is (\w+), which TensorFlow\.js does not provide/g)].map((m) => m[1]);
  if (lacking.length) return `no: ${[...new Set(lacking)].join(', ')}${via}`;
  if (/graph model/.test(error)) return 'not a layers model';
  return `fails${via}: ${error.replace(/\/\S+\//g, '').replace(/\|/g, '\\|').slice(0, 100)}`;
}

const HEADER = ['| file | tfjs | pytorch | auto |', '|---|---|---|---|'];
const rowText = (file: string, r: Record<Engine, string>): string => `| ${file} | ${r.tfjs} | ${r.pytorch} | ${r.auto} |`;
const rowFile = (line: string): string => line.split('|')[1]!.trim();

/** The documented rows, by file. */
function documentedRows(section: string): Map<string, string> {
  return new Map(section.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith(HEADER[0]!)).map((l) => [rowFile(l), l]));
}

const BEGIN = '<!-- matrix:begin -->';
const END = '<!-- matrix:end -->';

describe('training matrix: every fixture, one step, each engine', function () {
  this.timeout(4 * 60 * 60 * 1000);
  const rows = new Map<string, Record<Engine, string>>();
  const work = mkdtempSync(join(tmpdir(), 'laurel-matrix-'));

  after(() => rmSync(work, { recursive: true, force: true }));

  const only = process.env['LAUREL_MATRIX_FILES']?.split(',').map((f) => f.trim()).filter(Boolean);
  for (const file of fixtures().filter((f) => !only || only.includes(f.split(/[\\/]/).pop()!))) {
    const name = file.split(/[\\/]/).pop()!;
    it(name, async () => {
      const row = {} as Record<Engine, string>;
      for (const engine of ENGINES) row[engine] = cell(await train(file, engine, join(work, `${name}-${engine}`)), engine);
      rows.set(name, row);
    });
  }

  it('equals docs/training-matrix.md', () => {
    const ran = [...rows].map(([file, r]) => rowText(file, r));
    const artifacts = join(repoRoot(), 'test-artifacts');
    mkdirSync(artifacts, { recursive: true });
    writeFileSync(join(artifacts, 'training-matrix.md'), [...HEADER, ...ran].join('\n') + '\n');
    const doc = join(repoRoot(), 'docs', 'training-matrix.md');
    const current = readFileSync(doc, 'utf8');
    const start = current.indexOf(BEGIN);
    const end = current.indexOf(END);
    assert.ok(start >= 0 && end > start, `${doc} has no ${BEGIN} ... ${END} section`);
    const documented = documentedRows(current.slice(start + BEGIN.length, end));
    if (process.env['LAUREL_UPDATE_MATRIX'] === '1') {
      // Rows of the files run replace theirs; the others stay; fixture order.
      for (const line of ran) documented.set(rowFile(line), line);
      const order = fixtures().map((f) => f.split(/[\\/]/).pop()!);
      const lines = order.filter((f) => documented.has(f)).map((f) => documented.get(f)!);
      writeFileSync(doc, `${current.slice(0, start + BEGIN.length)}\n${[...HEADER, ...lines].join('\n')}\n${current.slice(end)}`);
      return;
    }
    const expected = only ? ran.map((line) => documented.get(rowFile(line)) ?? `(no row for ${rowFile(line)})`) : [...documented.values()];
    assert.equal([...HEADER, ...ran].join('\n'), [...HEADER, ...expected].join('\n'), `the run (test-artifacts/training-matrix.md) differs from ${doc}`);
  });
});
