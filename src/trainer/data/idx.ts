// IDX files (MNIST and its family): 0x00 0x00, a type code, the rank, big-endian uint32 dims, then the
// values big-endian in row-major order. Raw or gzipped.
import { DatasetError } from './errors';
import { checkLimit, limitNote, readBytes } from './raw';
import type { RawData } from './raw';
import { product } from './task';

const TYPES: Record<number, { name: string; size: number; read: (v: DataView, at: number) => number }> = {
  0x08: { name: 'ubyte', size: 1, read: (v, at) => v.getUint8(at) },
  0x09: { name: 'byte', size: 1, read: (v, at) => v.getInt8(at) },
  0x0b: { name: 'short', size: 2, read: (v, at) => v.getInt16(at) },
  0x0c: { name: 'int', size: 4, read: (v, at) => v.getInt32(at) },
  0x0d: { name: 'float', size: 4, read: (v, at) => v.getFloat32(at) },
  0x0e: { name: 'double', size: 8, read: (v, at) => v.getFloat64(at) },
};

export interface IdxArray {
  type: string;
  /** All dims, the record count first. */
  dims: number[];
  /** The first `kept` records as float32. */
  values: Float32Array;
  kept: number;
}

export function parseIdx(bytes: Uint8Array, file: string, limit = Infinity): IdxArray {
  const fail = (why: string): never => {
    throw new DatasetError(`IDX file ${file}: ${why}`);
  };
  if (bytes.length < 4) fail(`${bytes.length} bytes is too short for the 4-byte magic number`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  const hex = `0x${magic.toString(16).padStart(8, '0')}`;
  if (bytes[0] !== 0 || bytes[1] !== 0) fail(`wrong magic number ${hex}: an IDX file starts with two zero bytes, a type code and the rank (images: 0x00000803, labels: 0x00000801)`);
  const type = TYPES[bytes[2]];
  if (!type) fail(`unknown type code 0x${bytes[2].toString(16).padStart(2, '0')} in magic number ${hex} (known: 08 ubyte, 09 byte, 0B short, 0C int, 0D float, 0E double)`);
  const rank = bytes[3];
  if (rank < 1) fail(`rank 0 in magic number ${hex}: a dataset needs a record axis`);
  const header = 4 + 4 * rank;
  if (bytes.length < header) fail(`truncated header: rank ${rank} needs ${header} bytes, the file has ${bytes.length}`);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i));
  const expected = product(dims) * type.size;
  const actual = bytes.length - header;
  const described = `${dims.join('×')} ${type.name}${type.size > 1 ? ` (${type.size} bytes each)` : ''} = ${expected} bytes of data`;
  if (actual < expected) fail(`truncated: the header says ${described}, the file has ${actual}`);
  if (actual > expected) fail(`${actual - expected} unexpected bytes after the data: the header says ${described}, the file has ${actual}`);
  const kept = Math.min(dims[0], limit);
  const count = kept * product(dims.slice(1));
  const values = new Float32Array(count);
  if (type.size === 1 && type.name === 'ubyte') values.set(bytes.subarray(header, header + count));
  else for (let i = 0; i < count; i++) values[i] = type.read(view, header + i * type.size);
  return { type: type.name, dims, values, kept };
}

/** An images file and a labels file with the same record count; ubyte images are scaled to [0, 1]. */
export function readIdxPair(images: string, labels: string, name: string, limit?: number): RawData {
  const max = checkLimit(limit);
  const x = parseIdx(readBytes(images, 'IDX images'), images, max);
  const y = parseIdx(readBytes(labels, 'IDX labels'), labels, max);
  if (x.dims[0] !== y.dims[0]) {
    throw new DatasetError(`IDX files disagree: ${images} has ${x.dims[0]} records, ${labels} has ${y.dims[0]}`);
  }
  const notes = limitNote(x.kept, x.dims[0]);
  if (x.type === 'ubyte') {
    for (let i = 0; i < x.values.length; i++) x.values[i] /= 255;
    notes.unshift('scaled ubyte pixels 0..255 to [0, 1]');
  }
  return { name, samples: x.kept, x: x.values, xShape: x.dims.slice(1), y: y.values, yShape: y.dims.slice(1), notes };
}
