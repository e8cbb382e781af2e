// NumPy .npy (format versions 1, 2, 3): '\x93NUMPY', major, minor, a little-endian header length (uint16
// in v1, uint32 in v2/v3), a Python dict literal {'descr', 'fortran_order', 'shape'} padded with spaces,
// then the raw values.
import { DatasetError } from './errors';
import { checkLimit, limitNote, readBytes } from './raw';
import type { RawData } from './raw';
import { product } from './task';

export interface NpyArray {
  descr: string;
  /** All dims, the sample axis first. */
  shape: number[];
  /** The first `kept` rows as float32. */
  values: Float32Array;
  kept: number;
}

type Reader = (v: DataView, at: number, little: boolean) => number;
const KINDS: Record<string, Record<number, Reader>> = {
  f: { 4: (v, at, le) => v.getFloat32(at, le), 8: (v, at, le) => v.getFloat64(at, le) },
  i: {
    1: (v, at) => v.getInt8(at),
    2: (v, at, le) => v.getInt16(at, le),
    4: (v, at, le) => v.getInt32(at, le),
    8: (v, at, le) => Number(v.getBigInt64(at, le)),
  },
  u: {
    1: (v, at) => v.getUint8(at),
    2: (v, at, le) => v.getUint16(at, le),
    4: (v, at, le) => v.getUint32(at, le),
    8: (v, at, le) => Number(v.getBigUint64(at, le)),
  },
  b: { 1: (v, at) => (v.getUint8(at) ? 1 : 0) },
};

/** The header dict: only the three keys NumPy writes, with Python literals. */
function parseHeader(header: string, fail: (why: string) => never): { descr: string; fortran: boolean; shape: number[] } {
  const descr = /['"]descr['"]\s*:\s*(['"])([^'"]*)\1/.exec(header);
  if (!descr) {
    if (/['"]descr['"]\s*:\s*\[/.test(header)) fail('structured dtypes (records) are not supported; save a plain numeric array');
    fail(`no 'descr' in the header ${JSON.stringify(header.trim())}`);
  }
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header);
  if (!fortran) fail(`no 'fortran_order' in the header ${JSON.stringify(header.trim())}`);
  const shape = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header);
  if (!shape) fail(`no 'shape' tuple in the header ${JSON.stringify(header.trim())}`);
  const dims = shape[1]
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => (/^\d+L?$/.test(s) ? parseInt(s, 10) : fail(`shape entry '${s}' is not a size`)));
  return { descr: descr[2], fortran: fortran[1] === 'True', shape: dims };
}

export function parseNpy(bytes: Uint8Array, file: string, limit = Infinity): NpyArray {
  const fail = (why: string): never => {
    throw new DatasetError(`npy file ${file}: ${why}`);
  };
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b)) fail('not a .npy file (it does not start with \\x93NUMPY)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  if (major < 1 || major > 3) fail(`format version ${major}.${bytes[7]} is not one of 1.0, 2.0, 3.0`);
  const wide = major >= 2;
  const lenAt = 8;
  if (bytes.length < lenAt + (wide ? 4 : 2)) fail('truncated header');
  const headerLen = wide ? view.getUint32(lenAt, true) : view.getUint16(lenAt, true);
  const start = lenAt + (wide ? 4 : 2);
  if (bytes.length < start + headerLen) fail(`truncated header: it declares ${headerLen} bytes, ${bytes.length - start} remain`);
  // v1/v2 headers are latin-1 (ASCII in practice), v3 UTF-8.
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLen));
  const { descr, fortran, shape } = parseHeader(header, fail);
  if (fortran) fail('the array is in Fortran (column-major) order; save it with np.save(path, np.ascontiguousarray(a))');
  const m = /^([<>|=])([fiub])(\d+)$/.exec(descr);
  const read = m ? KINDS[m[2]]?.[Number(m[3])] : undefined;
  if (!m || !read) fail(`dtype '${descr}' is not supported (float32/64, int8..64, uint8..64, bool)`);
  const [, order, kindChar, sizeText] = m as RegExpExecArray;
  const size = Number(sizeText);
  if (shape.length === 0) fail('a 0-d (scalar) array has no sample axis');
  const dataStart = start + headerLen;
  const expected = product(shape) * size;
  const actual = bytes.length - dataStart;
  if (actual !== expected) {
    fail(`${actual < expected ? 'truncated' : `${actual - expected} unexpected bytes after the data`}: shape (${shape.join(', ')}) of '${descr}' needs ${expected} bytes, the file has ${actual}`);
  }
  const little = order !== '>'; // '=' is native, and every platform Node runs on here is little-endian
  const kept = Math.min(shape[0], limit);
  const count = kept * product(shape.slice(1));
  const values = new Float32Array(count);
  const at = bytes.byteOffset + dataStart;
  if (descr === '<f4' && at % 4 === 0) values.set(new Float32Array(bytes.buffer, at, count));
  else if (descr === '|u1') values.set(bytes.subarray(dataStart, dataStart + count));
  else {
    for (let i = 0; i < count; i++) {
      const v = read!(view, dataStart + i * size, little);
      if (size === 8 && kindChar !== 'f' && !Number.isSafeInteger(v)) fail(`value ${v} at index ${i} does not fit a float exactly`);
      values[i] = v;
    }
  }
  return { descr, shape, values, kept };
}

/**
 * x and y arrays with the same first dim; uint8 x (images) is scaled to [0, 1]. `more`: the x files of a model's
 * further inputs (npy:X1.npy+X2.npy,Y.npy), each with the same sample count; then `inputs` holds every x in order.
 */
export function readNpyPair(xPath: string, yPath: string, limit?: number, more: readonly string[] = []): RawData {
  const max = checkLimit(limit);
  const xs = [xPath, ...more].map((p) => ({ path: p, ...parseNpy(readBytes(p, 'npy'), p, max) }));
  const y = parseNpy(readBytes(yPath, 'npy'), yPath, max);
  const x = xs[0]!;
  for (const other of [...xs.slice(1), { path: yPath, ...y }]) {
    if (other.shape[0] !== x.shape[0]) throw new DatasetError(`npy files disagree: ${xPath} has ${x.shape[0]} samples, ${other.path} has ${other.shape[0]}`);
  }
  const notes = limitNote(x.kept, x.shape[0]);
  for (const a of xs) {
    if (a.descr !== '|u1') continue;
    for (let i = 0; i < a.values.length; i++) a.values[i] /= 255;
    notes.unshift(`scaled uint8 values 0..255 to [0, 1]${xs.length > 1 ? ` in ${a.path}` : ''}`);
  }
  const inputs = xs.length > 1 ? { inputs: xs.map((a) => ({ x: a.values, xShape: a.shape.slice(1) })) } : {};
  return { name: `npy ${xs.map((a) => a.path).join('+')}`, samples: x.kept, x: x.values, xShape: x.shape.slice(1), ...inputs, y: y.values, yShape: y.shape.slice(1), notes };
}
