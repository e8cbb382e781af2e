/**
 * A readable PyTorch module from the IR with a LAuReL plan applied: one Python file with the runtime helpers of
 * src/python/ (TF semantics, Keras initializers, LaurelResidual; pytorch/prelude.ts), one nn.Module whose submodules are named after the file's
 * layers, a forward() that follows the graph, and load_tfjs_weights() for the TF.js / Keras weights.
 *
 * It starts from the same flat Keras topology that buildModel gives TF.js (kerasTopology.ts), so both engines
 * see the same layers, LaurelResidual configs and PA inputs. Inputs and outputs have the file's layout (NHWC,
 * [B, T, D]); inside, a channels-last feature map is held channels-first (NCHW) from the first layer that runs
 * natively on it (convolutions, pooling, batch norm, LAuReL with D on axis 1, elementwise layers) to the first
 * that needs the file's axis order (Flatten, Dense, ...): each tensor moves once, where a layer needs it moved.
 */
import type { CallArgs, Shape } from '../ir';
import { fromLayerConfig, LAUREL_CLASS } from '../laurel/laurelConfig';
import { laurelSpec } from '../laurel/laurelSpec';
import { variantLabel } from '../laurel/variants';
import type { VariantChoice } from '../laurel/variants';
import { specFor } from '../layers/catalog';
import type { OpenModel } from '../model';
import { toKerasTopology } from './kerasTopology';
import type { KerasInboundRef, KerasLayerJson, KerasTensorRef } from './kerasTopology';
import { relayout } from './pytorch/emit';
import { layerCode, UnsupportedLayer } from './pytorch/layers';
import type { InitSource, LayerCode, TensorLayout } from './pytorch/layers';
import { NameTable, pascalCase, RESERVED } from './pytorch/names';
import { PRELUDE } from './pytorch/prelude';
import { py, pyComment, pyDocstring, unrepresentable } from './pytorch/python';

export interface PyTorchExport {
  /** The Python file. */
  code: string;
  /** Layers the file cannot run: forward() raises NotImplementedError where they are called. */
  unsupported: { layer: string; className: string }[];
  /** The first output: its last axis and the activation that makes it (the training loss and labels depend on them). */
  output?: { units: number | null; activation: string | undefined };
}

export interface PyTorchOptions {
  /** Name of the generated nn.Module class (default: the model's name in PascalCase). */
  className?: string;
}

/** One call of a layer in the flat topology. */
interface Call {
  layer: KerasLayerJson;
  index: number;
  inputs: KerasTensorRef[];
  /** Keyword inputs and flags, as the topology writes them (MultiHeadAttention's value=, attention_mask=). */
  args?: CallArgs;
}

const isTensorRef = (v: unknown): v is KerasTensorRef => Array.isArray(v) && v.length === 3 && typeof v[0] === 'string' && Number.isInteger(v[1]) && Number.isInteger(v[2]);

/** A call's inputs: its positional references, then the tensors in the first reference's kwargs (tf.keras's layout). */
function callInputs(refs: KerasInboundRef[]): { inputs: KerasTensorRef[]; args?: CallArgs } {
  const inputs: KerasTensorRef[] = refs.map((r) => [r[0], r[1], r[2]]);
  const kwargs = refs[0]?.[3] ?? {};
  if (Object.keys(kwargs).length === 0) return { inputs };
  const keys: (string | null)[] = inputs.map(() => null);
  const flags: CallArgs['flags'] = {};
  for (const [k, v] of Object.entries(kwargs)) {
    if (isTensorRef(v)) {
      inputs.push(v);
      keys.push(k);
    } else if (v === null || ['boolean', 'number', 'string'].includes(typeof v)) flags[k] = v as boolean | number | string | null;
  }
  return { inputs, args: { keys, flags } };
}

const callKey = (layer: string, index: number): string => `${layer}:${index}`;

/** The PyTorch source of `m` with each residual site given its choice (sites absent from `choices` keep the file's). */
export function toPyTorch(m: OpenModel, choices?: Map<string, VariantChoice>, opts: PyTorchOptions = {}): PyTorchExport {
  const topo = toKerasTopology(m, choices);
  const layers = topo.config.layers;
  const calls = orderCalls(layers);
  const shapes = inferShapes(calls);
  const ctx = { keras3: (m.doc.kerasVersion ?? '').startsWith('3') || m.doc.format === 'keras3-config' || m.doc.format === 'keras3-archive' };

  const className = opts.className ?? pascalCase(topo.config.name || 'Model');
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(className) || RESERVED.has(className)) throw new Error(`'${className}' cannot be the Python class name`);
  const names = new NameTable();
  names.take(className);
  refuseUnrepresentable(m.doc.fileName, topo.config.name, layers);

  // Submodules and their weights, from each layer's first call (its shapes, and the layouts its inputs are held in
  // when forward() first reaches the layer); the layout of every tensor forward() makes.
  const attr = new Map<string, string>();
  for (const layer of layers) if (layer.class_name !== 'InputLayer') attr.set(layer.name, names.take(layer.name));
  const code = new Map<string, LayerCode>();
  const problems = new Map<string, string>();
  const held = new Map<string, TensorLayout>();
  const layoutOf = ([l, i, t]: KerasTensorRef): TensorLayout => held.get(`${callKey(l, i)}:${t}`) ?? 'file';
  for (const c of calls) {
    const layer = c.layer;
    if (layer.class_name === 'InputLayer') continue;
    if (!code.has(layer.name) && !problems.has(layer.name)) {
      const first = calls.find((f) => f.layer === layer && f.index === 0) ?? c;
      const inputShapes = first.inputs.map(([l, i, t]) => shapes.get(callKey(l, i))?.[t] ?? null);
      try {
        code.set(layer.name, layerCode(layer.class_name, layer.config, inputShapes, { ...ctx, ...(first.args ? { call: first.args } : {}), layouts: c.inputs.map(layoutOf) }));
      } catch (e) {
        if (!(e instanceof Error) || e.name === 'TypeError' || e.name === 'ReferenceError') throw e;
        problems.set(layer.name, e instanceof UnsupportedLayer ? e.message : `its config cannot be read: ${e.message}`);
      }
    }
    const lc = code.get(layer.name);
    for (let t = 0; t < (lc?.outputs ?? 1); t++) held.set(`${callKey(layer.name, c.index)}:${t}`, lc?.layout?.output ?? 'file');
  }

  // Local variables: a layer's first call takes the attribute's name, later calls a numbered one.
  const vars = new Map<string, string>();
  for (const c of calls) {
    const name = c.layer.class_name === 'InputLayer' || c.index > 0 ? names.take(c.index > 0 ? `${c.layer.name}_call${c.index}` : c.layer.name) : attr.get(c.layer.name)!;
    vars.set(callKey(c.layer.name, c.index), name);
  }
  const ref = ([l, i, t]: KerasTensorRef): string => {
    const v = vars.get(callKey(l, i));
    if (!v) throw new Error(`internal: tensor ${l}:${i}:${t} has no call`);
    return t === 0 && (code.get(l)?.outputs ?? 1) === 1 ? v : `${v}[${t}]`;
  };
  // A tensor in the layout a layer reads: moved once (its own variable, `_cf` channels-first, `_cl` the file's
  // channels-last) the first time a layer needs it so, and reused after.
  const body: string[] = [];
  const moved = new Map<string, string>();
  const refIn = (r: KerasTensorRef, want: TensorLayout): string => {
    const from = layoutOf(r);
    if (from === want) return ref(r);
    const key = `${r.join(':')}>${want}`;
    let v = moved.get(key);
    if (!v) {
      v = names.take(`${ref(r).replace(/\[(\d+)\]$/, '_$1')}_${want === 'cf' ? 'cf' : 'cl'}`);
      body.push(`        ${v} = ${relayout(ref(r), from, want)}`);
      moved.set(key, v);
    }
    return v;
  };

  const init: string[] = [];
  const weights: string[] = [];
  const inits: string[] = [];
  const kerasNames: string[] = [];
  for (const layer of layers) {
    const lc = code.get(layer.name);
    if (!lc?.module) continue;
    const a = attr.get(layer.name)!;
    init.push(`        self.${a} = ${lc.module}`);
    if (layer.config['trainable'] === false) init.push(`        self.${a}.requires_grad_(False)`);
    kerasNames.push(`        ${py(a)}: ${py(layer.name)},`);
    for (const [kerasWeight, torchName, layout, initKey] of lc.weights ?? []) {
      const kerasName = `${layer.name}/${kerasWeight}`;
      weights.push(`        (${py(kerasName)}, ${py(`${a}.${torchName}`)}, ${py(layout)}),`);
      // LaurelResidual's weights start as its module makes them; the others as the layer config says (None: Keras's default).
      if (initKey !== null) inits.push(`        ${py(kerasName)}: ${py(initializerOf(layer.config, kerasWeight, initKey) ?? null)},`);
    }
  }

  const inputs = topo.config.input_layers.map(ref);
  for (const c of calls) {
    if (c.layer.class_name === 'InputLayer') continue;
    const v = vars.get(callKey(c.layer.name, c.index))!;
    const problem = problems.get(c.layer.name);
    if (problem !== undefined) {
      body.push(`        raise NotImplementedError(${py(`layer '${c.layer.name}' (${c.layer.class_name}) is not supported by the PyTorch export: ${problem}`)})`);
      continue;
    }
    if (c.layer.class_name === LAUREL_CLASS && c.index === 0) body.push(`        # ${pyComment(c.layer.name)}: LAuReL ${variantLabel(fromLayerConfig(c.layer.config).choice)}`);
    const lc = code.get(c.layer.name)!;
    const args = c.inputs.map((r) => refIn(r, lc.layout?.input ?? 'file'));
    body.push(`        ${v} = ${lc.call(`self.${attr.get(c.layer.name)!}`, args, c.args)}`);
  }
  const outputs = topo.config.output_layers.map((r) => refIn(r, 'file'));
  body.push(`        return ${outputs.length === 1 ? outputs[0] : `(${outputs.join(', ')})`}`);

  const unsupported = [...problems.keys()].map((name) => ({ layer: name, className: layers.find((l) => l.name === name)!.class_name }));
  const inputShapes = topo.config.input_layers.map(([l]) => shapes.get(callKey(l, 0))?.[0] ?? null);
  const header = headerText(m, className, inputShapes, unsupported.map((u) => `${u.layer} (${u.className}): ${problems.get(u.layer)}`));
  const cls = [
    `class ${className}(nn.Module):`,
    `    ${pyDocstring(`${topo.config.name} from ${m.doc.fileName.split(/[\\/]/).pop()}: layers keep their Keras names (KERAS_NAMES maps back).`)}`,
    '',
    '    # Submodule attribute -> the layer name in the Keras / TF.js file.',
    '    KERAS_NAMES = {',
    ...kerasNames,
    '    }',
    '',
    '    # (TF.js / Keras weight name, torch parameter or buffer, layout): what load_tfjs_weights() copies.',
    '    TFJS_WEIGHTS = [',
    ...weights,
    '    ]',
    '',
    "    # Keras weight name -> the initializer its layer config names (None: Keras's default): keras_initialize().",
    '    KERAS_INIT = {',
    ...inits,
    '    }',
    '',
    '    def __init__(self):',
    '        super().__init__()',
    ...(init.length ? init : ['        pass']),
    '',
    `    def forward(self${inputs.map((i) => `, ${i}`).join('')}):`,
    ...body,
  ];
  const [outLayer, outIndex, outTensor] = topo.config.output_layers[0]!;
  const outShape = shapes.get(callKey(outLayer, outIndex))?.[outTensor] ?? null;
  const outConfig = layers.find((l) => l.name === outLayer)!;
  const act = outConfig.class_name === 'Softmax' ? 'softmax' : outConfig.config['activation'];
  const output = { units: outShape?.at(-1) ?? null, activation: typeof act === 'string' ? act.toLowerCase() : undefined };
  return { code: [header, PRELUDE, '', cls.join('\n'), ''].join('\n'), unsupported, output };
}

function headerText(m: OpenModel, className: string, inputShapes: (Shape | null)[], problems: string[]): string {
  const shape = (s: Shape | null): string => (s ? `[${s.map((d) => (d === null ? 'B' : d)).join(', ')}]` : '[unknown]');
  const example = inputShapes.map((s) => `torch.randn(${s ? s.map((d) => d ?? 1).join(', ') : '...'})`).join(', ');
  const lines = [
    `${className}: ${m.doc.fileName.split(/[\\/]/).pop()} as a PyTorch module, generated by LAuReL Studio.`,
    '',
    `Inputs: ${inputShapes.map(shape).join(', ')}, in the file's own layout (channels-last for images), as TF.js feeds it.`,
    'Residual sites with a LAuReL plan are LaurelResidual modules that compute exactly what the TF.js layer does.',
    '',
    'Usage:',
    `    model = ${className}().eval()`,
    '    keras_initialize(model, seed=0)  # optional: initial weights as the Keras initializers in the file draw them',
    '    load_tfjs_weights(model, {"conv2d/kernel": array, ...})  # or: weights named as in a TF.js manifest',
    `    y = model(${example})`,
  ];
  if (problems.length) lines.push('', 'Not exported (forward() raises NotImplementedError there):', ...problems.map((p) => `    ${p}`));
  return pyDocstring(`\n${lines.join('\n')}\n`);
}

/** Names Python cannot hold are refused before anything is generated: the message names the layer. */
function refuseUnrepresentable(file: string, modelName: string, layers: KerasLayerJson[]): void {
  const show = (s: string): string => JSON.stringify(s.length > 80 ? `${s.slice(0, 77)}...` : s);
  const named = [[`the model name ${show(modelName)}`, modelName], ...layers.flatMap((l) => [[`layer ${show(l.name)}`, l.name], [`class ${show(l.class_name)} of layer ${show(l.name)}`, l.class_name]])];
  for (const [what, s] of named) {
    const why = unrepresentable(s!);
    if (why) throw new Error(`${file}: ${what} cannot be exported to PyTorch: ${why}`);
  }
}

/** The initializer config a weight's layer names (undefined: Keras's default for that weight). */
function initializerOf(config: Record<string, unknown>, weight: string, source: InitSource | undefined): unknown {
  const key = (k: string | undefined): string => k ?? `${weight.split('/').pop()!.replace(/(.)_kernel$/, '$1')}_initializer`;
  if (source !== null && typeof source === 'object') return source.from[key(source.key)];
  return config[key(source ?? undefined)];
}

/**
 * Every call of the topology in an order where inputs come first: among the calls that are ready, the one
 * of the earliest layer in the file (then the lowest call index) goes next, so forward() reads like the file.
 */
function orderCalls(layers: KerasLayerJson[]): Call[] {
  const pending: Call[] = [];
  for (const layer of layers) {
    if (layer.class_name === 'InputLayer') pending.push({ layer, index: 0, inputs: [] });
    else layer.inbound_nodes.forEach((refs, index) => pending.push({ layer, index, ...callInputs(refs) }));
  }
  const done = new Set<string>();
  const out: Call[] = [];
  while (pending.length) {
    const i = pending.findIndex((c) => c.inputs.every(([l, n]) => done.has(callKey(l, n))));
    if (i < 0) throw new Error(`the graph has a cycle or a missing input at layer '${pending[0]!.layer.name}'`);
    const [c] = pending.splice(i, 1);
    done.add(callKey(c!.layer.name, c!.index));
    out.push(c!);
  }
  return out;
}

/** Output shapes of every call, from the core's layer catalog (null where unknown). */
function inferShapes(calls: Call[]): Map<string, Shape[] | null> {
  const shapes = new Map<string, Shape[] | null>();
  for (const c of calls) {
    const spec = c.layer.class_name === LAUREL_CLASS ? laurelSpec : specFor(c.layer.class_name);
    const inputs = c.inputs.map(([l, i, t]) => shapes.get(callKey(l, i))?.[t] ?? null);
    let out: Shape[] | null = null;
    if (spec && inputs.every((s) => s !== null)) {
      try {
        out = spec.outputShapes(c.layer.config, inputs as Shape[], c.args);
      } catch {
        out = null;
      }
    }
    shapes.set(callKey(c.layer.name, c.index), out);
  }
  return shapes;
}
