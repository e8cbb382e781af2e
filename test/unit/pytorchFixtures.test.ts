import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { toPyTorch } from '../../src/core/export/pytorch';
import { openModel } from '../../src/core/model';
import type { OpenModel } from '../../src/core/model';
import { fixturePath } from './fixturePath';
import { PYTHON } from './pytorchParity';
import { requireSystemDeps } from './systemDeps';

// Every real model file that reads without unknown layers has a PyTorch form for every layer: the module builds,
// takes the Keras initial values its file names, counts exactly what the core counts (parameters and Keras's
// non-trainable statistics), and one forward pass gives finite outputs of the shapes the core infers.

/** The readable model files of shared/fixtures/models and test/fixtures/models. */
function fixtures(): { name: string; path: string }[] {
  const dirs = [dirname(fixturePath('keras1-resnet50-kerasjs.json')), fixturePath('')];
  return [...new Set(dirs)].flatMap((d) => readdirSync(d).filter((f) => /\.(json|keras)$/.test(f)).map((f) => ({ name: f, path: join(d, f) })));
}

const SCRIPT = String.raw`
import importlib.util, json, math, sys
import torch
torch.set_num_threads(2)
spec = importlib.util.spec_from_file_location("exported", sys.argv[1])
ex = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ex)
cls = [v for k, v in vars(ex).items() if isinstance(v, type) and issubclass(v, torch.nn.Module) and hasattr(v, "KERAS_INIT")][-1]
model = cls().eval()
ex.keras_initialize(model, 1)
inputs = json.loads(sys.argv[2])
xs = [torch.randint(0, 5, s).float() if ids else torch.randn(s) for s, ids in inputs]
with torch.no_grad():
    out = model(*xs)
outs = out if isinstance(out, tuple) else (out,)
print(json.dumps({"count": ex.count_weights(model), "shapes": [list(o.shape) for o in outs], "finite": all(bool(torch.isfinite(o).all()) for o in outs)}))
`;

describe('PyTorch forms of every real model file', function () {
  this.timeout(900_000);
  let work = '';
  before(function () {
    requireSystemDeps(this, 'python3-torch', 'python3-numpy');
    work = mkdtempSync(join(tmpdir(), 'laurel-pytorch-fixtures-'));
  });
  after(() => work && rmSync(work, { recursive: true, force: true }));

  for (const f of fixtures()) {
    it(f.name, function () {
      let m: OpenModel;
      try {
        m = openModel(f.name, readFileSync(f.path));
      } catch {
        this.skip(); // not a layers model (a TF.js graph model): nothing to export
      }
      if (m.analysis.unknownLayers.length) this.skip();
      const exp = toPyTorch(m);
      assert.deepEqual(exp.unsupported, []);
      const file = join(work, `${f.name.replace(/\W/g, '_')}.py`);
      writeFileSync(file, exp.code);
      const g = m.doc.graph;
      // Batch 1, unknown sizes 96 (enough for Inception's stem); an input that feeds an Embedding gets token ids.
      const inputs = g.inputs.map((t) => {
        const shape = m.analysis.shapes.get(t.node)?.[t.index] ?? null;
        assert.ok(shape, `${f.name}: input shape unknown`);
        const feedsEmbedding = g.nodes.some((n) => n.inputs.some((i) => i.node === t.node) && g.layers.find((l) => l.name === n.layer)?.className === 'Embedding');
        return [shape.map((d, i) => d ?? (i === 0 ? 1 : 96)), feedsEmbedding];
      });
      const r = spawnSync(PYTHON, ['-c', SCRIPT, file, JSON.stringify(inputs)], { encoding: 'utf8', maxBuffer: 1 << 24 });
      assert.equal(r.status, 0, r.stderr.split('\n').slice(-8).join('\n'));
      const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as { count: number; shapes: number[][]; finite: boolean };
      assert.equal(res.count, m.params.total, 'parameters + statistics = the core count');
      assert.ok(res.finite, 'finite outputs');
      // The core's shapes, its unknown sizes taken from the run (they follow the input's).
      const want = g.outputs.map((t, o) => (m.analysis.shapes.get(t.node)?.[t.index] ?? []).map((d, i) => (i === 0 ? 1 : (d ?? res.shapes[o]?.[i]))));
      assert.deepEqual(res.shapes, want);
    });
  }
});
