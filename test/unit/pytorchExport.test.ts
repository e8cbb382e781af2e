import { mulberry32 } from '../../src/core/random';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { toPyTorch } from '../../src/core/export/pytorch';
import { parsePlan, resolvePlan } from '../../src/core/laurel/planSpec';
import { openModel, planModel } from '../../src/core/model';
import type { OpenModel } from '../../src/core/model';
import { buildModel } from '../../src/laurel/buildModel';
import { fixturePath } from './fixturePath';
import { requireSystemDeps, SYSTEM_PYTHON } from './systemDeps';

// The reference is TF.js: the model buildModel makes from the same IR and plan, with random weights (LAuReL's
// B non-zero, BN statistics non-trivial), run on a random batch. The generated Python loads the same weights
// through its own load_tfjs_weights() and must give the same outputs. torch comes from Debian's python3-torch.

const PYTHON = SYSTEM_PYTHON;
const TOLERANCE = 1e-4;

/** Loads the exported file, counts, loads the weights, runs, compares; prints one JSON line. */
const RUNNER = String.raw`
import importlib.util, json, sys
import numpy as np
import torch

torch.set_num_threads(2)
code, manifest, blob = sys.argv[1:4]
spec = importlib.util.spec_from_file_location("exported", code)
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
man = json.load(open(manifest))
data = np.fromfile(blob, dtype=np.float32)
arr = lambda e: data[e["offset"]:e["offset"] + int(np.prod(e["shape"]))].reshape(e["shape"])
torch.manual_seed(0)
model = getattr(mod, man["className"])().eval()
count = sum(p.numel() for p in model.parameters())
count += sum(b.numel() for n, b in model.named_buffers() if n.endswith(("running_mean", "running_var")))
init = {n: p.detach().clone() for n, p in model.named_parameters()}
mod.load_tfjs_weights(model, {n: arr(e) for n, e in man["weights"].items()})
with torch.no_grad():
    out = model(*[torch.from_numpy(arr(e).copy()) for e in man["inputs"]])
outs = out if isinstance(out, tuple) else (out,)
diffs, scales = [], []
for o, e in zip(outs, man["outputs"]):
    ref = arr(e)
    assert tuple(o.shape) == tuple(ref.shape), (tuple(o.shape), tuple(ref.shape))
    diffs.append(float(np.abs(o.numpy() - ref).max()))
    scales.append(float(np.abs(ref).max()))
laurel = {}
for n, p in init.items():
    if any(k in n for k in ("lr_up", "pa_up", "lr_down", "pa_down", "pa_gamma", "rw_", "gemma_norm_scale")):
        laurel[n] = [float(p.abs().max()), float(p.min()), float(p.max())]
print(json.dumps({"count": count, "maxAbsDiff": max(diffs), "scale": max(scales), "laurelInit": laurel}))
`;

/** examples/ sits in the repository; tests run from out/test/unit (bundled) or test/unit. */
function examplePath(file: string): string {
  const found = ['../../..', '../..'].map((up) => join(__dirname, up, 'examples', file)).find((p) => existsSync(p));
  if (!found) throw new Error(`examples/${file} not found above ${__dirname}`);
  return found;
}

const open = (file: string): OpenModel => openModel(file, readFileSync(file.includes('/') ? file : existsSync(fixturePath(file)) ? fixturePath(file) : examplePath(file)));


/** Random values that keep activations O(1): kernels scaled by fan-in, BN statistics and LAuReL weights non-trivial. */
function randomWeight(name: string, shape: number[], rnd: () => number): Float32Array {
  const size = shape.reduce((a, b) => a * b, 1);
  const u = (lo: number, hi: number) => () => lo + (hi - lo) * rnd();
  const fanIn = name === 'depthwise_kernel' ? shape.slice(0, -2).reduce((a, b) => a * b, 1) : size / (shape.at(-1) ?? 1);
  const bound = Math.sqrt(3 / Math.max(fanIn, 1));
  const pick: Record<string, () => number> = {
    moving_variance: u(0.5, 1.5),
    moving_mean: u(-0.2, 0.2),
    gamma: u(0.7, 1.3),
    beta: u(-0.1, 0.1),
    bias: u(-0.1, 0.1),
    rw_logits: u(-1, 1),
    rw_theta: u(-1, 1),
    pa_gamma: u(0.5, 1.5),
    gemma_norm_scale: u(0.7, 1.3),
    alpha: u(0, 0.3),
    embeddings: u(-0.5, 0.5),
  };
  const gen = pick[name] ?? u(-bound, bound);
  return Float32Array.from({ length: size }, gen);
}

interface Blob {
  parts: Float32Array[];
  size: number;
}
function put(blob: Blob, data: Float32Array, shape: number[]): { offset: number; shape: number[] } {
  blob.parts.push(data);
  const offset = blob.size;
  blob.size += data.length;
  return { offset, shape };
}

interface Parity {
  count: number;
  maxAbsDiff: number;
  scale: number;
  laurelInit: Record<string, [number, number, number]>;
}

let work = '';
const results: string[] = [];

/** Exports m under `spec`, runs TF.js and the Python file on the same weights and batch. */
async function parity(m: OpenModel, spec: string, seed = 1): Promise<Parity> {
  const choices = resolvePlan(parsePlan(spec), m.sites);
  const { code, unsupported } = toPyTorch(m, choices);
  assert.deepEqual(unsupported, []);
  const model = await buildModel(m, choices);
  const rnd = mulberry32(seed);
  const blob: Blob = { parts: [], size: 0 };
  const weights: Record<string, { offset: number; shape: number[] }> = {};
  try {
    for (const layer of model.layers) {
      const values: tf.Tensor[] = [];
      for (const w of layer.weights) {
        const short = w.originalName.split('/').pop()!;
        const shape = w.shape as number[];
        const data = randomWeight(short, shape, rnd);
        weights[`${layer.name}/${short}`] = put(blob, data, shape);
        values.push(tf.tensor(data, shape));
      }
      if (values.length) layer.setWeights(values);
      tf.dispose(values);
    }
    const inputs = model.inputs.map((t, i) => {
      const shape = [2, ...(t.shape.slice(1) as number[])];
      const size = shape.reduce((a, b) => a * b, 1);
      // Token ids for an Embedding input, values in [-1, 1) otherwise.
      const ids = model.layers.some((l) => l.getClassName() === 'Embedding' && l.inboundNodes[0]?.inboundLayers[0]?.name === model.inputLayers[i]!.name);
      const data = Float32Array.from({ length: size }, () => (ids ? Math.floor(rnd() * 5) : rnd() * 2 - 1));
      return { data, shape };
    });
    const xs = inputs.map((x) => tf.tensor(x.data, x.shape));
    const ys = [model.predict(xs.length === 1 ? xs[0]! : xs)].flat() as tf.Tensor[];
    const outputs = ys.map((y) => put(blob, y.dataSync() as Float32Array, y.shape as number[]));
    tf.dispose([...xs, ...ys]);
    const manifest = { className: [...code.matchAll(/^class (\w+)\(nn\.Module\):/gm)].pop()![1], weights, inputs: inputs.map((x) => put(blob, x.data, x.shape)), outputs };
    const stem = join(work, `${m.doc.fileName.split('/').pop()}-${spec.replace(/[^a-z0-9]+/gi, '_')}`);
    writeFileSync(`${stem}.py`, code);
    writeFileSync(`${stem}.json`, JSON.stringify(manifest));
    writeFileSync(`${stem}.bin`, Buffer.concat(blob.parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength))));
    const run = spawnSync(PYTHON, ['-c', RUNNER, `${stem}.py`, `${stem}.json`, `${stem}.bin`], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (run.status !== 0) throw new Error(`python failed on ${stem}.py:\n${run.stderr}`);
    return JSON.parse(run.stdout.trim().split('\n').pop()!) as Parity;
  } finally {
    model.dispose();
  }
}

async function check(file: string | OpenModel, spec: string): Promise<Parity> {
  const m = typeof file === 'string' ? open(file) : file;
  const p = await parity(m, spec);
  const name = m.doc.fileName.split('/').pop()!;
  results.push(`${name} ${spec}: max |diff| ${p.maxAbsDiff.toExponential(2)} (outputs up to ${p.scale.toFixed(3)})`);
  assert.equal(p.count, m.params.total + planModel(m, spec).cost.addedParams, 'parameters + BN running statistics');
  assert.ok(p.maxAbsDiff <= TOLERANCE * Math.max(1, p.scale), `max |torch - tfjs| = ${p.maxAbsDiff} (outputs up to ${p.scale})`);
  return p;
}

const CASES: [string, string[]][] = [
  ['resnet-mini.json', ['all=plain', 'all=rw', 'all=lr:r=4', 'all=rw+lr:r=4', 'all=pa:k=2', 'all=rw+lr+pa:r=2:k=2', 'all=gemma:r=4']],
  [
    'prenorm-mixer.json',
    ['all=plain', 'all=rw:norm=sigmoid-single', 'all=rw+lr:r=4:norm=fixed:init=column-orthogonal', 'all=pa:k=3:pa=lowrank-shared', 'all=rw+pa:k=2:pa=lowrank-per-j:r=2', 'all=rw+lr+pa:r=2:k=2', 'all=gemma:r=4'],
  ],
  ['keras-resnet18-custom-doubleencoded.json', ['all=plain', 'all=rw+lr:r=4', 'all=rw+lr+pa:r=2:k=2']],
  ['tfjs-browser-saved-lenet-tensorspace.json', ['all=plain']],
  ['keras3-resnet1d-dotkeras-config.json', ['all=plain', 'all=rw', 'all=lr:r=4', 'all=pa:k=2', 'all=gemma:r=4']],
];

/** A TF.js model with most exported layer kinds and TF's asymmetric 'same' padding (odd sizes, stride 2). */
function zoo(): OpenModel {
  const L = tf.layers;
  const img = tf.input({ shape: [9, 9, 3], name: 'img' });
  const seq = tf.input({ shape: [11, 4], name: 'seq' });
  const ids = tf.input({ shape: [6], name: 'ids' });
  const ap = (l: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]) => l.apply(x) as tf.SymbolicTensor;
  let x = ap(L.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', name: 'conv_s2' }), img);
  const d = ap(L.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', activation: 'relu6', name: 'depthwise' }), x);
  const s = ap(L.separableConv2d({ filters: 16, kernelSize: 3, padding: 'same', depthMultiplier: 1, activation: 'selu', name: 'separable' }), x);
  x = ap(L.add({ name: 'dw_plus_sep' }), [d, s]);
  x = ap(L.batchNormalization({ center: false, name: 'bn_nocenter' }), x);
  const dil = ap(L.conv2d({ filters: 16, kernelSize: 3, dilationRate: 2, padding: 'same', activation: 'softplus', name: 'dilated' }), x);
  x = ap(L.multiply({ name: 'mul' }), [x, ap(L.activation({ activation: 'sigmoid', name: 'gate' }), dil)]);
  x = ap(L.add({ name: 'plus_hsig' }), [x, ap(L.activation({ activation: 'hardSigmoid', name: 'hsig' }), dil)]);
  x = ap(L.maximum({ name: 'max' }), [x, ap(L.leakyReLU({ alpha: 0.2, name: 'leaky' }), dil)]);
  x = ap(L.minimum({ name: 'min' }), [x, ap(L.elu({ name: 'elu' }), dil)]);
  x = ap(L.average({ name: 'avg' }), [x, ap(L.prelu({ sharedAxes: [1, 2], name: 'prelu' }), dil)]);
  const up = ap(L.conv2dTranspose({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', activation: 'tanh', name: 'deconv_same' }), x);
  const upv = ap(L.conv2dTranspose({ filters: 6, kernelSize: 2, strides: 2, padding: 'valid', name: 'deconv_valid' }), x);
  x = ap(L.concatenate({ axis: -1, name: 'cat' }), [up, upv]);
  x = ap(L.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'maxpool_same' }), ap(L.zeroPadding2d({ padding: [[1, 0], [0, 2]], name: 'zpad' }), x));
  x = ap(L.averagePooling2d({ poolSize: 2, strides: 2, padding: 'same', name: 'avgpool_same' }), ap(L.cropping2D({ cropping: [[1, 0], [0, 1]], name: 'crop' }), x));
  x = ap(L.upSampling2d({ size: [2, 3], name: 'upsample' }), x);
  x = ap(L.reLU({ maxValue: 0.8, name: 'relu_capped' }), x);
  x = ap(L.thresholdedReLU({ theta: 0.1, name: 'thresholded' }), x);
  const imgVec = ap(L.concatenate({ name: 'img_vec' }), [ap(L.globalMaxPooling2d({ name: 'gmax' }), x), ap(L.flatten({ name: 'flat' }), ap(L.averagePooling2d({ poolSize: 2, name: 'avgpool_valid' }), x))]);

  let t = ap(L.conv1d({ filters: 8, kernelSize: 3, padding: 'valid', dilationRate: 2, activation: 'swish', name: 'dilated1d' }), seq);
  t = ap(L.conv1d({ filters: 8, kernelSize: 4, strides: 2, padding: 'same', activation: 'gelu', name: 'conv1d_s2' }), t);
  t = ap(L.maxPooling1d({ poolSize: 2, strides: 1, padding: 'same', name: 'maxpool1d' }), t);
  t = ap(L.layerNormalization({ epsilon: 1e-5, name: 'ln' }), t);
  t = ap(L.dense({ units: 12, activation: 'softplus', name: 'dense_seq' }), t);
  t = ap(L.permute({ dims: [2, 1], name: 'permute' }), t);
  t = ap(L.dense({ units: 5, activation: 'mish', name: 'dense_tok' }), t);
  t = ap(L.reshape({ targetShape: [5, 12], name: 'reshape' }), t);
  t = ap(L.averagePooling1d({ poolSize: 3, strides: 2, padding: 'same', name: 'avgpool1d' }), t);
  const seqVec = ap(L.globalAveragePooling1d({ name: 'gap1d' }), t);

  const e = ap(L.embedding({ inputDim: 5, outputDim: 7, name: 'embed' }), ids);
  const idsVec = ap(L.flatten({ name: 'flat_ids' }), e);

  let h = ap(L.concatenate({ name: 'all' }), [imgVec, seqVec, idsVec]);
  h = ap(L.dense({ units: 16, activation: 'softsign', name: 'hidden' }), h);
  h = ap(L.repeatVector({ n: 3, name: 'repeat' }), h);
  h = ap(L.flatten({ name: 'flat_rep' }), h);
  const out = ap(L.softmax({ name: 'probs' }), ap(L.dense({ units: 4, activation: 'elu', name: 'head' }), h));
  const model = tf.model({ inputs: [img, seq, ids], outputs: [out, h], name: 'zoo' });
  const json = JSON.stringify({ format: 'layers-model', modelTopology: model.toJSON(undefined, false) });
  model.dispose();
  return openModel('zoo.json', new TextEncoder().encode(json));
}

describe('PyTorch export', function () {
  before(async function () {
    requireSystemDeps(this, 'python3-torch', 'python3-numpy');
    await tf.setBackend('cpu');
    work = mkdtempSync(join(tmpdir(), 'laurel-pytorch-'));
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
    if (results.length) console.log(`      parity:\n${results.map((r) => `        ${r}`).join('\n')}`);
  });

  describe('output parity with TF.js and parameter counts', () => {
    for (const [file, specs] of CASES) {
      for (const spec of specs) it(`${file} ${spec}`, async () => void (await check(file, spec)));
    }

    it('a model of most exported layer kinds (odd sizes, stride 2, transposed convs, three inputs, two outputs)', async () => {
      const m = zoo();
      assert.deepEqual(m.analysis.unknownLayers, []);
      await check(m, 'all=plain');
    });
  });

  describe('the generated file', () => {
    it('LaurelResidual starts as the TF.js layer does: B zero, gamma ones, logits zero, Gemma B glorot', async () => {
      const p = await check('resnet-mini.json', 'all=rw+lr+pa:r=2:k=2');
      const init = Object.entries(p.laurelInit);
      assert.ok(init.length > 0);
      for (const [name, [absMax, lo, hi]] of init) {
        if (/pa_up|lr_up|rw_logits/.test(name)) assert.equal(absMax, 0, name);
        else if (/pa_gamma/.test(name)) assert.deepEqual([lo, hi], [1, 1], name);
        else assert.ok(absMax > 0, name);
      }
      const g = await check('prenorm-mixer.json', 'all=gemma:r=4');
      for (const [name, [absMax, lo, hi]] of Object.entries(g.laurelInit)) {
        if (/gemma_norm_scale/.test(name)) assert.deepEqual([lo, hi], [1, 1], name);
        else assert.ok(absMax > 0 && absMax <= Math.sqrt(6 / (64 + 4)) + 1e-6, `${name} glorot`);
      }
    });

    it('names submodules after the layers, and keeps KERAS_NAMES for the ones it renames', () => {
      const m = open('keras3-resnet1d-dotkeras-config.json');
      const { code } = toPyTorch(m, resolvePlan(parsePlan('all=rw+lr:r=4'), m.sites), { className: 'ResNet1D' });
      assert.match(code, /^class ResNet1D\(nn\.Module\):/m);
      for (const s of m.sites) assert.match(code, new RegExp(`self\\.${s.merge} = LaurelResidual\\(32, "rw\\+lr", rank=4`));
      assert.match(code, /^def load_tfjs_weights\(model, named_arrays, strict=True\):/m);
      assert.throws(() => toPyTorch(m, undefined, { className: 'not valid' }), /cannot be the Python class name/);
    });

    it('unsupported layers are listed and raise NotImplementedError where forward() reaches them; the file still compiles', () => {
      const m = open('keras3-transformer-encoder-opsAdd-dotkeras-config.json');
      const { code, unsupported } = toPyTorch(m, resolvePlan(parsePlan('all=rw'), m.sites));
      assert.deepEqual(
        unsupported.map((u) => u.className),
        ['MultiHeadAttention', 'MultiHeadAttention'],
      );
      for (const u of unsupported) assert.ok(code.includes(`raise NotImplementedError("layer '${u.layer}' (MultiHeadAttention) is not supported by the PyTorch export`), u.layer);
      const file = join(work, 'transformer.py');
      writeFileSync(file, code);
      execFileSync(PYTHON, ['-m', 'py_compile', file]);
    });

    it('layer names that are not Python identifiers or clash with nn.Module attributes are renamed', () => {
      const layers = [
        { class_name: 'InputLayer', config: { name: 'in put', batch_input_shape: [null, 4] }, name: 'in put', inbound_nodes: [] },
        { class_name: 'Dense', config: { name: 'forward', units: 4 }, name: 'forward', inbound_nodes: [[['in put', 0, 0, {}]]] },
        { class_name: 'Dense', config: { name: '1st/dense', units: 4 }, name: '1st/dense', inbound_nodes: [[['forward', 0, 0, {}]]] },
        { class_name: 'Add', config: { name: 'class' }, name: 'class', inbound_nodes: [[['1st/dense', 0, 0, {}], ['forward', 0, 0, {}]]] },
      ];
      const json = { class_name: 'Model', config: { name: 'odd """ names\\', layers, input_layers: [['in put', 0, 0]], output_layers: [['class', 0, 0]] } };
      const m = openModel('odd.json', new TextEncoder().encode(JSON.stringify(json)));
      const { code } = toPyTorch(m, resolvePlan(parsePlan('all=rw'), m.sites));
      assert.match(code, /self\.forward_2 = nn\.Linear\(4, 4\)/);
      assert.match(code, /self\.l_1st_dense = nn\.Linear\(4, 4\)/);
      assert.match(code, /"l_1st_dense": "1st\/dense"/);
      assert.match(code, /self\.class_2 = LaurelResidual\(4, "rw"/);
      assert.match(code, /def forward\(self, in_put\):/);
      assert.match(code, /\("1st\/dense\/kernel", "l_1st_dense\.weight", "dense"\)/);
      assert.match(code, /^class OddNames\(nn\.Module\):/m);
      const file = join(work, 'odd.py');
      writeFileSync(file, code);
      execFileSync(PYTHON, ['-m', 'py_compile', file]);
    });
  });

  describe('laurel export', () => {
    const root = resolve(__dirname, '../../..');
    const laurel = (...args: string[]) => spawnSync(process.execPath, [join(root, 'bin', 'laurel.js'), ...args], { encoding: 'utf8', cwd: root });
    before(() => {
      if (!existsSync(join(root, 'dist', 'cli.js'))) spawnSync(process.execPath, ['esbuild.mjs'], { cwd: root, stdio: 'inherit' });
    });

    it('--to pytorch writes a module that runs; keras-json and tfjs write topologies the core reads back with the plan', () => {
      const file = examplePath('resnet-mini.json');
      const m = open('resnet-mini.json');
      const spec = 'all=rw+lr+pa:r=2:k=2';
      const total = m.params.total + planModel(m, spec).cost.addedParams;
      const py = join(work, 'cli_mini.py');
      const r = laurel('export', file, '--plan', spec, '-o', py);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /cli_mini\.py: pytorch, plan all=rw\+lr\+pa:r=2:k=2 \(4 LAuReL site\(s\)\)/);
      const run = spawnSync(PYTHON, ['-c', `import importlib.util as u, torch; s = u.spec_from_file_location("m", ${JSON.stringify(py)}); m = u.module_from_spec(s); s.loader.exec_module(m); net = m.ResnetMini().eval(); print(tuple(net(torch.randn(2, 28, 28, 1)).shape))`], { encoding: 'utf8' });
      assert.equal(run.stdout.trim(), '(2, 10)', run.stderr);
      for (const to of ['keras-json', 'tfjs']) {
        const out = join(work, `cli_mini_${to}.json`);
        const e = laurel('export', file, '--plan', spec, '--to', to, '-o', out);
        assert.equal(e.status, 0, e.stderr);
        const again = openModel(out, readFileSync(out));
        assert.equal(again.doc.format, to === 'tfjs' ? 'tfjs-layers-model' : 'keras-json');
        assert.equal(again.params.total, total, to);
        assert.deepEqual(
          again.sites.map((s) => s.current.variant),
          m.sites.map(() => 'rw+lr+pa'),
        );
      }
    });

    it('an unknown --to is a usage error; unsupported layers are warned about on stderr', () => {
      const bad = laurel('export', examplePath('resnet-mini.json'), '--to', 'onnx');
      assert.equal(bad.status, 2);
      assert.match(bad.stderr, /--to must be one of pytorch, keras-json, tfjs; got 'onnx'/);
      const out = join(work, 'cli_transformer.py');
      const t = laurel('export', fixturePath('keras3-transformer-encoder-opsAdd-dotkeras-config.json'), '-o', out);
      assert.equal(t.status, 0, t.stderr);
      assert.match(t.stderr, /layer 'multi_head_attention' \(MultiHeadAttention\) is not exported; forward\(\) raises NotImplementedError there/);
      assert.ok(existsSync(out));
    });
  });
});
