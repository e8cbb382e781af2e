import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { openModel } from '../../src/core/model';
import type { OpenModel } from '../../src/core/model';
import type { TrainConfig } from '../../src/protocol/runRecords';
import type { BatchEndEvent } from '../../src/protocol/trainerProtocol';
import { selectBackend } from '../../src/trainer/backend';
import type { BackendChoice } from '../../src/protocol/backends';
import { compareRuns } from '../../src/trainer/compare';
import { loadDataset, parseDataSpec } from '../../src/trainer/data/loadDataset';
import { resolveEngine } from '../../src/trainer/engineChoice';
import { planRun, taskOf } from '../../src/trainer/runSpec';
import type { TrainData } from '../../src/trainer/run';
import { fixturePath } from './fixturePath';
import { requireSystemDeps } from './systemDeps';

// The Keras 3 transformer encoder (MultiHeadAttention, LayerNormalization, ops-level adds) is what LAuReL is for:
// TF.js cannot build it, so `--engine auto` must take PyTorch and say why, and a Compare of plain against RW+LR on
// its residuals must train there.

const FILE = 'keras3-transformer-encoder-opsAdd-dotkeras-config.json';

const config = (over: Partial<TrainConfig> = {}): TrainConfig => ({ optimizer: 'adam', learningRate: 1e-3, batchSize: 8, epochs: 1, validationSplit: 0.25, seed: 7, engine: 'auto', ...over });

describe('the Keras 3 transformer encoder on the PyTorch engine', function () {
  this.timeout(300_000);
  let backend: BackendChoice;
  let m: OpenModel;
  let data: TrainData;

  before(async function () {
    requireSystemDeps(this, 'python3-torch', 'python3-numpy');
    backend = await selectBackend('wasm');
    m = openModel(FILE, readFileSync(fixturePath(FILE)));
    data = await loadDataset(parseDataSpec('synthetic:samples=32'), taskOf(m));
  });
  after(() => {
    data?.x.dispose();
    data?.y.dispose();
  });

  it('auto takes PyTorch because TF.js lacks MultiHeadAttention, and says so; a model both build stays on TF.js on the CPU', async () => {
    const e = await resolveEngine(config(), backend, [planRun(m, 'all=rw+lr:r=4')]);
    assert.equal(e.name, 'pytorch');
    assert.match(e.reason, /^auto: TF\.js cannot build this model \(layer 'multi_head_attention' is MultiHeadAttention, which TensorFlow\.js does not provide.*\), so PyTorch$/);
    const mini = openModel('resnet-mini.json', readFileSync(`${__dirname}/../../../examples/resnet-mini.json`));
    const plain = await resolveEngine(config(), backend, [planRun(mini, 'rw')]);
    if (!plain.device || plain.device === 'cpu') assert.equal(plain.name, 'tfjs');
  });

  it('Compare plain vs RW+LR on its residuals trains through PyTorch: finite curves for both, the plan’s exact added parameters', async () => {
    const batches: BatchEndEvent[] = [];
    const logs: string[] = [];
    const cmp = await compareRuns([planRun(m, 'all=plain'), planRun(m, 'all=rw+lr:r=4')], data, config({ epochs: 2 }), {
      backend,
      throttleMs: 0,
      sink: { batchEnd: (b) => batches.push(b), log: (l) => logs.push(l.message) },
    });
    assert.equal(cmp.engine?.name, 'pytorch');
    assert.ok(logs.some((l) => /engine pytorch: .*auto: TF\.js cannot build this model/.test(l)), logs.join('\n'));
    assert.equal(cmp.runs.length, 2);
    for (const r of cmp.runs) {
      assert.equal(r.status, 'completed', r.message);
      assert.equal(r.steps, 6); // 24 training samples in batches of 8, two epochs
      assert.ok(r.curve!.loss.every(Number.isFinite), JSON.stringify(r.curve));
      assert.ok(Number.isFinite(r.final.valLoss));
    }
    const added = cmp.runs[1]!.params.added;
    assert.equal(added, m.sites.length * (2 + 2 * 4 * 128)); // softmax logits + A, B at D = 128, r = 4 on each residual
    assert.equal(cmp.runs[1]!.params.total, m.params.total + added);
    assert.deepEqual([...new Set(batches.map((b) => b.run))], ['all=plain', 'all=rw+lr:r=4']);
    console.log(`      final loss plain ${cmp.runs[0]!.final.loss?.toFixed(4)}, rw+lr ${cmp.runs[1]!.final.loss?.toFixed(4)}; ${cmp.runs[1]!.stepMs?.toFixed(1)} ms/step`);
  });
});
