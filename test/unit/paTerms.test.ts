import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { toPyTorch } from '../../src/core/export/pytorch';
import { parsePlan, resolvePlan } from '../../src/core/laurel/planSpec';
import { openModel, plannedBytes, planModel } from '../../src/core/model';
import type { OpenModel } from '../../src/core/model';
import { mulberry32 } from '../../src/core/random';
import { buildModel, UnsupportedModelError } from '../../src/laurel/buildModel';
import { LaurelResidual } from '../../src/laurel/laurelResidual';
import { moduleClassName } from '../../src/trainer/pytorchScript';
import { fixturePath } from './fixturePath';

// PA on a site with a short history (the first sites of a stage) used to make and price γ_j, A_j, B_j for all
// j < k, though only the terms that exist are summed: parameters that never receive a gradient (25.4% of
// ResNet-50's RW+LR+PA priced parameters). Now, on every fixture: the price of the plan = the parameters the
// TF.js build and the PyTorch module create = the parameters that get a non-zero gradient, and the written
// file's count agrees.

const root = resolve(__dirname, '../../..');
const FILES = [
  ...readdirSync(fixturePath('')).filter((f) => f.endsWith('.json')).map((f) => fixturePath(f)),
  join(root, 'examples', 'resnet-mini.json'),
  join(root, 'examples', 'prenorm-mixer.json'),
];
// Per-j pairs (RW+LR+PA, Eq. 6) and a shared pair with identity-free h; both have k = 3 γ's at full history.
const PLANS = ['all=rw+lr+pa:r=2', 'all=pa:pa=lowrank-shared:r=2'];

/** Random values for every weight of `layer`, then the gradient of a random projection of its output. */
function gradientsNonZero(layer: tf.layers.Layer, rnd: () => number): { weights: number; zero: string[] } {
  // Both plans have a down-projection A [D, r]; the layer acts on the last axis, so [1, 2, 2, D] inputs do.
  const width = layer.weights.find((w) => /down/.test(w.name))!.shape[0] as number;
  layer.setWeights(layer.weights.map((w) => tf.tensor(Float32Array.from({ length: w.shape.reduce<number>((a, b) => a * (b ?? 1), 1) }, () => rnd() - 0.5), w.shape as number[])));
  const inputs = layer.inboundNodes[0]!.inputTensors.length;
  const xs = Array.from({ length: inputs }, () => tf.tensor(Float32Array.from({ length: 4 * width }, () => rnd() - 0.5), [1, 2, 2, width]));
  const probe = tf.tensor(Float32Array.from({ length: 4 * width }, () => rnd() - 0.5), [1, 2, 2, width]);
  const vars = layer.weights.map((w) => w.read() as tf.Variable);
  const { grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(xs) as tf.Tensor, probe)) as tf.Scalar, vars);
  const zero = Object.entries(grads)
    .filter(([, g]) => (g.dataSync() as Float32Array).some((v) => v === 0))
    .map(([name]) => name);
  tf.dispose([...xs, probe, ...Object.values(grads)]);
  return { weights: vars.reduce((s, v) => s + v.size, 0), zero };
}

interface TorchCase {
  file: string;
  code: string;
  className: string;
  expected: number;
}

describe('PA creates and prices only the terms that exist', function () {
  this.timeout(600_000);
  const torchCases: TorchCase[] = [];
  const tmp = mkdtempSync(join(tmpdir(), 'laurel-pa-terms-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('ResNet-50 RW+LR+PA r=16, k=3: 1,081,412 parameters, the 1,450,064 priced before less the 368,652 that got no gradient', function () {
    const file = fixturePath('tfjs-legacy-resnet50-tensorspace.json');
    const m = openModel(file, readFileSync(file));
    assert.equal(planModel(m, 'all=rw+lr+pa:r=16').cost.addedParams, 1_450_064 - 368_652);
  });

  for (const file of FILES) {
    const name = file.split('/').pop()!;
    it(`${name}: plan price = written file = TF.js weights = weights with a gradient`, async function () {
      let m: OpenModel;
      try {
        m = openModel(file, readFileSync(file));
      } catch (e) {
        this.skip(); // a file the reader refuses has no sites to price (tested in read.test.ts)
        return;
      }
      // A model without residuals (YOLOv2, seq2seq with its two inputs) prices every plan at +0: the same checks hold.
      for (const spec of PLANS) {
        const planned = planModel(m, spec);
        const priced = planned.cost.addedParams;
        // The written file, read back: its LaurelResidual layers count what the plan priced.
        const written = openModel(file, plannedBytes(m, planned));
        assert.equal(written.params.total, planned.cost.baseParams + priced, `${name} ${spec}: written file`);
        const choices = resolvePlan(parsePlan(spec), m.sites);
        const code = toPyTorch(m, choices);
        if (code.unsupported.length === 0) torchCases.push({ file: `${name} ${spec}`, code: code.code, className: moduleClassName(code.code), expected: priced });
        let model: tf.LayersModel;
        try {
          model = await buildModel(m, choices);
        } catch (e) {
          if (e instanceof UnsupportedModelError) continue; // tfjs lacks a layer of this model; PyTorch still checks it
          throw e;
        }
        try {
          assert.equal(model.countParams(), planned.cost.baseParams + priced, `${name} ${spec}: TF.js countParams() vs the plan's total`);
          const laurel = model.layers.filter((l): l is LaurelResidual => l instanceof LaurelResidual);
          const created = laurel.reduce((s, l) => s + l.countParams(), 0);
          assert.equal(created, priced, `${name} ${spec}: TF.js created vs priced`);
          const rnd = mulberry32(7);
          let withGrad = 0;
          for (const l of laurel) {
            const g = gradientsNonZero(l, rnd);
            assert.deepEqual(g.zero, [], `${name} ${spec}: ${l.name} has weights without a gradient`);
            withGrad += g.weights;
          }
          assert.equal(withGrad, priced, `${name} ${spec}: weights with a gradient vs priced`);
        } finally {
          model.dispose();
        }
      }
    });
  }

  it('PyTorch: the exported modules create the priced parameters and every one gets a gradient', function () {
    console.log(`      ${torchCases.length} fixture plans export to PyTorch: ${[...new Set(torchCases.map((c) => c.file.split(' ')[0]))].join(', ')}`);
    assert.ok(torchCases.length >= 6, `only ${torchCases.length} fixture plans export to PyTorch`);
    const cases = torchCases.map((c, i) => {
      const path = join(tmp, `m${i}.py`);
      writeFileSync(path, c.code);
      return { ...c, path, code: undefined };
    });
    writeFileSync(join(tmp, 'cases.json'), JSON.stringify(cases));
    const script = `
import importlib.util, json, sys
import torch
torch.manual_seed(0)
out = []
for c in json.load(open(sys.argv[1])):
    spec = importlib.util.spec_from_file_location("m", c["path"])
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    model = getattr(mod, c["className"])()
    created, with_grad, zero = 0, 0, []
    for name, m in model.named_modules():
        if type(m).__name__ != "LaurelResidual":
            continue
        params = list(m.named_parameters())
        created += sum(p.numel() for _, p in params)
        with torch.no_grad():
            for _, p in params:
                p.uniform_(-0.5, 0.5)
                p.requires_grad_(True)  # a file's frozen layer is frozen in the export too; what counts here is the wiring
        n_in = (m.terms + 1) if m.has_pa else 2
        width = (m.pa_down if hasattr(m, "pa_down") else m.pa_down_0).shape[0]
        # D on the module's axis: channels-first feature maps (axis 1) in the export of a conv net, else last.
        shape = (1, width, 2, 2) if m.axis == 1 else (1, 2, 2, width)
        xs = [torch.rand(*shape) - 0.5 for _ in range(n_in)]
        (m(xs) * (torch.rand(*shape) - 0.5)).sum().backward()
        for pn, p in params:
            if p.grad is None or bool((p.grad == 0).any()):
                zero.append(name + "." + pn)
            else:
                with_grad += p.numel()
    out.append({"file": c["file"], "created": created, "withGrad": with_grad, "zero": zero})
print(json.dumps(out))
`;
    const r = spawnSync('/usr/bin/python3', ['-c', script, join(tmp, 'cases.json')], { encoding: 'utf8', maxBuffer: 1 << 26 });
    assert.equal(r.status, 0, r.stderr);
    const results = JSON.parse(r.stdout) as { file: string; created: number; withGrad: number; zero: string[] }[];
    assert.equal(results.length, cases.length);
    for (const [i, res] of results.entries()) {
      assert.deepEqual(res.zero, [], `${res.file}: PyTorch parameters without a gradient`);
      assert.equal(res.created, cases[i]!.expected, `${res.file}: PyTorch created vs priced`);
      assert.equal(res.withGrad, cases[i]!.expected, `${res.file}: PyTorch parameters with a gradient vs priced`);
    }
  });
});
