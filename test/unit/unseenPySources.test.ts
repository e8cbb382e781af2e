import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openPyModel, pyCost } from '../../src/core/pysource/pyModel';
import type { OpenPyModel } from '../../src/core/pysource/pyModel';
import { planPy } from '../../src/core/pysource/pyPlan';
import { traceSource } from '../../src/trainer/pySourceTrace';
import { writeCompanion } from '../../src/util/laurelCompanion';
import { requireSystemDeps, SYSTEM_PYTHON } from './systemDeps';
import { tempFolder } from './tempFolder';

// Residual lines written in ways the earlier fixtures do not: kuangliu/pytorch-cifar's MobileNetV2 (the add inside
// a conditional expression), DPN (the add of two channel slices inside torch.cat) and EfficientNet (the add under
// an `if` after drop-connect). test/fixtures/pytorch/SOURCES.md has their origin and torch 1.13's counts.
const DIR = join(resolve(__dirname, '../../..'), 'test', 'fixtures', 'pytorch', 'kuangliu');
const INPUT = 'torch.randn(1, 3, 32, 32)';

const CASES = [
  { file: 'mobilenetv2.py', model: 'MobileNetV2()', params: 2_296_922, line: 36, instances: 14, edited: 'out = self.laurel_res36(out, self.shortcut(x)) if self.stride==1 else out' },
  { file: 'dpn.py', model: 'DPN26()', params: 11_574_842, line: 33, instances: 8, edited: 'out = torch.cat([self.laurel_res33(out[:,:d,:,:], x[:,:d,:,:]), x[:,d:,:,:], out[:,d:,:,:]], 1)' },
  { file: 'efficientnet.py', model: 'EfficientNetB0()', params: 3_599_686, line: 103, instances: 9, edited: 'out = self.laurel_out(out, x)' },
];

describe('PyTorch sources with residual lines of new shapes (kuangliu/pytorch-cifar)', function () {
  this.timeout(600_000);
  const work = tempFolder('laurel-unseen-py-');
  before(function () {
    requireSystemDeps(this, 'python3-torch');
  });

  async function open(file: string, model: string): Promise<OpenPyModel> {
    const r = await traceSource(file, { explicit: SYSTEM_PYTHON, model, input: INPUT });
    if (!r.ok) assert.fail(`${file}: ${r.error.phase} ${r.error.message} (line ${r.error.line})`);
    return openPyModel(file, readFileSync(file, 'utf8'), r.trace);
  }

  for (const c of CASES) {
    it(`${c.file}: ${c.model} counts torch's ${c.params.toLocaleString('en')}; L${c.line} (×${c.instances}) takes RW+LR and gives the bytes back`, async () => {
      const file = join(work(), c.file);
      copyFileSync(join(DIR, c.file), file);
      const original = readFileSync(file, 'utf8');
      const m = await open(file, c.model);
      assert.equal(m.params!.total, c.params);
      const site = m.sites.find((s) => s.line === c.line);
      assert.ok(site, `a residual site at L${c.line}; found ${m.sites.map((s) => s.line).join(', ')}`);
      assert.equal(site.instances, c.instances);
      const planned = planPy(m, `L${c.line}=rw+lr:r=4`);
      assert.ok(planned.text.split('\n').some((l) => l.trim() === c.edited), planned.text.split('\n')[c.line + 4]);
      assert.equal(planned.cost.sites.reduce((n, x) => n + x.params, 0), planned.cost.addedParams, "the line's rows add up to the total");
      writeCompanion(work());
      writeFileSync(file, planned.text);
      const applied = await open(file, c.model);
      assert.equal(applied.params!.total, c.params + planned.cost.addedParams, 'the applied file counts the price');
      // Instances the condition skips keep their LaurelResidual's RW scalars: priced, and left out of the base.
      assert.equal(pyCost(applied, new Map()).baseParams, c.params, 'the applied file prices what it holds');
      assert.equal(planPy(applied, 'plain').text, original, 'plain restores the text');
    });
  }
});
