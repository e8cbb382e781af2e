import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelError } from '../../src/core/errors';
import { openModel } from '../../src/core/model';
import { DatasetMismatchError, loadDataset } from '../../src/trainer/data/loadDataset';
import { examplePath, fixturePath } from './fixturePath';

// Messages that belong to reading: a wrong encoding is named as what it is, a second BOM is refused as
// JSON.parse and Python's json refuse it, a non-integer CSV label column is named with the line it fails on.

const BOM = [0xef, 0xbb, 0xbf];

function encode(text: string, encoding: 'utf-16le' | 'utf-16be' | 'utf-32le' | 'utf-32be', bom: boolean): Uint8Array {
  const units = [...(bom ? '\ufeff' : ''), ...text].map((c) => c.codePointAt(0)!);
  const wide = encoding.startsWith('utf-32');
  const out = new Uint8Array(units.length * (wide ? 4 : 2) * 2);
  let n = 0;
  for (const cp of units) {
    const parts = wide || cp < 0x10000 ? [cp] : [0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff)];
    for (const u of parts) {
      const bytes = wide ? [u >>> 24, (u >> 16) & 255, (u >> 8) & 255, u & 255] : [u >> 8, u & 255];
      if (encoding.endsWith('le')) bytes.reverse();
      for (const b of bytes) out[n++] = b;
    }
  }
  return out.slice(0, n);
}

for (const [label, path] of [
  ['examples/resnet-mini.json', () => examplePath('resnet-mini.json')],
  ['tfjs-legacy-resnet50-tensorspace.json', () => fixturePath('tfjs-legacy-resnet50-tensorspace.json')],
] as const) {
  describe(`reading messages: ${label}`, () => {
    const text = (): string => readFileSync(path(), 'utf8');

    for (const [encoding, words] of [
      ['utf-16le', 'UTF-16 (little-endian'],
      ['utf-16be', 'UTF-16 (big-endian'],
      ['utf-32le', 'UTF-32 (little-endian'],
      ['utf-32be', 'UTF-32 (big-endian'],
    ] as const) {
      for (const bom of [true, false]) {
        it(`${encoding}${bom ? ' with a BOM' : ''} is named as such`, () => {
          assert.throws(
            () => openModel(path(), encode(text(), encoding, bom)),
            (e: unknown) => e instanceof ModelError && e.message.includes(`${words}${bom ? ', with a byte-order mark)' : ')'} text, not UTF-8`) && e.message.includes('saved as UTF-8'),
          );
        });
      }
    }

    it('one BOM reads as without; two are refused at 1:1, named', () => {
      const plain = new TextEncoder().encode(text());
      const one = openModel(path(), new Uint8Array([...BOM, ...plain]));
      assert.deepEqual(one.params, openModel(path(), plain).params);
      assert.throws(
        () => openModel(path(), new Uint8Array([...BOM, ...BOM, ...plain])),
        (e: unknown) => e instanceof ModelError && e.where.line === 1 && e.where.column === 1 && /malformed JSON \(InvalidSymbol: U\+FEFF, a second byte-order mark\)/.test(e.message),
      );
      // JSON.parse agrees that the second one is not JSON.
      assert.throws(() => JSON.parse(`\ufeff${text()}`));
    });
  });
}

describe('reading messages: CSV labels', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'laurel-csv-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const task = { inputShape: [null, 2], outputShape: [null, 3], loss: 'sparseCategoricalCrossentropy' };

  it('a label column that is not integer is named, with the line and value, for a classifier', async () => {
    const p = join(dir, 'flowers.csv');
    writeFileSync(p, 'a,b,species\n1,2,0\n3,4,1\n5,6,1.5\n7,8,2\n');
    await assert.rejects(loadDataset({ kind: 'csv', path: p }, task), (e: unknown) => e instanceof DatasetMismatchError && e.message.includes(`non-integer labels (${p}:4, label column 2 ('species') holds 1.5)`));
    const q = join(dir, 'noheader.csv');
    writeFileSync(q, '0.5,1,2\n1,2,3\n');
    await assert.rejects(loadDataset({ kind: 'csv', path: q, label: 0 }, task), (e: unknown) => e instanceof DatasetMismatchError && e.message.includes(`(${q}:1, label column 0 holds 0.5)`));
    // The same file is fine as a regression target.
    const d = await loadDataset({ kind: 'csv', path: p }, { inputShape: [null, 2], outputShape: [null, 1], loss: 'mse' });
    assert.equal(d.samples, 4);
  });
});
