import { findNodeAtLocation, parseTree } from 'jsonc-parser';
import type { Node as JsonNode } from 'jsonc-parser';
import { lineColumn } from './errors';
import { fastTree } from './read/fastTree';
import type { SourceLocation } from './errors';
import type { JsonPath, ModelDocument } from './ir';

const trees = new WeakMap<ModelDocument, () => JsonNode | undefined>();

/** The jsonc-parser tree of a document's model text, parsed once per document (on first use). */
export function treeOf(doc: ModelDocument): JsonNode | undefined {
  let tree = trees.get(doc);
  if (!tree) {
    const root = fastTree(doc.text) ?? parseTree(doc.text);
    trees.set(doc, (tree = () => root));
  }
  return tree();
}

/** The reader's own text tree of `doc.text` (built when first asked for), so that locating and editing do not parse the text again. */
export function rememberTree(doc: ModelDocument, root: () => JsonNode): void {
  trees.set(doc, root);
}

export function nodeAt(doc: ModelDocument, path: JsonPath): JsonNode | undefined {
  const root = treeOf(doc);
  return root && findNodeAtLocation(root, path);
}

/** File, line:column and path of a place in a document's model text. */
export function locate(doc: ModelDocument, path: JsonPath): SourceLocation {
  const node = nodeAt(doc, path);
  const where: SourceLocation = { file: doc.fileName, path };
  if (doc.container === 'json-string') where.inner = 'the model JSON encoded as a string';
  if (doc.container === 'keras-zip') where.inner = 'config.json';
  if (node) Object.assign(where, { offset: node.offset }, lineColumn(doc.text, node.offset));
  return where;
}
