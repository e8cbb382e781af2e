import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ModelError } from '../../src/core/errors';
import { openModel } from '../../src/core/model';
import { MODEL_TEXT_LIMIT } from '../../src/core/read/container';

const root = resolve(__dirname, '../../..');
const cli = join(root, 'bin', 'laurel.js');
const model = readFileSync(join(root, 'examples', 'resnet-mini.json'));

/** `laurel inspect --json` in a child whose V8 heap is capped: a reader that grows with whitespace dies. */
function inspectCapped(file: string, heapMiB: number): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [`--max-old-space-size=${heapMiB}`, cli, 'inspect', file, '--json'], { encoding: 'utf8', maxBuffer: 16 << 20 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('large inputs: reader memory bounded, not ~40 bytes per whitespace byte', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'laurel-large-'));
    if (!existsSync(join(root, 'dist', 'cli.js'))) spawnSync(process.execPath, ['esbuild.mjs'], { cwd: root, stdio: 'inherit' });
  });

  it('a model followed by 60 MiB of whitespace reads in a 128 MiB heap, with the same counts', () => {
    const padded = join(dir, 'padded.json');
    writeFileSync(padded, Buffer.concat([model, Buffer.alloc(30 << 20, ' '), Buffer.alloc(30 << 20, ' \n')]));
    const plain = join(dir, 'plain.json');
    writeFileSync(plain, model);
    const r = inspectCapped(padded, 128);
    assert.equal(r.code, 0, r.err.slice(-2000));
    const want = inspectCapped(plain, 128);
    assert.deepEqual(JSON.parse(r.out).params, JSON.parse(want.out).params);
  });

  it('spaces then a stray character: a located error within the same heap, not an out-of-memory crash', () => {
    // Invalid JSON goes to jsonc-parser for its error location, whose scanner grows a rope per space.
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, Buffer.concat([model, Buffer.alloc(60 << 20, ' '), Buffer.from('x')]));
    const r = inspectCapped(bad, 128);
    assert.equal(r.code, 1, r.err.slice(-2000));
    const lines = model.toString().split('\n').length;
    const lastLine = model.toString().split('\n').at(-1)!.length;
    assert.match(r.err, new RegExp(`bad\\.json:${lines}:${lastLine + (60 << 20) + 1}: malformed JSON \\(InvalidSymbol\\)`));
  });

  it('long space runs inside strings are kept: errors after them are located exactly', () => {
    const spaces = ' '.repeat(1000);
    const text = `{"class_name": "Model", "config": {"name": "${spaces}", "layers": [${spaces}1,${spaces}]}}`;
    assert.throws(() => openModel('s.json', Buffer.from(text)), (e: unknown) => e instanceof ModelError && e.message.startsWith(`s.json:1:${text.lastIndexOf(']') + 1}: malformed JSON (ValueExpected)`));
  });

  it('over the limit: refused before decoding, saying how much is whitespace', () => {
    const bytes = Buffer.concat([model, Buffer.alloc(MODEL_TEXT_LIMIT, '\n')]);
    assert.throws(
      () => openModel('huge.json', bytes),
      (e: unknown) =>
        e instanceof ModelError && /^huge\.json: the file is 64\.0 MiB \(64\.0 MiB of whitespace after the JSON\), over the 64\.0 MiB a model JSON is read up to/.test(e.message),
    );
    const leading = Buffer.concat([Buffer.alloc(MODEL_TEXT_LIMIT, ' '), model]);
    assert.throws(() => openModel('lead.json', leading), /64\.0 MiB of whitespace before the JSON\)/);
  });
});
