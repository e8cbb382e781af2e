import type { Dim, Layer } from '../ir';

/**
 * The InputLayer Keras itself adds in front of a Sequential that declares none, named as Keras names
 * it (`<first layer>_input`) and shaped from the first layer's declared input.
 */
export function syntheticInput(first: Layer, sequentialConfig: unknown, taken: Set<string>): Layer {
  let name = `${first.name}_input`;
  for (let i = 1; taken.has(name); i++) name = `${first.name}_input_${i}`;
  const shape = batchShape(first, sequentialConfig);
  const dtype = typeof first.config.dtype === 'string' ? first.config.dtype : typeof first.subgraph?.layers[0]?.config.dtype === 'string' ? first.subgraph.layers[0].config.dtype : 'float32';
  const config: Record<string, unknown> = { name, dtype, sparse: false };
  if (shape) config.batch_input_shape = shape;
  // No object of its own in the file: it points at the layer that declares the shape.
  return { name, className: 'InputLayer', sourceClassName: 'InputLayer', config, trainable: true, path: first.path, synthetic: true };
}

const isShape = (v: unknown): v is Dim[] => Array.isArray(v) && v.every((d) => d === null || typeof d === 'number');

function batchShape(first: Layer, sequentialConfig: unknown): Dim[] | undefined {
  // A nested model as the first layer (Teachable Machine: a Sequential of Sequentials) declares no shape
  // itself: its own first input does, as the analysis of the nested graph sees it.
  const inner = first.subgraph?.layers.find((l) => l.name === first.subgraph?.nodes.find((n) => n.id === first.subgraph?.inputs[0]?.node)?.layer);
  if (inner && isShape(inner.config.batch_input_shape)) return inner.config.batch_input_shape;
  const config = first.config;
  // canonicalLayer has already renamed Keras 3's batch_shape to batch_input_shape.
  if (isShape(config.batch_input_shape)) return config.batch_input_shape;
  if (isShape(config.input_shape)) return [null, ...config.input_shape];
  // An Embedding's input_dim is its vocabulary; its input is [batch, input_length].
  if (first.className === 'Embedding') return [null, typeof config.input_length === 'number' ? config.input_length : null];
  if (typeof config.input_dim === 'number') return [null, config.input_dim];
  const built = (sequentialConfig as { build_input_shape?: unknown } | undefined)?.build_input_shape;
  return isShape(built) ? built : undefined;
}
