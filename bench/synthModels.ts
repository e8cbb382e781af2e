/**
 * Synthetic Keras 2 functional models of any size, for the analysis and lens benchmarks (and the tests
 * that check the residual finder on large graphs). Two block kinds:
 *   dense: Dense-Dense-Add, identity shortcut (3 layers a block);
 *   conv:  Conv-BN-ReLU-Conv-BN-Add (6 layers a block), every `projectionEvery`-th block with a
 *          1x1 Conv-BN projection shortcut (8 layers), as ResNet stages start.
 * The layer count is met exactly by trailing the last block with Activation layers.
 */

export type BlockKind = 'dense' | 'conv';

export interface SynthOptions {
  layers: number;
  block: BlockKind;
  /** Every n-th conv block has a projection shortcut (0: none). */
  projectionEvery?: number;
  /** Width of the dense model / channels of the conv model. */
  width?: number;
}

interface KerasLayer {
  class_name: string;
  config: Record<string, unknown>;
  name: string;
  inbound_nodes: unknown[];
}

/** The model as a JSON value (Keras 2 `model.to_json()` layout). */
export function synthModel(o: SynthOptions): unknown {
  const width = o.width ?? (o.block === 'dense' ? 32 : 8);
  const every = o.projectionEvery ?? 8;
  const layers: KerasLayer[] = [];
  const add = (class_name: string, name: string, config: Record<string, unknown>, inputs: string[]): string => {
    layers.push({ class_name, config: { name, trainable: true, ...config }, name, inbound_nodes: inputs.length ? [inputs.map((i) => [i, 0, 0, {}])] : [] });
    return name;
  };
  const dense = (name: string, x: string): string => add('Dense', name, { units: width, activation: 'relu', use_bias: true }, [x]);
  const conv = (name: string, x: string, k: number): string =>
    add('Conv2D', name, { filters: width, kernel_size: [k, k], strides: [1, 1], padding: 'same', data_format: 'channels_last', dilation_rate: [1, 1], activation: 'linear', use_bias: false }, [x]);
  const bn = (name: string, x: string): string => add('BatchNormalization', name, { axis: -1, momentum: 0.99, epsilon: 0.001, center: true, scale: true }, [x]);
  const relu = (name: string, x: string): string => add('Activation', name, { activation: 'relu' }, [x]);

  let x = add('InputLayer', 'input', { batch_input_shape: o.block === 'dense' ? [null, width] : [null, 8, 8, width], dtype: 'float32', sparse: false }, []);
  for (let b = 0; ; b++) {
    const p = `b${b}_`;
    if (o.block === 'dense') {
      if (layers.length + 3 > o.layers) break;
      const y = dense(`${p}dense2`, dense(`${p}dense1`, x));
      x = add('Add', `${p}add`, {}, [y, x]);
    } else {
      const projection = every > 0 && b % every === every - 1;
      if (layers.length + (projection ? 8 : 6) > o.layers) break;
      const y = bn(`${p}bn2`, conv(`${p}conv2`, relu(`${p}relu`, bn(`${p}bn1`, conv(`${p}conv1`, x, 3))), 3));
      const s = projection ? bn(`${p}proj_bn`, conv(`${p}proj`, x, 1)) : x;
      x = add('Add', `${p}add`, {}, [y, s]);
    }
  }
  for (let i = 0; layers.length < o.layers; i++) x = relu(`tail_${i}`, x);
  return {
    class_name: 'Functional',
    config: { name: `synth_${o.block}_${o.layers}`, layers, input_layers: [['input', 0, 0]], output_layers: [[x, 0, 0]] },
    keras_version: '2.11.0',
    backend: 'tensorflow',
  };
}

/** The model text as Keras writes it with `indent=2` (one value per line, so each residual gets its own lenses). */
export function synthModelText(o: SynthOptions, indent = 2): string {
  return JSON.stringify(synthModel(o), null, indent);
}
