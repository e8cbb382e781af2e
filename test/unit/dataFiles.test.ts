import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseAdaptations, formatAdaptation } from '../../src/trainer/data/adapt';
import { DatasetMismatchError, loadDataset, parseDataSpec } from '../../src/trainer/data/loadDataset';
import type { Adaptation, DatasetSpec } from '../../src/trainer/data/loadDataset';
import { classifier, dataTestSetup, dispose, rejects } from './datasetChecks';
import { requireSystemDeps, SYSTEM_PYTHON } from './systemDeps';

// Dataset files (IDX, CSV, npy) and data specs in CLI form. The files are written by hand-coded writers here (not
// the readers' code), except the one numpy writes.

function idxBytes(type: number, dims: number[], values: number[]): Buffer {
  const size = { 0x08: 1, 0x0d: 4 }[type] ?? 1;
  const b = Buffer.alloc(4 + 4 * dims.length + values.length * size);
  b.writeUInt8(type, 2);
  b.writeUInt8(dims.length, 3);
  dims.forEach((d, i) => b.writeUInt32BE(d, 4 + 4 * i));
  const at = 4 + 4 * dims.length;
  values.forEach((v, i) => (size === 1 ? b.writeUInt8(v, at + i) : b.writeFloatBE(v, at + 4 * i)));
  return b;
}

/** .npy bytes: magic, version, header length (LE), the dict padded with spaces and '\n' to 64, data. */
function npyBytes(descr: string, shape: number[], data: Buffer, opts: { version?: 1 | 2 | 3; fortran?: boolean } = {}): Buffer {
  const version = opts.version ?? 1;
  const dict = `{'descr': '${descr}', 'fortran_order': ${opts.fortran ? 'True' : 'False'}, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const prefix = 8 + (version === 1 ? 2 : 4);
  const padded = dict.padEnd(Math.ceil((prefix + dict.length + 1) / 64) * 64 - prefix - 1, ' ') + '\n';
  const head = Buffer.alloc(prefix);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]).copy(head);
  if (version === 1) head.writeUInt16LE(padded.length, 8);
  else head.writeUInt32LE(padded.length, 8);
  return Buffer.concat([head, Buffer.from(padded, 'latin1'), data]);
}

const f32 = (values: number[]): Buffer => Buffer.from(new Float32Array(values).buffer);
const i64 = (values: number[]): Buffer => Buffer.from(new BigInt64Array(values.map(BigInt)).buffer);
const range = (n: number, f: (i: number) => number = (i) => i): number[] => Array.from({ length: n }, (_, i) => f(i));

const tempDir = dataTestSetup();
const file = (name: string, bytes: Buffer | string): string => {
  const p = join(tempDir(), name);
  writeFileSync(p, bytes);
  return p;
};


describe('IDX files', function () {
  const images = range(5 * 4 * 4, (i) => (i * 7) % 256);
  const labels = [0, 1, 2, 1, 0];

  it('reads raw and gzipped files alike', async function () {
    const task = classifier([4, 4], 3, 'sparseCategoricalCrossentropy');
    const raw = await loadDataset({ kind: 'idx', images: file('i.idx', idxBytes(8, [5, 4, 4], images)), labels: file('l.idx', idxBytes(8, [5], labels)) }, task);
    const gz = await loadDataset(parseDataSpec(`idx:${file('i.gz', gzipSync(idxBytes(8, [5, 4, 4], images)))},${file('l.gz', gzipSync(idxBytes(8, [5], labels)))}:limit=3`), task);
    assert.deepEqual(raw.x.shape, [5, 4, 4]);
    assert.deepEqual(Array.from(raw.x.dataSync()), images.map((v) => Math.fround(v / 255)));
    assert.deepEqual(Array.from(raw.y.dataSync()), labels);
    assert.deepEqual(gz.x.shape, [3, 4, 4]);
    assert.deepEqual(gz.x.dataSync(), raw.x.dataSync().subarray(0, 48));
    dispose(raw);
    dispose(gz);
    // float IDX values are kept as they are.
    const fl = await loadDataset({ kind: 'idx', images: file('f.idx', idxBytes(0x0d, [2, 2], [0.5, -2, 3, 4])), labels: file('fl.idx', idxBytes(8, [2], [1, 0])) }, classifier([2], 2, 'sparseCategoricalCrossentropy'));
    assert.deepEqual(Array.from(fl.x.dataSync()), [0.5, -2, 3, 4]);
    dispose(fl);
  });

  it('names the file and the problem', async function () {
    const task = classifier([4, 4], 3, 'sparseCategoricalCrossentropy');
    const good = file('good.idx', idxBytes(8, [5], labels));
    const whole = idxBytes(8, [5, 4, 4], images);
    const truncated = file('trunc.idx', whole.subarray(0, whole.length - 3));
    await rejects(loadDataset({ kind: 'idx', images: truncated, labels: good }, task), /IDX file .*trunc\.idx: truncated: the header says 5×4×4 ubyte = 80 bytes of data, the file has 77/);
    const bad = Buffer.from(whole);
    bad[0] = 0x1f;
    bad[1] = 0x00;
    await rejects(loadDataset({ kind: 'idx', images: file('magic.idx', bad), labels: good }, task), /magic\.idx: wrong magic number 0x1f000803/);
    const gz = gzipSync(whole);
    await rejects(loadDataset({ kind: 'idx', images: file('cut.gz', gz.subarray(0, gz.length >> 1)), labels: good }, task), /cut\.gz: the gzip data is damaged or truncated/);
    await rejects(loadDataset({ kind: 'idx', images: file('i6.idx', idxBytes(8, [6, 4, 4], range(96))), labels: good }, task), /i6\.idx has 6 records, .*good\.idx has 5/);
    await rejects(loadDataset({ kind: 'idx', images: join(tempDir(), 'none.idx'), labels: good }, task), /none\.idx: no such file/);
  });

  it('offers keep-classes for more classes than outputs, and nothing for regression or binary outputs', async function () {
    const lab = file('l12.idx', idxBytes(8, [5], [0, 11, 3, 2, 1]));
    const img = file('i5.idx', idxBytes(8, [5, 4, 4], images));
    const spec: DatasetSpec = { kind: 'idx', images: img, labels: lab };
    const e = (await rejects(loadDataset(spec, classifier([4, 4], 10)), /Adaptations that make it fit: keep-classes=10, one-hot=10/, DatasetMismatchError)) as DatasetMismatchError;
    assert.deepEqual(e.offers, [{ kind: 'keep-classes', classes: 10 }, { kind: 'one-hot', classes: 10 }]);
    const kept = await loadDataset({ ...spec, limit: 3 }, classifier([4, 4], 10, 'sparseCategoricalCrossentropy'), 'auto');
    assert.deepEqual(Array.from(kept.y.dataSync()), [0, 3, 2]);
    assert.deepEqual(kept.x.dataSync(), new Float32Array([0, 2, 3].flatMap((r) => images.slice(r * 16, r * 16 + 16).map((v) => v / 255))));
    assert.ok(kept.adaptations.includes('kept classes 0..9: 4 of 5 samples'), kept.adaptations.join('; '));
    dispose(kept);
    // A regression output of width 3 and a binary output take no class filter.
    const regression = (await rejects(loadDataset(spec, { inputShape: [null, 4, 4], outputShape: [null, 3], loss: 'meanSquaredError' }), /outputs 3 values per sample, the data has one label\. No adaptation is offered\./, DatasetMismatchError)) as DatasetMismatchError;
    assert.deepEqual(regression.offers, []);
    const binary = (await rejects(loadDataset(spec, { inputShape: [null, 4, 4], outputShape: [null, 1], loss: 'binaryCrossentropy' }), /A binary output needs 0\/1 labels.*No adaptation is offered\./, DatasetMismatchError)) as DatasetMismatchError;
    assert.deepEqual(binary.offers, []);
    await rejects(loadDataset(spec, { inputShape: [null, 4, 4], outputShape: [null, 1], loss: 'binaryCrossentropy' }, [{ kind: 'keep-classes', classes: 2 }]), /A binary output needs 0\/1 labels.*No adaptation is offered/, DatasetMismatchError);
    // Fewer classes than outputs is fine.
    const d = await loadDataset({ kind: 'idx', images: img, labels: file('l3.idx', idxBytes(8, [5], labels)) }, classifier([4, 4], 10), 'auto');
    assert.deepEqual(d.y.shape, [5, 10]);
    dispose(d);
  });
});

describe('CSV files', function () {
  it('reads a header, quoted fields and a label by name or index', async function () {
    const text = '"f,1",f2,"say ""y"""\r\n1,2,0\r\n\r\n"3.5",-4e1,1\r\n5, 6 ,2\r\n';
    const p = file('a.csv', text);
    const task = classifier([2], 3, 'sparseCategoricalCrossentropy');
    const d = await loadDataset({ kind: 'csv', path: p }, task);
    assert.deepEqual(Array.from(d.x.dataSync()), [1, 2, 3.5, -40, 5, 6]);
    assert.deepEqual(Array.from(d.y.dataSync()), [0, 1, 2]);
    assert.ok(d.adaptations.some((a) => a.includes(`label column 2 ('say "y"')`)), d.adaptations.join('; '));
    const byName = await loadDataset(parseDataSpec(`csv:${p}:label=f2`), { inputShape: [null, 2], outputShape: [null, 1], loss: 'mse' });
    assert.deepEqual(Array.from(byName.x.dataSync()), [1, 0, 3.5, 1, 5, 2]);
    assert.deepEqual(Array.from(byName.y.dataSync()), [2, -40, 6]);
    const byIndex = await loadDataset({ kind: 'csv', path: p, label: 0, limit: 2 }, { inputShape: [null, 2], outputShape: [null, 1], loss: 'mse' });
    assert.deepEqual(Array.from(byIndex.y.dataSync()), [1, 3.5]);
    [d, byName, byIndex].forEach(dispose);
  });

  it('reads headerless semicolon files and offers a reshape to images', async function () {
    const rows = Array.from({ length: 3 }, (_, r) => [...range(16, (i) => r * 16 + i), r].join(';')).join('\n');
    const p = file('b.csv', rows);
    const task = classifier([4, 4, 1], 3);
    const e = (await rejects(loadDataset({ kind: 'csv', path: p }, task), /expects input \(None, 4, 4, 1\), the data has \(3, 16\)/, DatasetMismatchError)) as DatasetMismatchError;
    assert.deepEqual(e.offers, [{ kind: 'reshape', to: [4, 4, 1] }, { kind: 'one-hot', classes: 3 }]);
    const d = await loadDataset({ kind: 'csv', path: p }, task, e.offers);
    assert.deepEqual(d.x.shape, [3, 4, 4, 1]);
    assert.deepEqual(Array.from(d.y.dataSync()), [1, 0, 0, 0, 1, 0, 0, 0, 1]);
    dispose(d);
  });

  it('gives the line of a bad cell', async function () {
    const task = classifier([2], 3, 'sparseCategoricalCrossentropy');
    const p = file('c.csv', 'a,b,c\n1,2,0\n"multi\nline",2,1\n3,x,1\n');
    await rejects(loadDataset({ kind: 'csv', path: p }, task), /c\.csv:3: column 1 \('a'\) has a non-numeric cell 'multi\nline'/);
    await rejects(loadDataset({ kind: 'csv', path: file('d.csv', 'a,b,c\n1,2,0\n3,x,1\n') }, task), /d\.csv:3: column 2 \('b'\) has a non-numeric cell 'x'/);
    await rejects(loadDataset({ kind: 'csv', path: file('e.csv', '1,2,0\n3,,1\n') }, task), /e\.csv:2: column 2 has an empty cell/);
    await rejects(loadDataset({ kind: 'csv', path: file('f.csv', '1,2,0\n3,1\n') }, task), /f\.csv:2: 2 cells, expected 3/);
    await rejects(loadDataset({ kind: 'csv', path: file('g.csv', '1,2,0\n') , label: 'y' }, task), /no header row/);
    await rejects(loadDataset({ kind: 'csv', path: file('h.csv', 'a,b,c\n1,2,0\n'), label: 'y' }, task), /no column named 'y' \(columns: a, b, c\)/);
    await rejects(loadDataset({ kind: 'csv', path: file('i.csv', 'a,b,c\n"1,2,0\n') }, task), /i\.csv:2: a quoted cell is not closed/);
  });
});

describe('npy files', function () {
  const xs = range(6 * 2 * 3, (i) => i / 4 - 3);

  it('reads format versions 1, 2 and 3 and the usual dtypes', async function () {
    const task = classifier([2, 3], 4, 'sparseCategoricalCrossentropy');
    const y = file('y.npy', npyBytes('<i8', [6], i64([0, 1, 2, 3, 0, 1])));
    for (const version of [1, 2, 3] as const) {
      const d = await loadDataset({ kind: 'npy', x: file(`x${version}.npy`, npyBytes('<f4', [6, 2, 3], f32(xs), { version })), y }, task);
      assert.deepEqual(Array.from(d.x.dataSync()), xs);
      assert.deepEqual(d.y.shape, [6, 1]);
      assert.deepEqual(Array.from(d.y.dataSync()), [0, 1, 2, 3, 0, 1]);
      dispose(d);
    }
    const be = Buffer.alloc(8 * xs.length);
    xs.forEach((v, i) => be.writeDoubleBE(v, 8 * i));
    const u1 = Buffer.from(range(36, (i) => i * 7));
    const i4 = Buffer.from(new Int32Array([3, 2, 1, 0, 3, 2]).buffer);
    const big = await loadDataset(parseDataSpec(`npy:${file('be.npy', npyBytes('>f8', [6, 2, 3], be))},${file('i4.npy', npyBytes('<i4', [6], i4))}:limit=4`), task);
    assert.deepEqual(Array.from(big.x.dataSync()), xs.slice(0, 24));
    assert.deepEqual(Array.from(big.y.dataSync()), [3, 2, 1, 0]);
    const bytes = await loadDataset({ kind: 'npy', x: file('u1.npy', npyBytes('|u1', [6, 2, 3], u1)), y }, task);
    assert.deepEqual(Array.from(bytes.x.dataSync()), Array.from(u1, (v) => Math.fround(v / 255)));
    assert.ok(bytes.adaptations.some((a) => /scaled uint8/.test(a)));
    [big, bytes].forEach(dispose);
  });

  it('says what is wrong with a file', async function () {
    const task = classifier([2, 3], 4, 'sparseCategoricalCrossentropy');
    const y = file('y6.npy', npyBytes('<i8', [6], i64(range(6, (i) => i % 4))));
    const x = (name: string, b: Buffer): DatasetSpec => ({ kind: 'npy', x: file(name, b), y });
    await rejects(loadDataset(x('fort.npy', npyBytes('<f4', [6, 2, 3], f32(xs), { fortran: true })), task), /fort\.npy: the array is in Fortran \(column-major\) order/);
    const whole = npyBytes('<f4', [6, 2, 3], f32(xs));
    await rejects(loadDataset(x('short.npy', whole.subarray(0, whole.length - 4)), task), /short\.npy: truncated: shape \(6, 2, 3\) of '<f4' needs 144 bytes, the file has 140/);
    await rejects(loadDataset(x('magic.npy', Buffer.from('PK\x03\x04 not numpy')), task), /magic\.npy: not a \.npy file/);
    await rejects(loadDataset(x('c8.npy', npyBytes('<c8', [6, 2, 3], Buffer.alloc(288))), task), /dtype '<c8' is not supported/);
    await rejects(loadDataset(x('x5.npy', npyBytes('<f4', [5, 2, 3], f32(xs.slice(0, 30)))), task), /x5\.npy has 5 samples, .*y6\.npy has 6/);
    // Three channels to one has no well-defined adaptation.
    const rgb = x('rgb.npy', npyBytes('<f4', [6, 1, 2, 3], f32(xs)));
    const e = (await rejects(loadDataset(rgb, classifier([1, 2, 1], 4)), /No well-defined adaptation turns 3 channels into 1\. No adaptation is offered\./, DatasetMismatchError)) as DatasetMismatchError;
    assert.deepEqual(e.offers, []);
  });

  it('reads a file numpy wrote', async function () {
    requireSystemDeps(this, 'python3-numpy');
    const px = join(tempDir(), 'np_x.npy');
    const py = join(tempDir(), 'np_y.npy');
    execFileSync(SYSTEM_PYTHON, ['-c', `import numpy as np; np.save(${JSON.stringify(px)}, np.arange(24, dtype=np.float64).reshape(4, 3, 2) / 8); np.save(${JSON.stringify(py)}, np.array([2, 0, 1, 2], dtype=np.int64))`]);
    assert.equal(readFileSync(px).subarray(0, 6).toString('latin1'), '\x93NUMPY');
    const d = await loadDataset({ kind: 'npy', x: px, y: py }, classifier([3, 2], 3), 'auto');
    assert.deepEqual(Array.from(d.x.dataSync()), range(24, (i) => i / 8));
    assert.deepEqual(Array.from(d.y.dataSync()), [0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1]);
    dispose(d);
  });
});

describe('data specs and adaptations in CLI form', function () {
  it('parses every form', function () {
    assert.deepEqual(parseDataSpec('synthetic'), { kind: 'synthetic' });
    assert.deepEqual(parseDataSpec('synthetic:samples=512:classes=10:seed=1'), { kind: 'synthetic', samples: 512, classes: 10, seed: 1 });
    assert.deepEqual(parseDataSpec('idx:a.gz,b.gz:limit=5'), { kind: 'idx', images: 'a.gz', labels: 'b.gz', limit: 5 });
    assert.deepEqual(parseDataSpec('csv:C:\\data\\t.csv:label=species'), { kind: 'csv', path: 'C:\\data\\t.csv', label: 'species' });
    assert.deepEqual(parseDataSpec('csv:t.csv:label=-1:limit=3'), { kind: 'csv', path: 't.csv', label: -1, limit: 3 });
    assert.deepEqual(parseDataSpec('npy:x.npy,y.npy'), { kind: 'npy', x: 'x.npy', y: 'y.npy' });
    const test = parseDataSpec('fashion-mnist:test:limit=2048');
    assert.ok(test.kind === 'idx' && test.images.endsWith('t10k-images-idx3-ubyte.gz') && test.limit === 2048);
    assert.throws(() => parseDataSpec('mnist'), /unknown data spec 'mnist'; the forms are/);
    assert.throws(() => parseDataSpec('synthetic:samples=many'), /samples=many is not an integer/);
    assert.throws(() => parseDataSpec('npy:x.npy'), /expected npy:X\.npy,Y\.npy/);
  });

  it('round-trips adaptations', function () {
    const list: Adaptation[] = [
      { kind: 'add-channel-axis' },
      { kind: 'pad', to: [32, 32] },
      { kind: 'resize', to: [96, 64] },
      { kind: 'repeat-channels', to: 3 },
      { kind: 'reshape', to: [28, 28, 1] },
      { kind: 'flatten' },
      { kind: 'one-hot', classes: 10 },
      { kind: 'keep-classes', classes: 8 },
    ];
    assert.equal(formatAdaptation({ kind: 'keep-classes', classes: 8 }), 'keep-classes=8');
    assert.deepEqual(parseAdaptations(list.map(formatAdaptation).join(',')), list);
    assert.throws(() => parseAdaptations('keep-classes'), /expected keep-classes=N/);
    assert.equal(parseAdaptations('auto'), 'auto');
    assert.throws(() => parseAdaptations('resize=96'), /expected resize=HxW/);
    assert.throws(() => parseAdaptations('grayscale'), /unknown adaptation 'grayscale'/);
  });

  it('rejects an adaptation that does not apply', async function () {
    const spec: DatasetSpec = { kind: 'synthetic', samples: 4 };
    await rejects(loadDataset(spec, classifier([6], 3), [{ kind: 'resize', to: [8, 8] }]), /resize=8x8 does not apply: it needs images \(H, W, C\)/);
    await rejects(loadDataset(spec, classifier([6], 3), [{ kind: 'add-channel-axis' }]), /does not fit the model even after add-channel-axis: the model expects input \(None, 6\), the data has \(4, 6, 1\)/, DatasetMismatchError);
  });
});
