import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ModelError } from '../../src/core/errors';
import { openModel, plannedBytes, planModel } from '../../src/core/model';
import { readZipLayout } from '../../src/core/read/zipArchive';
import { fixturePath } from './fixturePath';

const root = resolve(__dirname, '../../..');
const python = '/usr/bin/python3';
const CONFIGS = ['keras3-resnet1d-dotkeras-config.json', 'keras3-transformer-encoder-opsAdd-dotkeras-config.json'];

interface Member {
  filename: string;
  compress_size: number;
  header_offset: number;
  [k: string]: unknown;
}
interface Infos {
  comment: string;
  testzip: string | null;
  members: Member[];
  config: string;
}

/** What Python's zipfile (the library Keras saves with) sees in each archive. */
function zipInfos(...paths: string[]): Infos[] {
  const r = spawnSync(python, [join(root, 'test/python/zip_infos.py'), ...paths], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Infos[];
}

const u32 = (b: Uint8Array, o: number): number => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
const set32 = (b: Uint8Array, o: number, v: number): void => new DataView(b.buffer, b.byteOffset).setUint32(o, v, true);

function refused(name: string, bytes: Uint8Array, re: RegExp): void {
  assert.throws(
    () => openModel(name, bytes),
    (e: unknown) => {
      assert.ok(e instanceof ModelError, `not a ModelError: ${e instanceof Error ? e.stack : String(e)}`);
      assert.match(e.message, re);
      assert.ok(e.message.startsWith(name), e.message);
      assert.doesNotMatch(e.message, /, ,|undefined|NaN/);
      return true;
    },
  );
}

describe('.keras archives: byte-faithful rewrite, checked reads, located zip errors', function () {
  this.timeout(120_000);
  let dir: string;
  const file = (name: string): Buffer => readFileSync(join(dir, name));
  const write = (name: string, bytes: Uint8Array): string => {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    return p;
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'laurel-keras-'));
    const r = spawnSync(python, [join(root, 'test/python/make_keras_archives.py'), dir, ...CONFIGS.map(fixturePath)], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });

  /** Apply a plan and revert it; returns the edited bytes. */
  function roundTrip(name: string): { original: Buffer; edited: Uint8Array; reverted: Uint8Array } {
    const original = file(name);
    const m = openModel(name, original);
    const edited = plannedBytes(m, planModel(m, 'all=rw+lr:r=4'));
    assert.ok(original.equals(file(name)), 'the bytes read are not changed by the rewrite');
    const again = openModel(name, edited);
    assert.ok(again.sites.every((s) => s.current.variant === 'rw+lr'));
    return { original, edited, reverted: plannedBytes(again, planModel(again, 'plain')) };
  }

  /** Python sees the same archive: comment, and every member's header fields, but config.json's CRC/sizes and later offsets. */
  function assertSameButConfig(before: Infos, after: Infos, compressedMayDiffer: boolean): void {
    assert.equal(after.testzip, null, 'every CRC checks');
    assert.equal(after.comment, before.comment);
    assert.equal(after.members.length, before.members.length);
    after.members.forEach((a, i) => {
      const b = before.members[i]!;
      const skip = new Set(['header_offset', ...(a.filename === 'config.json' ? ['CRC', 'file_size', 'compress_size'] : [])]);
      for (const k of Object.keys(b)) if (!skip.has(k)) assert.deepEqual(a[k], b[k], `${a.filename}.${k}`);
    });
    if (!compressedMayDiffer) assert.notEqual(after.config, before.config);
  }

  for (const name of ['keras-like-0', 'keras-like-1', 'modes', 'duplicates', 'prefixed', 'zip64', 'lzma-weights']) {
    it(`${name}.keras: apply keeps every other byte, revert gives back the original bytes exactly`, () => {
      const { original, edited, reverted } = roundTrip(`${name}.keras`);
      const [before, after] = zipInfos(join(dir, `${name}.keras`), write(`${name}.edited.keras`, edited));
      assertSameButConfig(before!, after!, false);
      assert.match(after!.config, /"LaurelResidual"/);
      assert.ok(Buffer.from(reverted).equals(original), 'apply + revert is byte-identical');
    });
  }

  for (const name of ['deflated', 'descriptors']) {
    it(`${name}.keras (config.json deflated by zlib): every header field and member kept, config.json's content restored`, () => {
      const { original, edited, reverted } = roundTrip(`${name}.keras`);
      const [before, after, back] = zipInfos(join(dir, `${name}.keras`), write(`${name}.edited.keras`, edited), write(`${name}.reverted.keras`, reverted));
      assertSameButConfig(before!, after!, false);
      assertSameButConfig(before!, back!, true);
      assert.equal(back!.config, before!.config);
      // Only config.json's compressed bytes (fflate's deflate, not zlib's) may differ in length.
      const cfg = before!.members.findIndex((m) => m.filename === 'config.json');
      const grow = back!.members[cfg]!.compress_size - before!.members[cfg]!.compress_size;
      assert.equal(reverted.length, original.length + grow);
    });
  }

  it('the modes archive keeps its comment, executable bits, MS-DOS create_system and integer-named members in place', () => {
    const [info] = zipInfos(join(dir, 'modes.keras'));
    assert.equal(Buffer.from(info!.comment, 'hex').toString(), 'archive comment kept verbatim');
    assert.deepEqual(info!.members.map((m) => m.filename), ['metadata.json', '12', 'config.json', '7', 'assets/', 'run.sh', 'model.weights.h5']);
    assert.equal(((info!.members[3]!.external_attr as number) >>> 16) & 0o777, 0o755);
    assert.equal(info!.members[1]!.create_system, 0);
  });

  it('a corrupt member that is not read is copied raw (corruption kept, not hidden by a fresh CRC)', () => {
    const bytes = new Uint8Array(file('keras-like-0.keras'));
    const w = readZipLayout('x', bytes).entries.find((e) => e.name === 'model.weights.h5')!;
    bytes[w.localOffset + 30 + 'model.weights.h5'.length + 100]! ^= 0xff;
    const m = openModel('bad-weights.keras', bytes);
    const edited = plannedBytes(m, planModel(m, 'all=rw'));
    const [after] = zipInfos(write('bad-weights.edited.keras', edited));
    assert.equal(after!.testzip, 'model.weights.h5', 'the bad CRC is still there for tools to see');
    const again = openModel('bad-weights.keras', edited);
    assert.ok(Buffer.from(plannedBytes(again, planModel(again, 'plain'))).equals(Buffer.from(bytes)));
  });

  it('a member that is read and fails its CRC-32 is refused, naming it', () => {
    for (const member of ['config.json', 'metadata.json']) {
      const bytes = new Uint8Array(file('keras-like-0.keras'));
      const e = readZipLayout('x', bytes).entries.find((x) => x.name === member)!;
      bytes[e.localOffset + 30 + member.length + 5]! ^= 0x01;
      refused('crc.keras', bytes, new RegExp(`member '${member.replace('.', '\\.')}' fails its CRC-32 check \\(recorded [0-9a-f]{8}, data gives [0-9a-f]{8}\\): the archive is corrupt`));
    }
  });

  it('size limits: a 300 MiB config.json is refused from its recorded size; a lying size stops the inflate early', () => {
    const bomb = file('bomb.keras');
    assert.ok(bomb.length < 400_000, `the bomb is small (${bomb.length} bytes)`);
    refused('bomb.keras', bomb, /member 'config\.json' is 300\.0 MiB uncompressed, over the 64\.0 MiB limit for it/);
    const lying = new Uint8Array(bomb);
    const e = readZipLayout('x', lying).entries[0]!;
    set32(lying, e.cdOffset + 24, 4096); // the central directory now claims 4 KiB
    const before = process.memoryUsage().arrayBuffers;
    refused('lying-bomb.keras', lying, /member 'config\.json' inflates to more than its recorded 4096 bytes \(damaged, or a zip bomb\)/);
    assert.ok(process.memoryUsage().arrayBuffers - before < 64 << 20, 'no allocation near the 300 MiB the data inflates to');
  });

  it('unsupported methods, duplicate config.json, a prefix, a damaged end record or directory: located messages', () => {
    refused('lzma-config.keras', file('lzma-config.keras'), /\(in config\.json\): member 'config\.json' is compressed with method 14 \(LZMA\), which cannot be read; expected stored \(0\) or deflated \(8\)/);
    refused('two-configs.keras', file('two-configs.keras'), /the archive holds 2 members named config\.json/);
    assert.equal(openModel('prefixed.keras', file('prefixed.keras')).doc.container, 'keras-zip');
    const good = file('keras-like-0.keras');
    const eocd = good.lastIndexOf(Buffer.from([0x50, 0x4b, 5, 6]));
    const badOffset = new Uint8Array(good);
    set32(badOffset, eocd + 16, 0x7fffffff);
    refused('eocd.keras', badOffset, /not a readable zip archive: the end record's central directory \(\d+ bytes at 2147483647\) lies outside the file/);
    const badCount = new Uint8Array(good);
    badCount[eocd + 10] = 9;
    refused('count.keras', badCount, /not a readable zip archive: central directory entry \d of 9 is damaged/);
    const prefixed = file('prefixed.keras');
    refused('cut-prefixed.keras', prefixed.subarray(0, prefixed.length - 30), /a zip archive \(its first member at byte 301\) without a readable end-of-central-directory record/);
    const truncated = good.subarray(0, good.length - 30);
    refused('truncated.keras', truncated, /not a readable zip archive: no end-of-central-directory record/);
    const cut = new Uint8Array(good);
    const cfg = readZipLayout('x', cut).entries.find((x) => x.name === 'config.json')!;
    set32(cut, cfg.cdOffset + 42, u32(cut, cfg.cdOffset + 42) + 7); // local header offset now points into data
    refused('local.keras', cut, /member 'config\.json': its local header is missing or damaged/);
    refused('empty.keras', new Uint8Array([0x50, 0x4b, 5, 6, ...new Array(18).fill(0)]), /zip archive without config\.json \(it holds no members\)/);
  });
});
