/**
 * Replaces one member's content in a zip archive and keeps every other byte: the other members' local
 * headers, data and descriptors, the central directory records (only offsets after the member shift),
 * the archive comment and any prefix. The member keeps its header (name, time, flags, extra fields) and
 * compression method; only its CRC and sizes change. So apply + revert of a stored config.json (as Keras
 * writes it) gives back the original bytes exactly.
 */
import { deflateSync } from 'fflate';
import { ModelError } from '../errors';
import { crc32, memberData, readZipLayout, u16, u32, u64, type ZipEntry } from '../read/zipArchive';

function set32(b: Uint8Array, o: number, v: number): void {
  for (let i = 0; i < 4; i++) b[o + i] = (v >>> (8 * i)) & 0xff;
}
/** A copy (Buffer's slice would be a view, and the edits below would change the caller's bytes). */
const copy = (b: Uint8Array, start: number, end: number): Uint8Array => new Uint8Array(b.subarray(start, end));
function set64(b: Uint8Array, o: number, v: number): void {
  set32(b, o, v % 2 ** 32);
  set32(b, o + 4, Math.floor(v / 2 ** 32));
}

/** Writes a 32-bit field, or its zip64 extra slot when the field holds the 0xFFFFFFFF marker. */
function setField(b: Uint8Array, field: number, zip64At: number | undefined, v: number): void {
  if (zip64At !== undefined) set64(b, zip64At, v);
  else if (v >= 0xffffffff) throw new RangeError('a zip offset or size would pass 4 GiB in an archive without zip64 records');
  else set32(b, field, v);
}

/** The zip64 extra field (id 1) of a local header: its size slots, always both present there. */
function localZip64(b: Uint8Array, start: number, length: number): number | undefined {
  for (let o = start; o + 4 <= start + length; o += 4 + u16(b, o + 2)) if (u16(b, o) === 1 && u16(b, o + 2) >= 16) return o + 4;
  return undefined;
}

export function replaceZipMember(file: string, bytes: Uint8Array, name: string, content: Uint8Array): Uint8Array {
  try {
    return replace(file, bytes, name, content);
  } catch (e) {
    if (e instanceof RangeError) throw new ModelError(e.message, { file, inner: name }, 'an archive LAuReL Studio can rewrite');
    throw e;
  }
}

function replace(file: string, bytes: Uint8Array, name: string, content: Uint8Array): Uint8Array {
  const zip = readZipLayout(file, bytes);
  const matches = zip.entries.filter((e) => e.name === name);
  if (matches.length !== 1) throw new ModelError(`the archive holds ${matches.length} members named ${name}`, { file }, `exactly one ${name}`);
  const e = matches[0]!;
  const { start, end } = memberData(file, bytes, e);
  const o = e.localOffset;
  if (end > zip.cdStart) throw new ModelError(`member '${name}' overlaps the central directory`, { file, inner: name }, 'a well-formed zip archive');

  const data = e.method === 0 ? content : deflateSync(content, { level: 6 });
  const crc = crc32(content);
  const header = copy(bytes, o, start);
  const extraStart = 30 + u16(header, 26);
  const z64 = localZip64(header, extraStart, u16(header, 28));
  let descriptor: Uint8Array = new Uint8Array(0);
  let oldDescriptor = 0;
  if (e.flags & 8) {
    // Sizes follow the data in a descriptor (signature optional, 8-byte sizes under zip64): same form.
    const sig = u32(bytes, end) === 0x08074b50 ? 4 : 0;
    const wide = z64 !== undefined ? 8 : 4;
    oldDescriptor = sig + 4 + 2 * wide;
    descriptor = copy(bytes, end, end + oldDescriptor);
    set32(descriptor, sig, crc);
    (wide === 8 ? set64 : set32)(descriptor, sig + 4, data.length);
    (wide === 8 ? set64 : set32)(descriptor, sig + 4 + wide, content.length);
  } else {
    set32(header, 14, crc);
    const wide = u32(header, 18) === 0xffffffff && z64 !== undefined;
    setField(header, 18, wide ? z64 + 8 : undefined, data.length);
    setField(header, 22, u32(header, 22) === 0xffffffff && z64 !== undefined ? z64 : undefined, content.length);
  }
  const delta = header.length + data.length + descriptor.length - (start - o + e.compressedSize + oldDescriptor);
  const tailStart = end + oldDescriptor;

  const cd = copy(bytes, zip.cdStart, bytes.length); // central directory, zip64 records, end record, comment
  const at = (fileOffset: number): number => fileOffset - zip.cdStart;
  const fieldAt = (x: ZipEntry, rel: number, slot: number | undefined): [number, number | undefined] => [at(x.cdOffset + rel), slot === undefined ? undefined : at(slot)];
  set32(cd, at(e.cdOffset + 16), crc);
  setField(cd, ...fieldAt(e, 20, e.zip64.compressedSize), data.length);
  setField(cd, ...fieldAt(e, 24, e.zip64.size), content.length);
  for (const x of zip.entries) if (x.localOffset > o) setField(cd, ...fieldAt(x, 42, x.zip64.localOffset), x.localOffset - zip.prefix + delta);
  if (zip.eocd64 !== undefined) {
    set64(cd, at(zip.eocd64 + 48), u64(bytes, zip.eocd64 + 48) + delta);
    set64(cd, at(zip.eocd - 20 + 8), u64(bytes, zip.eocd - 20 + 8) + delta);
  }
  if (u32(bytes, zip.eocd + 16) !== 0xffffffff) setField(cd, at(zip.eocd + 16), undefined, u32(bytes, zip.eocd + 16) + delta);

  const out = new Uint8Array(o + header.length + data.length + descriptor.length + (zip.cdStart - tailStart) + cd.length);
  let p = 0;
  for (const part of [bytes.subarray(0, o), header, data, descriptor, bytes.subarray(tailStart, zip.cdStart), cd]) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}
