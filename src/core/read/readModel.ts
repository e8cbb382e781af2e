/**
 * Reads a model file's bytes into the IR. The format is detected by content, never by file name:
 * a `.keras` zip, a JSON string holding model JSON, a TF.js model.json, Keras 1/2 `to_json`, or a
 * Keras 3 config.json. Every problem is a ModelError that says where and what was expected.
 */
import type { ModelDocument } from '../ir';
import { ModelError } from '../errors';
import { rememberTree } from '../locate';
import { buildGraph } from './buildGraph';
import { openContainer } from './container';
import { detectFormat } from './detectFormat';
import { pathOf } from './jsonSource';

/** `decoded`: the bytes as UTF-8 text, where the caller has it already (see `openContainer`). */
export function readModel(fileName: string, bytes: Uint8Array, decoded?: string): ModelDocument {
  try {
    const { container, src, archiveKerasVersion } = openContainer(fileName, bytes, decoded);
    const { format, model, kerasVersion } = detectFormat(src, container, archiveKerasVersion);
    const doc: ModelDocument = { format, container, fileName, text: src.text, bytes, modelPath: pathOf(model), graph: buildGraph(src, model) };
    if (kerasVersion !== undefined) doc.kerasVersion = kerasVersion;
    rememberTree(doc, src.textTree);
    return doc;
  } catch (e) {
    if (e instanceof ModelError) throw e;
    // A reader bug must still reach the user as a located, readable problem.
    const what = e instanceof RangeError ? 'the model is nested too deeply to read' : `internal reader error (${e instanceof Error ? e.message : String(e)})`;
    throw new ModelError(what, { file: fileName }, 'a Keras or TF.js layers model');
  }
}
