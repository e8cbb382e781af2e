/**
 * The structure of a zip archive, read the way Python's `zipfile` reads it (end record, central
 * directory, a prefix before the archive allowed), so that one member can be read with its CRC checked
 * and a size limit, and the archive rewritten with every other byte kept (`core/write/zipRewrite.ts`).
 * fflate inflates; the container layout is ours because fflate's unzip re-creates every header.
 */
import { Inflate } from 'fflate';
import { ModelError } from '../errors';

export interface ZipEntry {
  name: string;
  /** Offset of this entry's central directory record in the file. */
  cdOffset: number;
  cdLength: number;
  flags: number;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  /** Offset of the local header in the file (recorded offset + the prefix length). */
  localOffset: number;
  /** Where the recorded 32-bit sizes/offset live when they are in the zip64 extra field (file offsets). */
  zip64: { size?: number; compressedSize?: number; localOffset?: number };
}

export interface ZipLayout {
  entries: ZipEntry[];
  /** Bytes before the archive proper (a self-extracting stub): recorded offsets + prefix = file offsets. */
  prefix: number;
  cdStart: number;
  cdSize: number;
  /** The end-of-central-directory record (and the archive comment after it). */
  eocd: number;
  /** The zip64 end record, when there is one. */
  eocd64?: number;
}

const EXPECTED = 'a Keras 3 .keras archive (a zip file)';
const METHODS: Record<number, string> = { 1: 'Shrink', 6: 'Implode', 9: 'Deflate64', 12: 'BZIP2', 14: 'LZMA', 93: 'Zstandard', 95: 'XZ', 98: 'PPMd', 99: 'AES encryption' };

export const u16 = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8);
export const u32 = (b: Uint8Array, o: number): number => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
export const u64 = (b: Uint8Array, o: number): number => u32(b, o) + u32(b, o + 4) * 2 ** 32;

export class ZipFormatError extends ModelError {}

function bad(file: string, what: string, member?: string): never {
  throw new ZipFormatError(what, { file, inner: member }, member === undefined ? EXPECTED : undefined);
}

/** The end-of-central-directory record: its comment must end exactly at the end of the file. */
export function findEocd(b: Uint8Array): number | undefined {
  // Every JSON file is asked too: the native lastIndexOf finds each candidate 'P' (a byte loop over the
  // last 64 KiB was a tenth of reading a 1,000-layer model).
  const low = Math.max(0, b.length - 22 - 0xffff);
  for (let i = b.lastIndexOf(0x50, b.length - 22); i >= low; i = i > 0 ? b.lastIndexOf(0x50, i - 1) : -1) {
    if (b[i + 1] === 0x4b && b[i + 2] === 5 && b[i + 3] === 6 && i + 22 + u16(b, i + 20) === b.length) return i;
  }
  return undefined;
}

const decodeName = (b: Uint8Array, utf8: boolean): string => (utf8 ? new TextDecoder() : new TextDecoder('latin1')).decode(b);

/** Reads the central directory. Every inconsistency is a ZipFormatError saying what is damaged. */
export function readZipLayout(file: string, b: Uint8Array): ZipLayout {
  const eocd = findEocd(b);
  if (eocd === undefined) bad(file, 'not a readable zip archive: no end-of-central-directory record (the file is truncated or damaged)');
  if (u16(b, eocd + 4) !== 0 || u16(b, eocd + 6) !== 0) bad(file, 'a multi-part (split) zip archive, which is not supported');
  let count = u16(b, eocd + 10);
  let cdSize = u32(b, eocd + 12);
  let cdOffset = u32(b, eocd + 16);
  let eocd64: number | undefined;
  let cdEnd = eocd;
  if (eocd >= 20 && u32(b, eocd - 20) === 0x07064b50) {
    eocd64 = eocd - 20 - 56;
    if (eocd64 < 0 || u32(b, eocd64) !== 0x06064b50) bad(file, 'not a readable zip archive: the zip64 end record is missing or damaged');
    count = u64(b, eocd64 + 32);
    cdSize = u64(b, eocd64 + 40);
    cdOffset = u64(b, eocd64 + 48);
    cdEnd = eocd64;
  }
  const cdStart = cdEnd - cdSize;
  if (cdStart < 0 || cdOffset > cdStart) bad(file, `not a readable zip archive: the end record's central directory (${cdSize} bytes at ${cdOffset}) lies outside the file`);
  const prefix = cdStart - cdOffset;
  const entries: ZipEntry[] = [];
  for (let o = cdStart, i = 0; i < count; i++) {
    if (o + 46 > cdEnd || u32(b, o) !== 0x02014b50) bad(file, `not a readable zip archive: central directory entry ${i + 1} of ${count} is damaged`);
    const nameLen = u16(b, o + 28);
    const extraLen = u16(b, o + 30);
    const length = 46 + nameLen + extraLen + u16(b, o + 32);
    if (o + length > cdEnd) bad(file, `not a readable zip archive: central directory entry ${i + 1} of ${count} runs past the directory`);
    const flags = u16(b, o + 8);
    const e: ZipEntry = {
      name: decodeName(b.subarray(o + 46, o + 46 + nameLen), (flags & 0x800) !== 0),
      cdOffset: o,
      cdLength: length,
      flags,
      method: u16(b, o + 10),
      crc: u32(b, o + 16),
      compressedSize: u32(b, o + 20),
      size: u32(b, o + 24),
      localOffset: u32(b, o + 42),
      zip64: {},
    };
    readZip64Extra(b, o + 46 + nameLen, extraLen, e);
    e.localOffset += prefix;
    entries.push(e);
    o += length;
  }
  return { entries, prefix, cdStart, cdSize, eocd, ...(eocd64 !== undefined ? { eocd64 } : {}) };
}

/** Fields stored as 0xFFFFFFFF are in the zip64 extra (id 1), in the order size, compressed, offset. */
function readZip64Extra(b: Uint8Array, start: number, length: number, e: ZipEntry): void {
  const wanted = (['size', 'compressedSize', 'localOffset'] as const).filter((k) => e[k] === 0xffffffff);
  if (!wanted.length) return;
  for (let o = start; o + 4 <= start + length; o += 4 + u16(b, o + 2)) {
    if (u16(b, o) !== 1) continue;
    wanted.forEach((k, j) => {
      const at = o + 4 + 8 * j;
      if (at + 8 <= start + length) {
        e[k] = u64(b, at);
        e.zip64[k] = at;
      }
    });
    return;
  }
}

/** Offset and length of a member's data, checked against its local header. */
export function memberData(file: string, b: Uint8Array, e: ZipEntry): { start: number; end: number } {
  const o = e.localOffset;
  if (o + 30 > b.length || u32(b, o) !== 0x04034b50) bad(file, `member '${e.name}': its local header is missing or damaged`, e.name);
  const start = o + 30 + u16(b, o + 26) + u16(b, o + 28);
  const end = start + e.compressedSize;
  if (end > b.length) bad(file, `member '${e.name}': its data runs past the end of the file (truncated archive)`, e.name);
  return { start, end };
}

let table: Uint32Array | undefined;
export function crc32(data: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export const mib = (n: number): string => `${(n / 2 ** 20).toFixed(n < 2 ** 20 ? 3 : 1)} MiB`;

/**
 * A member's content: stored or deflated only, at most `limit` bytes (checked against the recorded size
 * before anything is allocated, and while inflating, so a zip bomb stops early), CRC-32 checked.
 */
export function readMember(file: string, b: Uint8Array, e: ZipEntry, limit: number): Uint8Array {
  if (e.flags & 1) bad(file, `member '${e.name}' is encrypted`, e.name);
  if (e.method !== 0 && e.method !== 8) {
    bad(file, `member '${e.name}' is compressed with method ${e.method}${METHODS[e.method] ? ` (${METHODS[e.method]})` : ''}, which cannot be read; expected stored (0) or deflated (8)`, e.name);
  }
  if (e.size > limit) bad(file, `member '${e.name}' is ${mib(e.size)} uncompressed, over the ${mib(limit)} limit for it`, e.name);
  const { start, end } = memberData(file, b, e);
  const raw = b.subarray(start, end);
  let out: Uint8Array;
  if (e.method === 0) {
    if (e.compressedSize !== e.size) bad(file, `member '${e.name}' is stored but its two recorded sizes differ`, e.name);
    out = raw;
  } else {
    out = new Uint8Array(e.size);
    let at = 0;
    let over = false;
    const inflater = new Inflate((chunk) => {
      if (at + chunk.length > e.size) over = true;
      else out.set(chunk, at);
      at += chunk.length;
    });
    try {
      for (let i = 0; i < raw.length && !over; i += 16384) inflater.push(raw.subarray(i, i + 16384), i + 16384 >= raw.length);
    } catch (err) {
      bad(file, `member '${e.name}': its deflated data is damaged (${err instanceof Error ? err.message : String(err)})`, e.name);
    }
    if (over) bad(file, `member '${e.name}' inflates to more than its recorded ${e.size} bytes (damaged, or a zip bomb)`, e.name);
    if (at !== e.size) bad(file, `member '${e.name}' inflates to ${at} bytes, not its recorded ${e.size} (damaged)`, e.name);
  }
  const crc = crc32(out);
  if (crc !== e.crc) bad(file, `member '${e.name}' fails its CRC-32 check (recorded ${hex(e.crc)}, data gives ${hex(crc)}): the archive is corrupt`, e.name);
  return out;
}

const hex = (n: number): string => n.toString(16).padStart(8, '0');
