import type { ModelDocument } from '../ir';
import { applyEdits } from './planEdits';
import type { TextEdit } from './planEdits';
import { replaceZipMember } from './zipRewrite';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The file's new bytes after edits to its model text. With no edits the original bytes come back
 * untouched. A string-encoded model is encoded again the way the file was (ASCII escapes if it used
 * them); a `.keras` archive keeps every byte but config.json's data, CRC and sizes (and later offsets).
 */
export function writeDocument(doc: ModelDocument, edits: TextEdit[]): Uint8Array {
  if (edits.length === 0) return doc.bytes;
  const text = applyEdits(doc.text, edits);
  switch (doc.container) {
    case 'plain': {
      const bom = doc.bytes[0] === 0xef && doc.bytes[1] === 0xbb && doc.bytes[2] === 0xbf ? '\ufeff' : '';
      return encoder.encode(bom + text);
    }
    case 'json-string': {
      const original = decoder.decode(doc.bytes);
      const lead = /^\s*/.exec(original)![0];
      const trail = /\s*$/.exec(original)![0];
      const asciiOnly = !/[^\x00-\x7f]/.test(original);
      return encoder.encode(lead + encodeJsonString(text, asciiOnly) + trail);
    }
    case 'keras-zip':
      return replaceZipMember(doc.fileName, doc.bytes, 'config.json', encoder.encode(text));
  }
}

/** JSON.stringify for a string, optionally escaping non-ASCII as Python's json.dumps does by default. */
export function encodeJsonString(s: string, asciiOnly: boolean): string {
  const json = JSON.stringify(s);
  return asciiOnly ? json.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : json;
}
