import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { toPyTorch } from '../../src/core/export/pytorch';
import { parsePlan, resolvePlan } from '../../src/core/laurel/planSpec';
import { openModel, planModel } from '../../src/core/model';
import type { OpenModel } from '../../src/core/model';
import { examplePath } from './fixturePath';
import { check, open, parityHooks, parityWork, PYTHON } from './pytorchParity';

// The reference is TF.js (pytorchParity.ts): same weights, same batch, same outputs.

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

/** A Keras model with a layer the export has no form for: Resizing with TF's bicubic kernel (a = -0.5; torch's is -0.75). */
function unsupportedModel(): OpenModel {
  const layers = [
    { class_name: 'InputLayer', config: { name: 'img', batch_input_shape: [null, 8, 8, 3] }, name: 'img', inbound_nodes: [] },
    { class_name: 'Resizing', config: { name: 'resize', height: 4, width: 4, interpolation: 'bicubic' }, name: 'resize', inbound_nodes: [[['img', 0, 0, {}]]] },
    { class_name: 'Flatten', config: { name: 'flat' }, name: 'flat', inbound_nodes: [[['resize', 0, 0, {}]]] },
  ];
  const json = { class_name: 'Model', config: { name: 'bicubic', layers, input_layers: [['img', 0, 0]], output_layers: [['flat', 0, 0]] } };
  return openModel('bicubic.json', new TextEncoder().encode(JSON.stringify(json)));
}

describe('PyTorch export', function () {
  parityHooks('laurel-pytorch-');

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

    it("computes in PyTorch's layout: conv nets move their input once, static padding, LR's maps on channels-first maps", () => {
      for (const [file, spec] of [['resnet-mini.json', 'all=rw+lr:r=4'], ['keras-resnet18-custom-doubleencoded.json', 'all=rw+lr+pa:r=2:k=2']] as const) {
        const m = open(file);
        const { code } = toPyTorch(m, resolvePlan(parsePlan(spec), m.sites));
        const forward = code.slice(code.lastIndexOf('    def forward('));
        // One move (the NHWC input to NCHW); global pooling gives [B, C] for the Dense head.
        assert.deepEqual(forward.match(/\.movedim\([^)]*\)/g), ['.movedim(-1, 1)'], `${file}: ${forward}`);
        assert.doesNotMatch(code, /tf_padding="same"|channels_last/, file);
        for (const s of m.sites) assert.match(code, new RegExp(`self\\.${s.merge} = LaurelResidual\\(.*, axis=1\\)`), file);
      }
      const r18 = toPyTorch(open('keras-resnet18-custom-doubleencoded.json')).code;
      // 3x3 'same' at stride 1: the conv's own symmetric padding; at stride 2 on an even size TF pads (0, 1): one F.pad.
      assert.match(r18, /Conv2dTF\(64, 64, \(3, 3\), padding=\(1, 1\)\)/);
      assert.match(r18, /Conv2dTF\(64, 128, \(3, 3\), stride=\(2, 2\), tf_padding=\(\(0, 1\), \(0, 1\)\)\)/);
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
      const m = unsupportedModel();
      const { code, unsupported } = toPyTorch(m);
      assert.deepEqual(unsupported, [{ layer: 'resize', className: 'Resizing' }]);
      assert.ok(code.includes(`raise NotImplementedError("layer 'resize' (Resizing) is not supported by the PyTorch export: interpolation 'bicubic' (bilinear and nearest are supported)")`));
      const file = join(parityWork.dir, 'unsupported.py');
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
      const file = join(parityWork.dir, 'odd.py');
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
      const py = join(parityWork.dir, 'cli_mini.py');
      const r = laurel('export', file, '--plan', spec, '-o', py);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /cli_mini\.py: pytorch, plan all=rw\+lr\+pa:r=2:k=2 \(4 LAuReL site\(s\)\)/);
      const run = spawnSync(PYTHON, ['-c', `import importlib.util as u, torch; s = u.spec_from_file_location("m", ${JSON.stringify(py)}); m = u.module_from_spec(s); s.loader.exec_module(m); net = m.ResnetMini().eval(); print(tuple(net(torch.randn(2, 28, 28, 1)).shape))`], { encoding: 'utf8' });
      assert.equal(run.stdout.trim(), '(2, 10)', run.stderr);
      for (const to of ['keras-json', 'tfjs']) {
        const out = join(parityWork.dir, `cli_mini_${to}.json`);
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
      const src = join(parityWork.dir, 'bicubic.json');
      writeFileSync(src, unsupportedModel().doc.text);
      const out = join(parityWork.dir, 'cli_bicubic.py');
      const t = laurel('export', src, '-o', out);
      assert.equal(t.status, 0, t.stderr);
      assert.match(t.stderr, /layer 'resize' \(Resizing\) is not exported; forward\(\) raises NotImplementedError there/);
      assert.ok(existsSync(out));
    });
  });
});
