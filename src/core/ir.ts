/**
 * The intermediate representation (IR) every reader produces and every view and engine consumes.
 *
 * A model is a graph of *calls*: a layer (weights + config) may be called several times (Keras shared
 * layers), and each call is a {@link CallNode} whose inputs are tensors produced by earlier calls.
 * Parameters belong to layers; shapes and residual sites belong to calls.
 *
 * Pure data: no editor, engine or Node import may appear here.
 */

/** A dimension: a number, or null where the file leaves it free (the batch, a variable length). */
export type Dim = number | null;
export type Shape = Dim[];

/** A path into a JSON document, as jsonc-parser uses it. */
export type JsonPath = (string | number)[];

/**
 * `path` with one or two keys after it, in an array of its size: the reader makes two paths per layer, and
 * both `[...path, key]` (17 slots) and `path.concat(key)` (eight times slower) cost more than the read's own work.
 */
export function childPath(path: JsonPath, key: string | number, key2?: string | number): JsonPath {
  const n = path.length;
  const out: JsonPath = new Array(key2 === undefined ? n + 1 : n + 2);
  for (let i = 0; i < n; i++) out[i] = path[i]!;
  out[n] = key;
  if (key2 !== undefined) out[n + 1] = key2;
  return out;
}

/** Output `index` of call node `node`. */
export interface TensorRef {
  node: string;
  index: number;
}

/** The formats the readers understand, detected by content. */
export type ModelFormat =
  | 'tfjs-layers-model' // TF.js model.json: {modelTopology, weightsManifest?, format?}
  | 'keras-json' // Keras 1/2 `model.to_json()` (also tf.keras 2.x)
  | 'keras3-config' // Keras 3 `.keras` config.json (module / registered_name / __keras_tensor__)
  | 'keras3-archive'; // a `.keras` zip whose config.json is the model

/** How the model JSON is held in the file. */
export type Container =
  | 'plain' // the file is the JSON text
  | 'json-string' // the file is a JSON string whose value is the model JSON (encoded twice)
  | 'keras-zip'; // a zip archive; the model is its `config.json` member

export interface Layer {
  /** The layer's name, unique within its graph. */
  name: string;
  /** Canonical (Keras 2 / tfjs) class: 'Conv2D', 'Add', 'LaurelResidual', ... */
  className: string;
  /** The class as written in the file: 'Convolution2D', 'Merge', 'TFOpLambda', ... */
  sourceClassName: string;
  /**
   * Canonical snake_case Keras 2 config: Keras 1 keys are translated (nb_filter -> filters,
   * border_mode -> padding, ...). The original config stays in the document.
   */
  config: Record<string, unknown>;
  trainable: boolean;
  /** Path of the layer object ({class_name, config, ...}) in the model text. */
  path: JsonPath;
  /** A nested model (Model / Functional / Sequential used as a layer). */
  subgraph?: ModelGraph;
  /** True for the input layer a reader adds to a Sequential that declares no InputLayer. */
  synthetic?: boolean;
}

export interface CallNode {
  /** `layer` for the first call of a layer, `layer#k` for call k > 0. */
  id: string;
  layer: string;
  callIndex: number;
  inputs: TensorRef[];
  /**
   * The file writes this call as entry `callIndex` of its layer's inbound_nodes (`callPath` gives the
   * entry's path). A flag, not the path: a path array per call was an eighth of what a large read keeps.
   */
  written?: true;
  /** How the file passed the inputs, when it named any (MultiHeadAttention's value=, attention_mask=...). */
  args?: CallArgs;
}

/** A call's keyword arguments as the file writes them. */
export interface CallArgs {
  /** Per input (same order): the keyword it was passed by, or null for a positional argument. */
  keys: (string | null)[];
  /** The call's non-tensor keyword arguments with scalar values (use_causal_mask: true, training: false). */
  flags: Record<string, boolean | number | string | null>;
}

export interface ModelGraph {
  name: string;
  className: string;
  /** Layers in file order (including synthetic input layers). */
  layers: Layer[];
  /** Calls in a topological order. */
  nodes: CallNode[];
  inputs: TensorRef[];
  outputs: TensorRef[];
}

export interface ModelDocument {
  format: ModelFormat;
  container: Container;
  /** File name, for messages. */
  fileName: string;
  /** The JSON text that holds the model (the decoded inner text for 'json-string', config.json for 'keras-zip'). */
  text: string;
  /** The file's bytes as read (what write-back returns when nothing changed). */
  bytes: Uint8Array;
  /** Path in `text` of the model object {class_name, config}. */
  modelPath: JsonPath;
  /** e.g. '2.1.6' or '3.6.0', when the file says. */
  kerasVersion?: string;
  graph: ModelGraph;
}

export const isInputLayer = (l: Layer): boolean => l.className === 'InputLayer';

/** Layers the file itself lists (what Keras' summary and the fixtures' SOURCES.md count). */
export function fileLayers(g: ModelGraph): Layer[] {
  return g.layers.filter((l) => !l.synthetic);
}

export function layerByName(g: ModelGraph): Map<string, Layer> {
  return new Map(g.layers.map((l) => [l.name, l]));
}

export function nodeById(g: ModelGraph): Map<string, CallNode> {
  return new Map(g.nodes.map((n) => [n.id, n]));
}

export const tensorKey = (t: TensorRef): string => `${t.node}:${t.index}`;

/** Where call `node` of `layer` is written in the model text (its inbound-node entry), when the file writes it. */
export const callPath = (layer: Layer, node: CallNode): JsonPath | undefined => (node.written ? childPath(layer.path, 'inbound_nodes', node.callIndex) : undefined);

export const callId = (layer: string, callIndex: number): string => (callIndex === 0 ? layer : `${layer}#${callIndex}`);
