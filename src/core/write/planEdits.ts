import type { Node as JsonNode } from 'jsonc-parser';
import type { ResidualSite } from '../analysis/residuals';
import { ModelError } from '../errors';
import type { CallNode, JsonPath, Layer, ModelDocument, ModelGraph } from '../ir';
import { callPath, layerByName, nodeById } from '../ir';
import { fromLayerConfig, LAUREL_CLASS, toFileConfig } from '../laurel/laurelConfig';
import { extraInputs } from '../laurel/history';
import type { VariantChoice } from '../laurel/variants';
import { locate, nodeAt } from '../locate';

/** Replace `length` characters at `offset` of the document's model text with `content`. */
export interface TextEdit {
  offset: number;
  length: number;
  content: string;
}

const sameChoice = (a: VariantChoice, b: VariantChoice): boolean =>
  a.variant === b.variant && (a.variant === 'plain' || JSON.stringify(a.options) === JSON.stringify(b.options));

/**
 * The minimal text edits that give each site its chosen variant. A plain add becomes a LaurelResidual:
 * its class name string is replaced, one `"laurel": {...}` property is appended to its config, and for PA
 * the earlier activations are appended to its inputs. Going back to plain removes exactly those, so a
 * round trip gives back the original bytes. Nothing else in the text is touched.
 */
export function planEdits(doc: ModelDocument, sites: ResidualSite[], choices: Map<string, VariantChoice>): TextEdit[] {
  const edits: TextEdit[] = [];
  const style = jsonStyle(doc.text);
  const index = graphIndex();
  for (const site of sites) {
    const choice = choices.get(site.id) ?? site.current;
    if (sameChoice(choice, site.current)) continue;
    const graph = graphOf(doc.graph, site.scope);
    const { layers, nodes, calls } = index(graph);
    const layer = layers.get(site.merge)!;
    const layerNode = nodeAt(doc, layer.path);
    const fail = (what: string, path: JsonPath = layer.path): never => {
      throw new ModelError(`cannot rewrite residual '${site.id}': ${what}`, locate(doc, path));
    };
    if (!layerNode || layerNode.type !== 'object') return fail('its layer object was not found');
    if (layer.subgraph) return fail('it is a nested model');
    const call = nodes.get(site.node)!;
    if (call.callIndex !== 0 || (calls.get(layer.name) ?? 0) > 1) {
      return fail('the merge layer is called more than once (a shared layer); rewrite it by hand');
    }
    const classNode = prop(layerNode, 'class_name');
    const configNode = prop(layerNode, 'config');
    if (!classNode || classNode.type !== 'string') return fail('it has no class_name string');
    if (!configNode || configNode.type !== 'object') return fail('it has no config object');
    const laurelProp = configNode.children?.find((p) => p.children?.[0]?.value === 'laurel');
    const oldExtra = site.current.variant === 'plain' ? 0 : Math.max(0, call.inputs.length - 2);
    const history = extraInputs(site, sites, graph, choice);

    if (choice.variant === 'plain') {
      const replaces = fromLayerConfig(layer.config).replaces;
      edits.push({ offset: classNode.offset, length: classNode.length, content: JSON.stringify(replaces) });
      if (laurelProp) edits.push(removeProperty(configNode, laurelProp));
    } else {
      const replaces = site.current.variant === 'plain' ? layer.sourceClassName : fromLayerConfig(layer.config).replaces;
      const value = stringify(toFileConfig(choice, site.branchIndex, site.shortcutIndex, replaces), style);
      if (classNode.value !== LAUREL_CLASS) edits.push({ offset: classNode.offset, length: classNode.length, content: JSON.stringify(LAUREL_CLASS) });
      if (laurelProp?.children?.[1]) {
        const v = laurelProp.children[1];
        edits.push({ offset: v.offset, length: v.length, content: value });
      } else {
        edits.push(appendAfterLast(doc.text, configNode, `"laurel"${style.colon}${value}`));
      }
    }
    if (oldExtra || history.length) edits.push(...inputEdits(doc, callPath(layer, call), oldExtra, history, style, fail));
  }
  return edits.sort((a, b) => b.offset - a.offset);
}

/** Apply edits (any order, non-overlapping) to a text. */
export function applyEdits(text: string, edits: TextEdit[]): string {
  let out = text;
  for (const e of [...edits].sort((a, b) => b.offset - a.offset)) out = out.slice(0, e.offset) + e.content + out.slice(e.offset + e.length);
  return out;
}

/** Layers by name, calls by id and call counts per layer of each graph, built once per planEdits (not per site). */
function graphIndex(): (g: ModelGraph) => { layers: Map<string, Layer>; nodes: Map<string, CallNode>; calls: Map<string, number> } {
  const cache = new Map<ModelGraph, { layers: Map<string, Layer>; nodes: Map<string, CallNode>; calls: Map<string, number> }>();
  return (g) => {
    if (!cache.has(g)) {
      const calls = new Map<string, number>();
      for (const n of g.nodes) calls.set(n.layer, (calls.get(n.layer) ?? 0) + 1);
      cache.set(g, { layers: layerByName(g), nodes: nodeById(g), calls });
    }
    return cache.get(g)!;
  };
}

function graphOf(g: ModelGraph, scope: string[]): ModelGraph {
  let cur = g;
  for (const name of scope) cur = layerByName(cur).get(name)!.subgraph!;
  return cur;
}

interface Style {
  colon: string;
  comma: string;
}

/** Match the file's separators: Python's json writes ', ' and ': ', JSON.stringify writes ',' and ':'. */
function jsonStyle(text: string): Style {
  const spaced = /"\s*:\s/.test(text.slice(0, 2000));
  return { colon: spaced ? ': ' : ':', comma: spaced ? ', ' : ',' };
}

function stringify(value: unknown, style: Style): string {
  if (Array.isArray(value)) return `[${value.map((v) => stringify(v, style)).join(style.comma)}]`;
  if (value && typeof value === 'object') {
    return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}${style.colon}${stringify(v, style)}`).join(style.comma)}}`;
  }
  return JSON.stringify(value);
}

function prop(obj: JsonNode, key: string): JsonNode | undefined {
  return obj.children?.find((p) => p.children?.[0]?.value === key)?.children?.[1];
}

/** Insert text after the last element of an object or array, with the separator and line break the file uses there. */
function appendAfterLast(text: string, container: JsonNode, item: string): TextEdit {
  const kids = container.children ?? [];
  const last = kids[kids.length - 1];
  if (!last) return { offset: container.offset + 1, length: 0, content: item };
  const prev = kids[kids.length - 2];
  // Reuse the whitespace between the last two elements (newline + indent in pretty files, ' ' or '' in compact ones).
  const gap = prev ? text.slice(prev.offset + prev.length, last.offset).replace(/^\s*,/, '') : ' ';
  return { offset: last.offset + last.length, length: 0, content: `,${gap}${item}` };
}

/** Remove a property with the comma that joins it to its neighbour: the inverse of appendAfterLast. */
function removeProperty(obj: JsonNode, property: JsonNode): TextEdit {
  const kids = obj.children ?? [];
  const i = kids.indexOf(property);
  const prev = kids[i - 1];
  const next = kids[i + 1];
  if (prev) return { offset: prev.offset + prev.length, length: property.offset + property.length - (prev.offset + prev.length), content: '' };
  if (next) return { offset: property.offset, length: next.offset - property.offset, content: '' };
  return { offset: property.offset, length: property.length, content: '' };
}

/**
 * Edits of a call's inbound entry: drop the `oldExtra` inputs appended earlier and append `history`.
 * Keras 1/2 entries are lists of [layer, node, tensor(, kwargs)]; Keras 3 entries are {args: [[tensors...]]}.
 */
function inputEdits(
  doc: ModelDocument,
  /** The call's inbound-node entry in the file (undefined where the file does not write one). */
  at: JsonPath | undefined,
  oldExtra: number,
  history: { layer: string; callIndex: number; index: number }[],
  style: Style,
  fail: (what: string, path?: JsonPath) => never,
): TextEdit[] {
  if (!at) return fail('its inputs are not written as an inbound-node list');
  const entry = nodeAt(doc, at);
  let list = entry;
  if (entry?.type === 'object') {
    const args = prop(entry, 'args');
    list = args?.children?.[0]?.type === 'array' ? args.children[0] : args;
  }
  if (!list || list.type !== 'array' || (list.children?.length ?? 0) < 2 + oldExtra) {
    return fail('its inbound node is not a list of input tensors, so previous activations cannot be added', at);
  }
  const kids = list.children!;
  const keep = kids[kids.length - 1 - oldExtra]!;
  const sample = doc.text.slice(keep.offset, keep.offset + keep.length);
  const items = history.map((h) => tensorText(sample, h, style));
  const removed = oldExtra ? { offset: keep.offset + keep.length, length: kids[kids.length - 1]!.offset + kids[kids.length - 1]!.length - (keep.offset + keep.length) } : { offset: keep.offset + keep.length, length: 0 };
  const gap = kids.length > 1 ? doc.text.slice(kids[0]!.offset + kids[0]!.length, kids[1]!.offset).replace(/^\s*,/, '') : ' ';
  return [{ ...removed, content: items.map((t) => `,${gap}${t}`).join('') }];
}

/** A tensor reference written like `sample`, the existing input next to it. */
function tensorText(sample: string, t: { layer: string; callIndex: number; index: number }, style: Style): string {
  const parsed: unknown = JSON.parse(sample);
  if (Array.isArray(parsed)) {
    const ref: unknown[] = [t.layer, t.callIndex, t.index];
    if (parsed.length >= 4) ref.push({});
    return stringify(ref, style);
  }
  // Keras 3 __keras_tensor__: the same object with another keras_history.
  const obj = parsed as { config?: Record<string, unknown> };
  return stringify({ ...obj, config: { ...(obj.config ?? {}), keras_history: [t.layer, t.callIndex, t.index] } }, style);
}
