import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { openModel } from '../../src/core/model';
import type { OpenModel } from '../../src/core/model';
import type { EngineChoice, RunRecord, TrainConfig } from '../../src/protocol/runRecords';
import type { BatchEndEvent, EpochEndEvent } from '../../src/protocol/trainerProtocol';
import { selectBackend } from '../../src/trainer/backend';
import type { BackendChoice } from '../../src/protocol/backends';
import { loadDataset, parseDataSpec } from '../../src/trainer/data/loadDataset';
import { findTorchPython, NamedPythonError, PythonNotFoundError } from '../../src/trainer/pythonFinder';
import { resolveEngine } from '../../src/trainer/engineChoice';
import { pythonArgs, pythonEnv, pythonFailure } from '../../src/trainer/pythonHarness';
import { tfjsDataOrder, TORCH_STATE } from '../../src/trainer/pytorchEngine';
import { moduleClassName } from '../../src/trainer/pytorchScript';
import { planRun, taskOf } from '../../src/trainer/runSpec';
import { trainRun } from '../../src/trainer/train';
import type { TrainData } from '../../src/trainer/run';
import { requireSystemDeps } from './systemDeps';

// The PyTorch engine needs a Python with torch: Debian's python3-torch (npm test installs it as root). Without
// one these tests skip with the install command, and fail where LAUREL_REQUIRE_SYSTEM_DEPS=1 (CI).

const root = resolve(__dirname, '../../..');

/** model.pt in `out` loads into the ResnetMini module saved beside it (model.py), in a fresh Python. */
function assertStateDictLoads(out: string): void {
  const load = spawnSync(
    '/usr/bin/python3',
    ['-c', `import importlib.util,sys,torch\ns=importlib.util.spec_from_file_location('m',sys.argv[1]);mod=importlib.util.module_from_spec(s);s.loader.exec_module(mod)\nm=mod.ResnetMini();m.load_state_dict(torch.load(sys.argv[2]));print('ok')`, join(out, 'model.py'), join(out, TORCH_STATE)],
    { encoding: 'utf8' },
  );
  assert.equal(load.stdout.trim(), 'ok', load.stderr);
}
const example = (f: string): string => join(root, 'examples', f);

const config = (over: Partial<TrainConfig> = {}): TrainConfig => ({
  optimizer: 'adam',
  learningRate: 1e-3,
  batchSize: 8,
  epochs: 1,
  validationSplit: 0.1,
  seed: 42,
  engine: 'pytorch',
  ...over,
});

/** An env without LAUREL_PYTHON, so the finder's own order is what is tested. */
function envWithout(over: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...over };
  delete env['LAUREL_PYTHON'];
  return env;
}

describe('PyTorch engine', function () {
  this.timeout(300_000);
  let backend: BackendChoice;
  let m: OpenModel;
  let data: TrainData;
  let tmp: string;

  before(async function () {
    requireSystemDeps(this, 'python3-torch', 'python3-numpy');
    try {
      await findTorchPython();
    } catch (e) {
      if (e instanceof PythonNotFoundError) throw new Error(`the PyTorch engine tests need torch: ${e.message}`);
      throw e;
    }
    backend = await selectBackend('wasm');
    m = openModel(example('resnet-mini.json'), readFileSync(example('resnet-mini.json')));
    data = await loadDataset(parseDataSpec('synthetic:samples=64:classes=2'), taskOf(m));
    tmp = mkdtempSync(join(tmpdir(), 'laurel-torch-test-'));
  });
  after(function () {
    data?.x.dispose();
    data?.y.dispose();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  describe('finding Python', function () {
    it('skips a python3 without torch with the reason, then takes /usr/bin/python3', async function () {
      // A python3 first on PATH that cannot import torch (-S: no site-packages), as a pyenv python3 without torch.
      const bin = join(tmp, 'bin');
      rmSync(bin, { recursive: true, force: true });
      spawnSync('mkdir', ['-p', bin]);
      writeFileSync(join(bin, 'python3'), '#!/bin/sh\nexec /usr/bin/python3 -S "$@"\n');
      chmodSync(join(bin, 'python3'), 0o755);
      const found = await findTorchPython({ env: envWithout({ PATH: `${bin}${delimiter}${process.env['PATH']}` }) });
      assert.equal(found.python, '/usr/bin/python3');
      assert.equal(found.source, 'default');
      assert.deepEqual(found.skipped.map((s) => s.python), [join(bin, 'python3')]);
      assert.match(found.skipped[0]!.reason, /torch not importable/);
      assert.match(found.probe.torch, /^\d+\.\d+/);
    });

    it('on this machine: the first Python on the list that imports torch, saying why earlier ones were skipped', async function () {
      const found = await findTorchPython({ env: envWithout() });
      console.log(`      picked ${found.python} [${found.source}] torch ${found.probe.torch}; skipped ${found.skipped.map((s) => `${s.python}: ${s.reason}`).join('; ') || 'none'}`);
      assert.equal(found.python, '/usr/bin/python3');
      for (const s of found.skipped) assert.ok(s.reason.length > 0);
      const pathPython = spawnSync('sh', ['-c', 'command -v python3'], { encoding: 'utf8' }).stdout.trim();
      if (pathPython && pathPython !== '/usr/bin/python3' && spawnSync(pathPython, ['-c', 'import torch']).status !== 0) {
        assert.match(found.skipped.find((s) => s.python === pathPython)?.reason ?? '', /torch not importable/);
      }
    });

    it('a named --python or LAUREL_PYTHON that does not exist is an error, not a fall back; none at all says what to install', async function () {
      const missing = join(tmp, 'no-such-python');
      await assert.rejects(findTorchPython({ explicit: missing, env: envWithout() }), (e: unknown) => e instanceof NamedPythonError && e.message.includes(`${missing} (--python / laurel.pythonPath) cannot train: not found`));
      await assert.rejects(findTorchPython({ env: { ...envWithout(), LAUREL_PYTHON: missing } }), new RegExp(`the Python named by LAUREL_PYTHON=${missing} cannot train: not found`));
      // /usr/bin/python3 is always the last candidate, so the no-torch message is checked on the error itself.
      const none = new PythonNotFoundError([{ python: '/opt/py/bin/python3', source: 'PATH', reason: 'torch not importable (ModuleNotFoundError)' }]);
      assert.match(none.message, /no Python with torch found \(\/opt\/py\/bin\/python3 \[PATH\]: torch not importable.*install python3-torch/);
    });

    it("auto picks TF.js on a machine without a GPU and says why", async function () {
      const probe = await findTorchPython();
      const e: EngineChoice = await resolveEngine(config({ engine: 'auto' }), backend);
      if (probe.probe.cuda) assert.equal(e.name, 'pytorch');
      else {
        assert.equal(e.name, 'tfjs');
        assert.match(e.reason, /no GPU engine/);
        assert.match(e.reason, /sees no CUDA device/);
      }
    });
  });

  it('the data order is model.fit’s: a permutation per epoch, cumulative', function () {
    const order = tfjsDataOrder(42, 10, 2);
    for (const e of [0, 1]) assert.deepEqual([...order.slice(e * 10, e * 10 + 10)].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.notDeepEqual([...order.slice(0, 10)], [...order.slice(10)]);
  });

  it('trains resnet-mini with rw+lr:r=4 for an epoch: finite, falling loss, events, a run record and model.pt', async function () {
    const batches: BatchEndEvent[] = [];
    const epochs: EpochEndEvent[] = [];
    const out = join(tmp, 'run');
    // A higher rate than the default so that 8 small steps show the loss falling.
    const { record } = await trainRun(planRun(m, 'rw+lr:r=4'), data, config({ learningRate: 1e-2 }), {
      backend,
      outDir: out,
      throttleMs: 0,
      sink: { batchEnd: (e) => batches.push(e), epochEnd: (e) => epochs.push(e) },
    });
    assert.equal(record.status, 'completed', record.message);
    assert.equal(record.engine?.name, 'pytorch');
    assert.equal(record.engine?.python, '/usr/bin/python3');
    assert.match(record.engine?.torch ?? '', /^\d/);
    assert.equal(record.engine?.device, 'cpu');
    assert.equal(record.steps, 8); // 57 training samples in batches of 8
    assert.equal(batches.length, 8);
    assert.ok(batches.every((b) => Number.isFinite(b.loss) && b.run === 'rw+lr:r=4'));
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    const losses = batches.map((b) => b.loss);
    console.log(`      batch losses ${losses.map((l) => l.toFixed(3)).join(' ')}; ${record.samplesPerSec?.toFixed(1)} samples/s, ${record.stepMs?.toFixed(1)} ms/step`);
    assert.ok(mean(losses.slice(-3)) < mean(losses.slice(0, 3)), `loss should fall: ${losses.join(', ')}`);
    assert.equal(epochs.length, 1);
    assert.equal(epochs[0]!.engine, 'pytorch cpu');
    assert.deepEqual([epochs[0]!.trainSamples, epochs[0]!.valSamples], [record.dataset.trainSamples, record.dataset.valSamples]);
    assert.equal(epochs[0]!.trainSamples, 57);
    assert.ok(Number.isFinite(epochs[0]!.valLoss));
    assert.ok(record.samplesPerSec! > 0 && record.peakBytes > 0);
    assert.equal(record.params.added, 776);
    assert.ok(existsSync(join(out, TORCH_STATE)));
    assert.ok(existsSync(join(out, 'model.py')));
    const saved = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as RunRecord;
    assert.equal(saved.saved?.torchState, join(out, TORCH_STATE));
    assert.equal(saved.engine?.name, 'pytorch');
    // The state_dict loads into the saved module.
    assertStateDictLoads(out);
  });

  it('with --torch-init tfjs, starts where TF.js starts: the same first-step loss (same initial weights and data order)', async function () {
    const c = config({ maxSteps: 1, validationSplit: 0, torchInit: 'tfjs' });
    const torchRun = await trainRun(planRun(m, 'rw+lr:r=4'), data, c, { backend });
    const tfjsRun = await trainRun(planRun(m, 'rw+lr:r=4'), data, { ...c, engine: 'tfjs' }, { backend });
    const [a, b] = [torchRun.record.epochs[0]!.loss, tfjsRun.record.epochs[0]!.loss];
    console.log(`      first-step loss: pytorch ${a.toFixed(6)}, tfjs ${b.toFixed(6)}`);
    assert.ok(Math.abs(a - b) < 1e-4 * Math.max(1, Math.abs(b)), `${a} vs ${b}`);
  });

  it('by default starts from the Keras initializers in the file, without building TF.js; untouched layers start alike in every plan', async function () {
    const logs: string[] = [];
    const runs = [];
    for (const plan of ['plain', 'rw+lr:r=4']) {
      const spec = planRun(m, plan);
      spec.build = () => {
        throw new Error('the PyTorch engine built the TF.js model');
      };
      const { record } = await trainRun(spec, data, config({ maxSteps: 1, validationSplit: 0 }), { backend, sink: { log: (e) => logs.push(e.message) } });
      assert.equal(record.status, 'completed', record.message);
      assert.ok(Number.isFinite(record.final.loss));
      runs.push(record);
    }
    assert.ok(logs.some((l) => /initial weights from the Keras initializers in the file/.test(l)), logs.join('\n'));
    assert.equal(runs[1]!.params.added, 776);
    // rw+lr starts as plain (its B is zero, its softmax weights 1/2 each: 0.5 f + 0.5 x, not f + x), so compare through
    // Python directly: every weight the plan does not add is drawn identically in both modules.
    const script = join(tmp, 'same_start.py');
    const mods = ['plain', 'rw+lr:r=4'].map((plan, i) => {
      const file = join(tmp, `start_${i}.py`);
      writeFileSync(file, planRun(m, plan).pytorch!().code);
      return file;
    });
    writeFileSync(
      script,
      [
        'import importlib.util, json, math, sys, torch',
        'def load(p):',
        '    s = importlib.util.spec_from_file_location("m%d" % hash(p), p); mod = importlib.util.module_from_spec(s); s.loader.exec_module(mod); return mod',
        'a, b = load(sys.argv[1]), load(sys.argv[2])',
        'ma, mb = a.ResnetMini(), b.ResnetMini()',
        'sa, sb = a.keras_initialize(ma, 42), b.keras_initialize(mb, 42)',
        'pa, pb = dict(ma.named_parameters()), dict(mb.named_parameters())',
        'same = [n for n in pa if n in pb and torch.equal(pa[n], pb[n])]',
        // resnet-mini's convs are he_normal: stddev sqrt(2 / fan_in) with Keras's fan_in = kh kw in (torch weight [out, in, kh, kw]),
        // truncated at two (corrected) standard deviations.
        'convs = [p for n, p in pa.items() if p.dim() == 4]',
        'std = [math.sqrt(2 / (p.shape[1] * p.shape[2] * p.shape[3])) for p in convs]',
        'cut = max(float(p.abs().max()) / (2 * s / 0.87962566103423978) for p, s in zip(convs, std))',
        'spread = math.sqrt(sum(float((p / s).square().sum()) for p, s in zip(convs, std)) / sum(p.numel() for p in convs))',
        'print(json.dumps({"set": len(sa), "shared": len([n for n in pa if n in pb]), "same": len(same), "cut": cut, "spread": spread}))',
      ].join('\n'),
    );
    const r = spawnSync('/usr/bin/python3', [script, ...mods], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { set: number; shared: number; same: number; cut: number; spread: number };
    assert.ok(j.set > 0);
    assert.ok(j.cut <= 1 && Math.abs(j.spread - 1) < 0.1, JSON.stringify(j));
    assert.equal(j.same, j.shared, `${j.same} of ${j.shared} shared weights start alike`);
  });

  it('cancel stops after the batch in progress and still saves model.pt', async function () {
    const controller = new AbortController();
    const out = join(tmp, 'cancelled');
    const t0 = Date.now();
    const { record } = await trainRun(planRun(m, 'rw+lr:r=4'), data, config({ epochs: 50 }), {
      backend,
      outDir: out,
      throttleMs: 0,
      signal: controller.signal,
      sink: { batchEnd: (e) => e.step >= 2 && controller.abort() },
    });
    assert.equal(record.status, 'cancelled');
    assert.match(record.message ?? '', /cancelled after \d+ step/);
    assert.ok(record.steps >= 2 && record.steps < 50 * 8, `steps ${record.steps}`);
    assert.ok(Date.now() - t0 < 60_000);
    assert.ok(existsSync(join(out, TORCH_STATE)));
  });

  it('a NaN loss stops the run with a message and saves no weights', async function () {
    const values = data.x.dataSync().slice();
    values[5] = NaN;
    const bad: TrainData = { ...data, x: tf.tensor(values, data.x.shape) };
    const out = join(tmp, 'nan');
    try {
      const { record } = await trainRun(planRun(m, 'plain'), bad, config({ epochs: 3 }), { backend, outDir: out });
      assert.equal(record.status, 'diverged');
      assert.match(record.message ?? '', /loss became NaN at epoch 1, batch \d+ of 8 \(step \d+\); training stopped: the data contain NaN or Inf values/);
      assert.ok(!existsSync(join(out, TORCH_STATE)));
      assert.ok(existsSync(join(out, 'run.json')));
    } finally {
      bad.x.dispose();
    }
  });

  it('a Python error rejects with its message', async function () {
    const spec = planRun(m, 'plain');
    spec.pytorch = () => ({ code: 'import torch\nimport torch.nn as nn\n\n\nclass Broken(nn.Module):\n    def __init__(self):\n        raise ValueError("broken on purpose")\n', unsupported: [] });
    await assert.rejects(trainRun(spec, data, config(), { backend }), /PyTorch training failed .*exited with code 1\): ValueError: broken on purpose/);
  });

  it('trains over 2 processes with torchrun (gloo on the CPU): one event stream, the global loss, rank 0 saves', async function () {
    const epochs: EpochEndEvent[] = [];
    const batches: BatchEndEvent[] = [];
    const out = join(tmp, 'ddp');
    const t0 = Date.now();
    const { record } = await trainRun(planRun(m, 'rw'), data, config({ processes: 2 }), {
      backend,
      outDir: out,
      throttleMs: 0,
      sink: { batchEnd: (e) => batches.push(e), epochEnd: (e) => epochs.push(e) },
    });
    console.log(`      2 processes: ${((Date.now() - t0) / 1000).toFixed(1)} s, loss ${record.final.loss}`);
    assert.equal(record.status, 'completed', record.message);
    assert.equal(epochs.length, 1); // rank 0 only: not one per rank
    assert.equal(batches.length, 8);
    assert.deepEqual(record.curve, { steps: batches.map((b) => b.step), loss: batches.map((b) => b.loss), acc: batches.map((b) => b.acc ?? null) }); // rank 0's stream, kept for the panel
    assert.equal(record.steps, 8); // 57 samples in global batches of 8 (4 per rank; the last one split 1 + 0)
    assert.equal(record.epochs[0]!.samples, 57);
    assert.ok(Number.isFinite(record.final.loss) && Number.isFinite(record.final.valLoss));
    assert.equal(record.engine?.processes, 2);
    assert.equal(record.engine?.distBackend, 'gloo');
    const saved = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as RunRecord;
    assert.equal(saved.engine?.processes, 2);
    assert.equal(saved.config.processes, 2);
    // A bare state_dict (no DDP "module." prefix) that loads into the saved module.
    assertStateDictLoads(out);
  });

  it('cancel reaches every torchrun rank: they stop after the batch in progress and rank 0 saves', async function () {
    const controller = new AbortController();
    const out = join(tmp, 'ddp-cancelled');
    const { record } = await trainRun(planRun(m, 'rw'), data, config({ epochs: 50, processes: 2 }), {
      backend,
      outDir: out,
      throttleMs: 0,
      signal: controller.signal,
      sink: { batchEnd: (e) => e.step >= 2 && controller.abort() },
    });
    assert.equal(record.status, 'cancelled');
    assert.match(record.message ?? '', /cancelled after \d+ step/); // stopped, not killed
    assert.ok(record.steps >= 2 && record.steps < 50 * 8, `steps ${record.steps}`);
    assert.ok(existsSync(join(out, TORCH_STATE)));
  });

  it('a rank that fails under torchrun ends the run at once with its own error', async function () {
    // The real module, whose rank 1 fails while it is built: rank 0 goes on into DDP's first collective and waits there.
    const spec = planRun(m, 'plain');
    const real = spec.pytorch!();
    const cls = moduleClassName(real.code);
    const inject = `\n\nimport os as _os_test\n_init = ${cls}.__init__\n\n\ndef _broken_init(self):\n    if _os_test.environ.get("RANK") == "1":\n        raise ValueError("rank one broke")\n    _init(self)\n\n\n${cls}.__init__ = _broken_init\n`;
    spec.pytorch = () => ({ ...real, code: real.code + inject });
    const t0 = Date.now();
    await assert.rejects(trainRun(spec, data, config({ processes: 2 }), { backend }), /PyTorch training failed .*exited with code 1\): rank 1 of 2: ValueError: rank one broke\nTraceback[^]*raise ValueError\("rank one broke"\)\nValueError: rank one broke$/);
    assert.ok(Date.now() - t0 < 30000, `took ${Date.now() - t0} ms`); // rank 0 waits in a collective: torchrun must end it
  });

  it("a failing rank's traceback leaves out torchrun's own log lines, wherever they fall among its lines", () => {
    const stderr = [
      'LAUREL_ERROR {"rank": 1, "time": 2.5, "error": "ValueError: rank one broke"}',
      'Traceback (most recent call last):',
      '  File "train.py", line 6, in <module>',
      'WARNING:torch.distributed.elastic.multiprocessing.api:Sending process 13848 closing signal SIGTERM',
      '    raise ValueError("rank one broke")',
      'ValueError: rank one broke',
      'ERROR:torch.distributed.elastic.multiprocessing.api:failed (exitcode: 1) local_rank: 1',
    ];
    assert.deepEqual(pythonFailure(stderr, 2), {
      why: 'rank 1 of 2: ValueError: rank one broke',
      detail: ['Traceback (most recent call last):', '  File "train.py", line 6, in <module>', '    raise ValueError("rank one broke")', 'ValueError: rank one broke'].join('\n'),
    });
  });

  it('runs the ranks on 127.0.0.1 through a static rendezvous, whatever the hostname', function () {
    const args = pythonArgs('train.py', 'config.json', 2, 41234);
    assert.equal(args[0], '-c');
    assert.ok(args.includes('--rdzv_backend=static') && args.includes('--master_addr=127.0.0.1') && args.includes('--master_port=41234'), args.join(' '));
    assert.ok(args.includes('--nproc_per_node=2'));
    assert.deepEqual(args.slice(-2), ['train.py', 'config.json']);
    assert.deepEqual(pythonArgs('train.py', 'config.json', 1, 0), ['train.py', 'config.json']);
    // This test's own proof that the hostname is not needed: under `unshare --uts` with an unknown hostname the
    // torchrun test above passes (it hung 30 minutes with the c10d rendezvous).
    const env = pythonEnv({ PATH: '/bin' }, 4, 16, 'linux');
    assert.equal(env['GLOO_SOCKET_IFNAME'], 'lo');
    assert.equal(env['OMP_NUM_THREADS'], '4');
    assert.equal(env['PYTHONUNBUFFERED'], '1');
    assert.equal(pythonEnv({}, 2, 16, 'darwin')['GLOO_SOCKET_IFNAME'], 'lo0');
    assert.equal(pythonEnv({}, 3, 2, 'linux')['OMP_NUM_THREADS'], '1');
    const mine = pythonEnv({ GLOO_SOCKET_IFNAME: 'eth1', OMP_NUM_THREADS: '7' }, 2, 16, 'linux');
    assert.equal(mine['GLOO_SOCKET_IFNAME'], 'eth1');
    assert.equal(mine['OMP_NUM_THREADS'], '7');
    assert.deepEqual(pythonEnv({ PATH: '/bin' }, 1), { PATH: '/bin', PYTHONUNBUFFERED: '1' });
  });

  it('refuses a batch size the processes cannot split', async function () {
    await assert.rejects(trainRun(planRun(m, 'rw'), data, config({ processes: 2, batchSize: 7 }), { backend }), /batch size 7 cannot be split over 2 processes: use a batch size divisible by 2/);
  });

  it("`laurel compare --engine pytorch` prints the comparison table", function () {
    const build = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: root, encoding: 'utf8' });
    assert.equal(build.status, 0, build.stderr);
    const out = join(tmp, 'cli');
    const r = spawnSync(
      process.execPath,
      [join(root, 'bin', 'laurel.js'), 'compare', 'examples/resnet-mini.json', '--engine', 'pytorch', '--plans', 'plain;rw', '--data', 'synthetic:samples=64', '--epochs', '1', '--out', out],
      { cwd: root, encoding: 'utf8', env: envWithout() },
    );
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /engine pytorch: \/usr\/bin\/python3/);
    assert.match(r.stdout, /run\s+params\s+added\s+MACs\/ex\s+loss/);
    assert.match(r.stdout, /^plain\s+\d/m);
    assert.match(r.stdout, /^rw\s+\d/m);
    assert.match(r.stdout, /engine pytorch \S+ on the CPU/);
    const c = JSON.parse(readFileSync(join(out, 'comparison.json'), 'utf8')) as { engine?: EngineChoice; runs: RunRecord[] };
    assert.equal(c.engine?.name, 'pytorch');
    assert.ok(c.runs.every((run) => run.engine?.name === 'pytorch' && existsSync(run.saved!.torchState!)));
  });
});
