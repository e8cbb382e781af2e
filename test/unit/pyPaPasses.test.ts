import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPyModel } from '../../src/core/pysource/pyModel';
import { planPy } from '../../src/core/pysource/pyPlan';
import { traceSource } from '../../src/trainer/pySourceTrace';
import { writeCompanion } from '../../src/util/laurelCompanion';

// PA on a rewritten .py model (laurel_residual.py's LaurelHistory) in the passes issue 8 left out, through the
// real Python with torch 1.13: the model's forward called directly, checkpointed blocks, and one module instance
// run twice in a pass (priced once, as PyTorch counts it).
const PYTHON = process.env['LAUREL_PYTHON'] ?? '/usr/bin/python3';

/** Four blocks, each with a LaurelResidual as `laurel apply` writes it; `ckpt`: torch.utils.checkpoint per block. */
const NET = `
import json, sys, torch, torch.nn as nn
from torch.utils.checkpoint import checkpoint
from laurel_residual import LaurelResidual

class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.f = nn.Linear(d, d)
        self.laurel_f = LaurelResidual(variant=sys.argv[1], rank=2, k=3)

    def forward(self, x):
        return self.laurel_f(torch.tanh(self.f(x)), x)

class Net(nn.Module):
    def __init__(self, d=8, n=4, ckpt=None):
        super().__init__()
        self.blocks = nn.ModuleList([Block(d) for _ in range(n)])
        self.head = nn.Linear(d, 1)
        self.ckpt = ckpt

    def forward(self, x):
        for b in self.blocks:
            x = b(x) if self.ckpt is None else checkpoint(b, x, use_reentrant=self.ckpt)
        return self.head(x)

def build(**kw):
    torch.manual_seed(0)
    return Net(**kw)

x = torch.randn(3, 8, requires_grad=True)  # the reentrant checkpoint needs an input with a gradient
out = {}
# model(x) against model.forward(x), each on a fresh model (terms are fixed at the first call), twice each.
a, b = build(), build()
ya = [a(x) for _ in range(2)]
yb = [b.forward(x) for _ in range(2)]
out["terms"] = [[m.blocks[i].laurel_f.terms for i in range(4)] for m in (a, b)]
out["forwardEqual"] = all(torch.equal(u, v) for u in ya for v in yb)

def grads(m):
    m.zero_grad()
    y = m(x)
    y.square().sum().backward()
    return y, {n: p.grad.clone() for n, p in m.named_parameters()}

y0, g0 = grads(build())
for reentrant in (False, True):
    m = build(ckpt=reentrant)
    m(x)  # the first call learns D and the terms
    y, g = grads(m)
    out["reentrant" if reentrant else "nonReentrant"] = {
        "forward": torch.equal(y, y0),
        "differ": sorted(n for n in g0 if not torch.allclose(g[n], g0[n], atol=1e-6)),
        "held": sum(len(v) for v in m.__dict__["_laurel_history"].used.values()),
    }
# Inside torch.compile (faked: torch 1.13 has none) the stack is not walked: the first call's history serves.
import laurel_residual
c = build()
y1 = c(x)
def walked():
    raise AssertionError("the stack was walked while compiling")
laurel_residual._pass_of_call = walked
torch.compiler = type("Compiler", (), {"is_compiling": staticmethod(lambda: True)})
out["compiling"] = torch.equal(c(x), y1)
print(json.dumps(out))
`;

/** A block called twice and a loop in forward: each line runs twice per pass in one module instance. */
const TWICE = `import torch
import torch.nn as nn


class Block(nn.Module):
    def __init__(self, d=16):
        super().__init__()
        self.f = nn.Linear(d, d)

    def forward(self, x):
        return x + self.f(torch.relu(x))


class Net(nn.Module):
    def __init__(self, d=16):
        super().__init__()
        self.block = Block(d)
        self.g = nn.Linear(d, d)
        self.head = nn.Linear(d, 4)

    def forward(self, x):
        x = self.block(x)
        x = self.block(x)  # the same instance again: its weights are shared
        for _ in range(2):
            x = x + self.g(x)
        return self.head(x)
# laurel: model = Net(); input = torch.randn(2, 16)
`;

describe('.py PA passes: model.forward(x), checkpointing, a module called twice (through Python)', function () {
  this.timeout(300_000);
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'laurel-papasses-'));
    writeCompanion(dir);
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  for (const variant of ['pa', 'rw+pa', 'rw+lr+pa']) {
    it(`${variant}: model.forward(x) keeps one history per pass as model(x) does; checkpointed blocks recompute with the forward's states`, () => {
      writeFileSync(join(dir, 'net.py'), NET);
      const r = spawnSync(PYTHON, ['net.py', variant], { cwd: dir, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { compiling: boolean; terms: number[][]; forwardEqual: boolean; nonReentrant: { forward: boolean; differ: string[]; held: number }; reentrant: { forward: boolean; differ: string[]; held: number } };
      // Execution order, one shape: x_i alone, then one, then two earlier states (k = 3).
      assert.deepEqual(out.terms, [[1, 2, 3, 3], [1, 2, 3, 3]]);
      assert.equal(out.forwardEqual, true, 'model.forward(x), twice, equals model(x)');
      // use_reentrant=False: the same forward and every gradient of the model without checkpoints.
      assert.deepEqual(out.nonReentrant, { forward: true, differ: [], held: 0 });
      // The reentrant checkpoint backpropagates only into a block's own inputs: the same forward, and the
      // gradients of the last two blocks and the head (PA's paths into earlier blocks are cut, as documented).
      assert.equal(out.reentrant.forward, true);
      assert.equal(out.reentrant.held, 0);
      assert.ok(out.reentrant.differ.every((n) => /^blocks\.[01]\./.test(n)), out.reentrant.differ.join(', '));
      assert.equal(out.compiling, true);
    });
  }

  it('a module instance run twice in a pass has one LaurelResidual: priced once (PA terms of its first call), as PyTorch counts the applied file', async () => {
    const file = join(dir, 'twice.py');
    writeFileSync(file, TWICE);
    const open = async () => {
      const r = await traceSource(file, { explicit: PYTHON });
      if (!r.ok) assert.fail(`${r.error.phase}: ${r.error.message}`);
      return openPyModel(file, readFileSync(file, 'utf8'), r.trace);
    };
    const m = await open();
    const plain = m.params!.total;
    assert.deepEqual(m.sites.map((s) => [s.id, s.instances, s.editable]), [['L11', 2, true], ['L25', 2, true]]);
    // RW+LR r=4 at D=16: 2 + 2·4·16 = 130 per LaurelResidual, two of them (not four).
    assert.equal(planPy(m, 'all=rw+lr:r=4').cost.addedParams, 260);
    for (const spec of ['all=rw+lr:r=4', 'all=pa', 'all=rw+pa', 'all=rw+lr+pa:r=4:k=3', 'L25=pa:pa=lowrank-per-j:r=2,L11=lr:r=2']) {
      const planned = planPy(m, spec);
      writeFileSync(file, planned.text);
      const applied = await open();
      assert.equal(applied.params!.total, plain + planned.cost.addedParams, spec);
      assert.equal(planPy(applied, 'all=plain').cost.baseParams, plain, `${spec}: the applied file prices what it holds`);
      assert.equal(planPy(applied, 'plain').text, TWICE, spec);
      writeFileSync(file, TWICE);
    }
  });
});
