import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { openModel } from '../../src/core/model';
import type { OpenModel } from '../../src/core/model';
import type { TrainConfig } from '../../src/protocol/runRecords';
import { selectBackend } from '../../src/trainer/backend';
import type { BackendChoice } from '../../src/protocol/backends';
import { loadDataset, parseDataSpec } from '../../src/trainer/data/loadDataset';
import { decayKind, lrAt, optimizerText, totalSteps } from '../../src/trainer/optimizerOptions';
import { moduleClassName, writeTrainLoop } from '../../src/trainer/pytorchScript';
import { decayedVariables, ResearchOptimizer } from '../../src/trainer/researchOptimizer';
import { planRun, taskOf } from '../../src/trainer/runSpec';
import { trainRun } from '../../src/trainer/train';
import type { TrainData } from '../../src/trainer/run';
import { requireSystemDeps, SYSTEM_PYTHON } from './systemDeps';

const root = resolve(__dirname, '../../..');
const example = (f: string): string => join(root, 'examples', f);
const base: TrainConfig = { optimizer: 'adam', learningRate: 0.1, batchSize: 8, epochs: 1, validationSplit: 0, seed: 7 };
const cosine: TrainConfig = { ...base, lrSchedule: 'cosine', warmupSteps: 3 };

/** Runs Python with the training loop's optimiser module importable as `lt` (the loop's files as a run folder holds them; heartbeat lines are skipped); returns the JSON after 'RESULT '. */
function python(dir: string, script: string, args: string[] = []): unknown {
  writeTrainLoop(dir);
  const r = spawnSync(SYSTEM_PYTHON, ['-c', `import sys, json\nsys.path.insert(0, ${JSON.stringify(dir)})\nimport laurel_train\nimport laurel_train_optim as lt\n${script}`, ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`python failed (${r.status}):\n${r.stderr}`);
  return JSON.parse(line.slice('RESULT '.length));
}

describe('optimiser options', function () {
  this.timeout(300_000);
  let tmp: string;
  before(function () {
    tmp = mkdtempSync(join(tmpdir(), 'laurel-opt-'));
  });
  after(function () {
    rmSync(tmp, { recursive: true, force: true });
  });

  it('cosine with warm-up: linear to lr over W steps, half a cosine to 0 after; constant leaves lr alone', function () {
    [0.1 / 3, 0.2 / 3, 0.1].forEach((lr, s) => assert.ok(Math.abs(lrAt(cosine, s, 13) - lr) < 1e-15, `warm-up step ${s}`));
    assert.ok(Math.abs(lrAt(cosine, 8, 13) - 0.05) < 1e-12, 'half-way through the decay: lr/2');
    assert.ok(lrAt(cosine, 12, 13) < 0.003 && lrAt(cosine, 12, 13) > 0, 'the last step is near 0, not 0');
    assert.equal(lrAt(base, 12, 13), 0.1);
    assert.equal(totalSteps({ ...base, epochs: 3 }, 20), 9);
    assert.equal(totalSteps({ ...base, epochs: 3, maxSteps: 5 }, 20), 5);
    assert.equal(optimizerText({ ...cosine, optimizer: 'adamw', clipNorm: 1 }), 'adamw lr 0.1 (cosine to 0, 3 warm-up steps), weight decay 0.01 (not on bias, norm, laurel), gradients clipped to global norm 1');
  });

  it('TF.js: each step uses the schedule’s rate (SGD on a constant gradient moves by exactly lrAt(step))', function () {
    const v = tf.variable(tf.zeros([1]), true, 'opt_test_v');
    const opt = new ResearchOptimizer({ ...cosine, optimizer: 'sgd' }, 13);
    const moves: number[] = [];
    for (let s = 0; s < 13; s++) {
      const before = v.dataSync()[0]!;
      opt.applyGradients({ opt_test_v: tf.ones([1]) });
      moves.push(before - v.dataSync()[0]!);
    }
    moves.forEach((m, s) => assert.ok(Math.abs(m - lrAt(cosine, s, 13)) < 1e-7, `step ${s}: moved ${m}, lr ${lrAt(cosine, s, 13)}`));
    opt.dispose();
    v.dispose();
  });

  it('TF.js: gradients are clipped to the global norm (torch’s max/(norm + 1e-6)), and left alone below it', function () {
    const a = tf.variable(tf.zeros([2]), true, 'clip_a');
    const b = tf.variable(tf.zeros([1]), true, 'clip_b');
    const opt = new ResearchOptimizer({ ...base, optimizer: 'sgd', learningRate: 1, clipNorm: 2 }, 10);
    opt.applyGradients({ clip_a: tf.tensor1d([3, 4]), clip_b: tf.tensor1d([12]) }); // global norm 13
    assert.ok(Math.abs(opt.lastNorm! - 13) < 1e-5);
    const moved = Math.hypot(...a.dataSync(), ...b.dataSync());
    assert.ok(Math.abs(moved - (2 * 13) / (13 + 1e-6)) < 1e-5, `moved ${moved}`);
    assert.ok(Math.abs(a.dataSync()[0]! + (3 * 2) / 13) < 1e-6, 'each gradient scaled alike');
    opt.applyGradients({ clip_a: tf.tensor1d([0.3, 0.4]), clip_b: tf.tensor1d([0]) }); // norm 0.5 < 2: unclipped
    assert.ok(Math.abs(a.dataSync()[1]! - (-(4 * 2) / 13 - 0.4)) < 1e-6);
    opt.dispose();
    a.dispose();
    b.dispose();
  });

  it('TF.js: AdamW decays kernels by lr·wd before the Adam step, and not the excluded weights', function () {
    const k = tf.variable(tf.fill([1], 2), true, 'wd_kernel');
    const g = tf.variable(tf.fill([1], 2), true, 'wd_gamma');
    const opt = new ResearchOptimizer({ ...base, optimizer: 'adamw', weightDecay: 0.5 }, 10, new Set(['wd_kernel']));
    opt.applyGradients({ wd_kernel: tf.zeros([1]), wd_gamma: tf.zeros([1]) }); // a zero gradient: Adam moves nothing
    assert.ok(Math.abs(k.dataSync()[0]! - 2 * (1 - 0.1 * 0.5)) < 1e-6, `kernel ${k.dataSync()[0]}`);
    assert.equal(g.dataSync()[0], 2);
    opt.dispose();
    k.dispose();
    g.dispose();
  });

  it('which weights decay: kernels and LAuReL’s A/B yes; biases, norm weights and LAuReL’s scalars no', function () {
    assert.equal(decayKind('Conv2D', 'kernel'), null);
    assert.equal(decayKind('Conv2D', 'bias'), 'bias');
    assert.equal(decayKind('BatchNormalization', 'gamma'), 'norm');
    assert.equal(decayKind('LayerNormTF', 'weight'), 'norm');
    assert.equal(decayKind('LaurelResidual', 'rw_logits'), 'laurel');
    assert.equal(decayKind('LaurelResidual', 'pa_gamma'), 'laurel');
    assert.equal(decayKind('LaurelResidual', 'lr_down'), null);
    assert.equal(decayKind('LaurelResidual', 'gemma_norm_scale'), 'norm');
  });

  describe('both engines (resnet-mini, rw+lr)', function () {
    let backend: BackendChoice;
    let m: OpenModel;
    let data: TrainData;
    before(async function () {
      requireSystemDeps(this, 'python3-torch', 'python3-numpy');
      backend = await selectBackend('wasm');
      m = openModel(example('resnet-mini.json'), readFileSync(example('resnet-mini.json')));
      data = await loadDataset(parseDataSpec('synthetic:samples=64:classes=2'), taskOf(m));
    });
    after(function () {
      data?.x.dispose();
      data?.y.dispose();
    });

    it('the same schedule (Python’s lr_at) and the same decayed weights (Python’s AdamW groups)', async function () {
      const steps = Array.from({ length: 13 }, (_, s) => s);
      const py = python(tmp, `print("RESULT " + json.dumps([lt.lr_at(json.loads(sys.argv[1]), s, 13) for s in range(13)]))`, [JSON.stringify(cosine)]) as number[];
      steps.forEach((s) => assert.ok(Math.abs(py[s]! - lrAt(cosine, s, 13)) < 1e-15, `step ${s}`));

      const spec = planRun(m, 'rw+lr:r=4');
      const exp = spec.pytorch!();
      writeFileSync(join(tmp, 'exported.py'), exp.code);
      const cfg: TrainConfig = { ...base, optimizer: 'adamw' };
      const groups = python(
        tmp,
        `import importlib.util\ns = importlib.util.spec_from_file_location("exported", sys.argv[1]); ex = importlib.util.module_from_spec(s); s.loader.exec_module(ex)\n` +
          `g = lt.param_groups(getattr(ex, ${JSON.stringify(moduleClassName(exp.code))})(), {})\nprint("RESULT " + json.dumps([sum(p.numel() for p in x["params"]) for x in g]))`,
        [join(tmp, 'exported.py')],
      ) as [number, number];
      const model = await spec.build();
      try {
        const decayed = decayedVariables(model, cfg);
        const size = (all: boolean): number => model.trainableWeights.filter((w) => all || decayed.has(w.name)).reduce((s, w) => s + w.shape.reduce<number>((a, b) => a * (b ?? 1), 1), 0);
        assert.deepEqual(groups, [size(false), size(true) - size(false)]);
        assert.ok(groups[1] > 0 && groups[0] > groups[1]);
        // The LAuReL scalars and every BatchNorm weight are in the undecayed group.
        const names = model.trainableWeights.filter((w) => !decayed.has(w.name)).map((w) => w.originalName);
        assert.ok(names.some((n) => n.endsWith('rw_logits')) && names.some((n) => n.endsWith('gamma')) && names.some((n) => n.endsWith('bias')));
        assert.ok(!names.some((n) => n.endsWith('lr_down') || n.endsWith('kernel')));
      } finally {
        model.dispose();
      }
    });

    it('train alike: AdamW + cosine + clipping give the same losses and rates in TF.js and PyTorch (same start), unlike plain Adam', async function () {
      const c: TrainConfig = { ...base, learningRate: 0.01, epochs: 2, torchInit: 'tfjs', optimizer: 'adamw', weightDecay: 0.1, lrSchedule: 'cosine', warmupSteps: 2, clipNorm: 0.5 };
      const run = async (cfg: TrainConfig): Promise<number[][]> => {
        const { record } = await trainRun(planRun(m, 'rw+lr:r=4'), data, cfg, { backend });
        return [record.epochs.map((e) => e.loss), record.epochs.map((e) => e.lr!)];
      };
      const [torchLoss, torchLr] = await run({ ...c, engine: 'pytorch' });
      const [tfjsLoss, tfjsLr] = await run({ ...c, engine: 'tfjs' });
      const [plainLoss] = await run({ ...base, learningRate: 0.01, epochs: 2, engine: 'tfjs' });
      console.log(`      epoch losses: pytorch ${torchLoss!.map((l) => l.toFixed(5))}, tfjs ${tfjsLoss!.map((l) => l.toFixed(5))}, tfjs plain adam ${plainLoss!.map((l) => l.toFixed(5))}`);
      // 8 steps an epoch: the rate after each epoch's last step (0-based steps 7 and 15 of 16).
      for (const lrs of [torchLr!, tfjsLr!]) assert.deepEqual(lrs.map((l) => l.toFixed(12)), [lrAt(c, 7, 16), lrAt(c, 15, 16)].map((l) => l.toFixed(12)));
      const gap = Math.abs(torchLoss![1]! - tfjsLoss![1]!);
      assert.ok(gap < 2e-3, `second-epoch loss: pytorch ${torchLoss![1]} vs tfjs ${tfjsLoss![1]}`);
      assert.ok(Math.abs(plainLoss![1]! - tfjsLoss![1]!) > 5 * gap, 'the options change the training by more than the engines differ');
    });
  });
});
