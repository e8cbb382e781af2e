import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULT_OPTIONS } from '../../src/core/laurel/variants';
import { openPyModel } from '../../src/core/pysource/pyModel';
import { datasetPicks, specForFile } from '../../src/extension/datasetPicks';
import { looksLikePyModel } from '../../src/extension/modelSniff';
import { pyComparePicks } from '../../src/extension/pyComparePicks';
import { traceSource } from '../../src/trainer/pySourceTrace';
import { pytorchFixture } from './fixturePath';
import { requireSystemDeps, SYSTEM_PYTHON } from './systemDeps';

// The extension's Train / Compare Variants on .py models, the parts without vscode: which files offer them,
// the variants priced from a measurement, and text data in the picker.

const root = resolve(__dirname, '../../..');

describe('extension: training .py models (no vscode)', function () {
  this.timeout(120_000);

  it('Train and Compare are offered on Python files that define a torch module', () => {
    for (const f of [pytorchFixture('nanogpt_model.py'), pytorchFixture('cifar_resnet.py'), join(root, 'test', 'fixtures', 'pytorch', 'small_cnn.py')]) assert.ok(looksLikePyModel(readFileSync(f, 'utf8')), f);
    assert.ok(looksLikePyModel('import torch\n\n    class Net(torch.nn.Module):\n        pass\n'));
    assert.ok(!looksLikePyModel('import torch\nclass Config:\n    n = 1\n# class Net(nn.Module):\n'.replace('# class', '#class')));
    assert.ok(!looksLikePyModel('x = "class Net(nn.Module):"\nclass Data(Dataset):\n    pass\n'));
  });

  it('Compare on nanoGPT: each variant priced over plain from the measurement, as the trainer rewrites it', async function () {
    requireSystemDeps(this, 'python3-torch');
    const file = pytorchFixture('nanogpt_model.py');
    const r = await traceSource(file, { explicit: SYSTEM_PYTHON, model: 'GPT(GPTConfig(n_layer=2, n_head=2, n_embd=64, block_size=32, vocab_size=256, dropout=0.0))', input: 'torch.randint(0, 256, (1, 32))' });
    assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
    const m = openPyModel(file, readFileSync(file, 'utf8'), r.trace);
    const { picks, left } = pyComparePicks(m, { ...DEFAULT_OPTIONS, rank: 8 });
    const by = new Map(picks.map((p) => [p.variant, p]));
    // Two residual lines (attention, MLP), each called in both blocks: 4 sites of D = 64.
    assert.equal(by.get('rw')!.spec, 'all=rw:r=8'); // as Keras Compare names plans (choiceSpec)
    assert.match(by.get('rw')!.description, /^\+8 \(0\.0067%\) params over plain on 2 residual lines \(4 calls\)$/);
    assert.equal(by.get('rw+lr')!.spec, 'all=rw+lr:r=8');
    assert.match(by.get('rw+lr')!.description, /^\+4,104 \(3\.46%\) params/);
    assert.match(by.get('lr')!.description, /^\+4,096 /);
    // Gemma: 2rD + D per site.
    assert.match(by.get('gemma')!.description, new RegExp(`^\\+${(4 * (2 * 8 * 64 + 64)).toLocaleString('en-US')} `));
    assert.deepEqual(picks.filter((p) => p.picked).map((p) => p.variant), ['rw', 'rw+lr']);
    // PA is offered only when the source edits can express it; otherwise it is named with the reason.
    for (const v of ['pa', 'rw+lr+pa'] as const) {
      if (by.has(v)) assert.match(by.get(v)!.description, /^\+[\d,]+ /);
      else assert.ok(left.some((l) => l.startsWith(`${v}: `) && /PA|previous activations/i.test(l)), left.join('\n'));
    }
  });

  it('the data picker offers .txt files as text data for a .py model, and Browse takes one', () => {
    const files = [{ path: '/w/corpus.txt', relative: 'corpus.txt' }, { path: '/w/t.csv', relative: 't.csv' }];
    const py = datasetPicks({ fashionMnist: false, files, limit: 500, text: true });
    assert.deepEqual(py.filter((p) => p.spec?.startsWith('text:')).map((p) => p.spec), ['text:/w/corpus.txt:limit=500']);
    assert.equal(datasetPicks({ fashionMnist: false, files, limit: 0 }).filter((p) => p.spec?.startsWith('text:')).length, 0);
    assert.deepEqual(specForFile('/w/a.TXT'), { spec: 'text:/w/a.TXT' });
    assert.deepEqual(specForFile('/w/a.bin'), { error: 'a.bin: not an IDX, CSV, .npy or .txt file' });
  });
});
