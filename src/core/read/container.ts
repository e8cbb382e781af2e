/**
 * Unwraps the bytes of a model file into the JSON text that holds the model: plain JSON, a JSON
 * string holding JSON (encoded twice), or a Keras 3 `.keras` zip whose `config.json` is the model.
 */
import type { Container } from '../ir';
import { ModelError } from '../errors';
import { parseJson, parseRefused, prop, tryParseJson, type JsonSource } from './jsonSource';
import { findEocd, mib, readMember, readZipLayout, type ZipEntry } from './zipArchive';

export interface Opened {
  container: Container;
  src: JsonSource;
  /** keras_version from a `.keras` archive's metadata.json. */
  archiveKerasVersion?: string;
}

const startsWith = (b: Uint8Array, sig: number[]): boolean => b.length >= sig.length && sig.every((x, i) => b[i] === x);
const ZIP = [0x50, 0x4b, 0x03, 0x04];
const EMPTY_ZIP = [0x50, 0x4b, 0x05, 0x06];
const HDF5 = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
/** A Git LFS pointer stands in for a large file a clone did not download (often a `.keras` archive). */
const LFS_POINTER = [...'version https://git-lfs.github.com/spec/'].map((c) => c.charCodeAt(0));

/**
 * UTF-8 text without its BOM; invalid UTF-8 is a ModelError, not replacement characters. Only one BOM goes:
 * a second one stays and is refused by the JSON parser, as JSON.parse and Python's json refuse it.
 */
export function decodeText(file: string, bytes: Uint8Array, inner?: string, decoded?: string): string {
  const expected = 'a JSON model file (Keras to_json, .keras config.json, TF.js model.json) or a .keras zip';
  const wide = wideEncoding(bytes);
  // UTF-16 without a BOM is also valid UTF-8 (ASCII and NULs): it must be named before decoding.
  if (wide) throw new ModelError(`${wide} text, not UTF-8`, { file, inner }, `${expected}, saved as UTF-8`);
  let text: string;
  try {
    text = decoded ?? new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new ModelError('not UTF-8 text', { file, inner }, expected);
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * 'UTF-16 (little-endian)' etc. for text in a wide encoding: by its BOM, or, without one, by the NUL bytes
 * that ASCII characters (every JSON document starts with one) have in it.
 */
function wideEncoding(b: Uint8Array): string | undefined {
  const at = (i: number): number | undefined => b[i];
  if (at(0) === 0xff && at(1) === 0xfe) return at(2) === 0 && at(3) === 0 ? 'UTF-32 (little-endian, with a byte-order mark)' : 'UTF-16 (little-endian, with a byte-order mark)';
  if (at(0) === 0 && at(1) === 0 && at(2) === 0xfe && at(3) === 0xff) return 'UTF-32 (big-endian, with a byte-order mark)';
  if (at(0) === 0xfe && at(1) === 0xff) return 'UTF-16 (big-endian, with a byte-order mark)';
  if (b.length < 4) return undefined;
  if (at(0) !== 0 && at(1) === 0 && at(2) === 0 && at(3) === 0) return 'UTF-32 (little-endian)';
  if (at(0) === 0 && at(1) === 0 && at(2) === 0 && at(3) !== 0) return 'UTF-32 (big-endian)';
  if (at(0) !== 0 && at(1) === 0 && at(2) !== 0 && at(3) === 0) return 'UTF-16 (little-endian)';
  if (at(0) === 0 && at(1) !== 0 && at(2) === 0 && at(3) !== 0) return 'UTF-16 (big-endian)';
  return undefined;
}

/** The file's text; binary bytes holding a zip local header are named as a damaged zip, not as bad UTF-8. */
function decodeAsText(file: string, bytes: Uint8Array, decoded?: string): string {
  try {
    return decodeText(file, bytes, undefined, decoded);
  } catch (e) {
    for (let i = 0; i + 4 <= bytes.length; i++) {
      if (bytes[i] === 0x50 && bytes[i + 1] === 0x4b && bytes[i + 2] === 3 && bytes[i + 3] === 4) {
        throw new ModelError(`a zip archive (its first member at byte ${i}) without a readable end-of-central-directory record: truncated or damaged`, { file }, 'a Keras 3 .keras archive (a zip file)');
      }
    }
    throw e;
  }
}

/**
 * `decoded`: the bytes as UTF-8 text (BOM kept), where the caller has it already (the analysis worker
 * decodes the editor's text for its lenses): not decoded a second time (10 MB of string and 7 ms at 20,000
 * layers). It must be exactly what the bytes decode to; the checks on the bytes themselves still run.
 */
export function openContainer(file: string, bytes: Uint8Array, decoded?: string): Opened {
  if (startsWith(bytes, ZIP) || startsWith(bytes, EMPTY_ZIP)) return openZip(file, bytes);
  if (startsWith(bytes, HDF5)) {
    throw new ModelError('this is a Keras HDF5 (.h5) file, which LAuReL Studio does not read', { file }, 'the model as JSON (model.to_json()), a .keras archive, or a TF.js model.json');
  }
  if (startsWith(bytes, LFS_POINTER)) {
    throw new ModelError("this is a Git LFS pointer, not the model: the file's content was not downloaded (`git lfs pull` fetches it)", { file }, 'the model file itself: JSON (model.to_json()), a .keras archive, or a TF.js model.json');
  }
  // A zip may have a prefix (a self-extracting stub), as Python's zipfile allows: its end record decides.
  // JSON text never holds the end record's raw control bytes (JSON.parse refuses them), so the record is
  // looked for only in what does not decode and parse as JSON (a search of the last 64 KiB cost a third
  // of JSON.parse on a 100-layer file).
  const zip = (): boolean => findEocd(bytes) !== undefined;
  if (bytes.length > MODEL_TEXT_LIMIT) return zip() ? openZip(file, bytes) : tooLarge(file, bytes);
  let text: string;
  try {
    text = decodeAsText(file, bytes, decoded);
  } catch (e) {
    if (zip()) return openZip(file, bytes);
    throw e;
  }
  const src = tryParseJson(file, text) ?? (zip() ? undefined : parseRefused(file, text));
  if (!src) return openZip(file, bytes);
  if (src.root.type !== 'string') return { container: 'plain', src };
  // A JSON string: the model JSON encoded a second time (json.dumps of model.to_json()).
  const inner = parseJson(file, src.root.value as string, 'the JSON string the file holds');
  if (inner.root.type === 'string') {
    throw new ModelError('the JSON string holds another JSON string', { file, path: [], inner: inner.inner, offset: 0, line: 1, column: 1 }, 'a model JSON object inside the string');
  }
  return { container: 'json-string', src: inner };
}

/**
 * The most model text read (a JSON file, or config.json in an archive; the largest real model files are
 * a few hundred KiB). Reading costs about twice the text in memory (the bytes and the string; no parse
 * nodes for whitespace), so the limit bounds the reader's memory whatever the file holds.
 */
export const MODEL_TEXT_LIMIT = 64 * 2 ** 20;

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** Refused before decoding: says how much of the file is whitespace around the JSON (the usual cause). */
function tooLarge(file: string, bytes: Uint8Array): never {
  let lead = 0;
  while (lead < bytes.length && isSpace(bytes[lead]!)) lead++;
  let trail = 0;
  while (trail < bytes.length - lead && isSpace(bytes[bytes.length - 1 - trail]!)) trail++;
  const after = trail >= 2 ** 20 ? `${mib(trail)}${lead >= 2 ** 20 ? '' : ' of whitespace'} after the JSON` : '';
  const spaces = [lead >= 2 ** 20 ? `${mib(lead)} of whitespace before the JSON` : '', after].filter(Boolean).join(' and ');
  throw new ModelError(`the file is ${mib(bytes.length)}${spaces ? ` (${spaces})` : ''}, over the ${mib(MODEL_TEXT_LIMIT)} a model JSON is read up to`, { file }, 'a model JSON file of at most 64 MiB (real ones are a few MiB at most)');
}
const METADATA_LIMIT = 2 ** 20;

function openZip(file: string, bytes: Uint8Array): Opened {
  const zip = readZipLayout(file, bytes);
  const named = (name: string): ZipEntry | undefined => {
    const found = zip.entries.filter((e) => e.name === name);
    // Python's zipfile (so Keras) reads the last of duplicates, a zip tool the first: refuse the ambiguity.
    if (found.length > 1) throw new ModelError(`the archive holds ${found.length} members named ${name}`, { file }, `a Keras 3 .keras archive with one ${name}`);
    return found[0];
  };
  const config = named('config.json');
  if (!config) {
    const names = zip.entries.map((e) => JSON.stringify(e.name));
    const listed = names.length ? names.slice(0, 10).join(', ') + (names.length > 10 ? `, ... (${names.length} members)` : '') : 'no members';
    throw new ModelError(`zip archive without config.json (it holds ${listed})`, { file }, 'a Keras 3 .keras archive with config.json at its root');
  }
  const text = decodeText(file, readMember(file, bytes, config, MODEL_TEXT_LIMIT), 'config.json');
  const src = parseJson(file, text, 'config.json');
  // metadata.json is read (and its CRC checked) only when it has a plausible size; it only gives a version.
  const metadata = named('metadata.json');
  const meta = metadata && metadata.size <= METADATA_LIMIT ? readMember(file, bytes, metadata, METADATA_LIMIT) : undefined;
  return { container: 'keras-zip', src, archiveKerasVersion: metadataVersion(file, meta) };
}

/** metadata.json is informative only: a damaged one is ignored rather than failing the read. */
function metadataVersion(file: string, bytes: Uint8Array | undefined): string | undefined {
  if (!bytes) return undefined;
  try {
    const v = prop(parseJson(file, decodeText(file, bytes, 'metadata.json'), 'metadata.json').root, 'keras_version');
    return v?.type === 'string' ? (v.value as string) : undefined;
  } catch {
    return undefined;
  }
}
