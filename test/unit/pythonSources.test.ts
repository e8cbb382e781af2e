import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PRELUDE, PRELUDE_FILES, PRELUDE_NAMES } from '../../src/core/export/pytorch/prelude';
import laurelResidual from '../../src/python/laurel_residual.py';
import { openModel } from '../../src/core/model';
import { TRAIN_LOOP_FILES, writePySourceFolder, writeTrainingFolder } from '../../src/trainer/pytorchScript';
import { TRACER_FILES, TRACER_SOURCE } from '../../src/trainer/pyTracerSource';
import { planRun } from '../../src/trainer/runSpec';
import { pytorchFixture } from './fixturePath';

// The Python of src/python/ is the one copy that exports, the PyTorch engine and users' folders run: Python itself
// checks every file here (compile), and runs the parts that must work on their own.

const PYTHON = process.env['LAUREL_PYTHON'] ?? '/usr/bin/python3';
const root = resolve(__dirname, '../../..');
const pythonDir = join(root, 'src', 'python');

function python(code: string, args: string[] = [], cwd?: string): string {
  const r = spawnSync(PYTHON, ['-c', code, ...args], { encoding: 'utf8', cwd, maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`python failed:\n${r.stderr}`);
  return r.stdout.trim();
}

describe('Python sources (src/python)', function () {
  this.timeout(120_000);
  let work = '';
  before(() => {
    work = mkdtempSync(join(tmpdir(), 'laurel-pysrc-'));
  });
  after(() => work && rmSync(work, { recursive: true, force: true }));

  it('every .py file compiles', () => {
    const files = readdirSync(pythonDir).filter((f) => f.endsWith('.py'));
    assert.ok(files.length >= 5, files.join(', '));
    // The byte code goes to the temp folder, not beside the sources.
    const out = python('import os, py_compile, sys\nfor f in sys.argv[2:]:\n    py_compile.compile(f, cfile=os.path.join(sys.argv[1], os.path.basename(f) + "c"), doraise=True)\nprint(len(sys.argv) - 2)', [work, ...files.map((f) => join(pythonDir, f))]);
    assert.equal(out, String(files.length));
  });

  it('a run folder holds every module its files import (besides the standard library, torch and numpy), and the loop imports', () => {
    const loopFiles = readdirSync(pythonDir).filter((f) => /^laurel_train.*\.py$/.test(f));
    assert.deepEqual(TRAIN_LOOP_FILES.map(([n]) => n).sort(), loopFiles.sort(), 'every laurel_train*.py is written into a run folder');
    for (const [name, text] of TRAIN_LOOP_FILES) assert.equal(text, readFileSync(join(pythonDir, name), 'utf8'), name);
    const exported = join(work, 'run-export');
    const pySource = join(work, 'run-pysource');
    mkdirSync(exported);
    mkdirSync(pySource);
    const m = openModel(join(root, 'examples', 'resnet-mini.json'), readFileSync(join(root, 'examples', 'resnet-mini.json')));
    writeTrainingFolder(exported, planRun(m, 'rw+lr:r=4').pytorch!());
    writePySourceFolder(pySource, 'net.py', 'import torch\n\nclass Net(torch.nn.Module):\n    pass\n');
    // Every import of every .py file in the folder (ast, not a regular expression), resolved against the folder's
    // own modules: nothing may come from src/python or the working folder.
    const unresolved = python(
      [
        'import ast, json, os, sys',
        'out = {}',
        'for folder in sys.argv[1:]:',
        '    files = [os.path.join(d, f) for d, _, fs in os.walk(folder) for f in fs if f.endswith(".py")]',
        '    own = {os.path.basename(f)[:-3] for f in files}',
        '    for f in files:',
        '        for n in ast.walk(ast.parse(open(f).read())):',
        '            names = [a.name for a in n.names] if isinstance(n, ast.Import) else [n.module] if isinstance(n, ast.ImportFrom) and n.level == 0 else []',
        '            for top in (x.split(".")[0] for x in names):',
        '                if top not in own and top not in sys.stdlib_module_names and top not in ("torch", "numpy"):',
        '                    out.setdefault(os.path.relpath(f, folder), []).append(top)',
        'print(json.dumps(out))',
      ].join('\n'),
      [exported, pySource],
    );
    assert.deepEqual(JSON.parse(unresolved), {});
    assert.ok(existsSync(join(exported, 'laurel_train_steps.py')) && existsSync(join(pySource, 'laurel_train_steps.py')));
    // The loop's modules import from the run folder alone (cwd elsewhere, the folder first on sys.path, as the launcher runs).
    const names = python('import sys\nsys.path.insert(0, sys.argv[1])\nimport laurel_train, laurel_model\nprint(laurel_train.main.__module__, laurel_model.__file__.startswith(sys.argv[1]))', [exported], work);
    assert.deepEqual(names.split('\n').filter((l) => !l.startsWith('{"event": "alive"}')), ['laurel_train True']);
  });

  it('the loop trains on eagerly when torch.compile fails at the first step, and says so (torch 1.13 has no compile: one that fails stands in)', () => {
    const dir = join(work, 'compile-fallback');
    mkdirSync(dir);
    for (const [name, text] of TRAIN_LOOP_FILES) writeFileSync(join(dir, name), text);
    const out = python(
      [
        'import json, sys, types',
        'import numpy as np, torch',
        'def broken_compile(net):',
        '    def call(*a, **k):',
        '        raise RuntimeError("inductor broke\\nmore")',
        '    return call',
        'torch.compile = broken_compile',
        'class Net(torch.nn.Module):',
        '    def __init__(self):',
        '        super().__init__()',
        '        self.l = torch.nn.Linear(4, 3)',
        '    def forward(self, x):',
        '        return torch.softmax(self.l(x), -1)',
        'm = types.SimpleNamespace(Net=Net, count_weights=lambda model: sum(p.numel() for p in model.parameters()), adapt_normalization=lambda model, batches: [])',
        'rng = np.random.default_rng(0)',
        'np.save("x.npy", rng.standard_normal((20, 4)).astype(np.float32))',
        'np.save("y.npy", np.eye(3, dtype=np.float32)[rng.integers(0, 3, 20)])',
        'json.dump(dict(className="Net", seed=1, x="x.npy", y="y.npy", trainSamples=16, batchSize=8, epochs=1, loss="categoricalCrossentropy", optimizer="adam", learningRate=0.01, compile=True), open("cfg.json", "w"))',
        'sys.path.insert(0, ".")',
        'import laurel_train',
        'laurel_train.main(m, "cfg.json")',
      ].join('\n'),
      [],
      dir,
    );
    const events = out.split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e['event'] !== 'alive');
    const note = 'torch.compile failed, running eagerly: RuntimeError: inductor broke';
    assert.ok(events.some((e) => e['event'] === 'log' && e['level'] === 'warn' && e['message'] === note), JSON.stringify(events));
    const done = events.find((e) => e['event'] === 'done')!;
    assert.deepEqual([done['status'], done['steps'], done['compiled'], done['compileNote']], ['completed', 2, false, note]);
  });

  it('the prelude is the files themselves, and its module-level names are reserved', () => {
    for (const [name, text] of PRELUDE_FILES) {
      assert.ok(existsSync(join(pythonDir, name)), name);
      const body = text.replace(/^"""[^]*?"""\n/, '').trim();
      assert.ok(PRELUDE.includes(body), `${name} is in the prelude verbatim`);
    }
    for (const n of ['math', 'np', 'torch', 'nn', 'F', 'zlib', 'tf_pad', 'Conv2dTF', 'LaurelResidual', 'load_tfjs_weights', 'keras_initialize', 'RMS_EPS', 'DEFAULT_INITIALIZERS']) {
      assert.ok(PRELUDE_NAMES.includes(n), n);
    }
  });

  it('laurel_residual.py works on its own from a folder: import, every variant runs, B starts at zero', () => {
    writeFileSync(join(work, 'laurel_residual.py'), laurelResidual);
    const out = python(
      [
        'import torch',
        'from laurel_residual import LaurelResidual',
        'f, x, h = torch.randn(2, 5, 8), torch.randn(2, 5, 8), torch.randn(2, 5, 8)',
        'res = {}',
        'for v in ["plain", "rw", "lr", "rw+lr", "pa", "rw+pa", "rw+lr+pa", "gemma"]:',
        '    m = LaurelResidual(8, v, rank=2, k=2)',
        '    y = m([f, x, h] if v.endswith("pa") else [f, x])',
        '    res[v] = [tuple(y.shape), sum(p.numel() for p in m.parameters()), float((y - (f + x)).abs().max())]',
        'import json; print(json.dumps(res))',
      ].join('\n'),
      [],
      work,
    );
    const res = JSON.parse(out) as Record<string, [number[], number, number]>;
    // Parameter counts: rw 2, lr 2rD, rw+lr 2 + 2rD, pa k, rw+pa 2 + k, rw+lr+pa 2 + k + k 2rD, gemma 2rD + D (D = 8, r = 2, k = 2).
    assert.deepEqual(Object.fromEntries(Object.entries(res).map(([v, [, n]]) => [v, n])), { plain: 0, rw: 2, lr: 32, 'rw+lr': 34, pa: 2, 'rw+pa': 4, 'rw+lr+pa': 68, gemma: 40 });
    for (const [v, [shape, , diff]] of Object.entries(res)) {
      assert.deepEqual(shape, [2, 5, 8], v);
      // At initialisation plain and lr (B = 0) are exactly f + x.
      if (v === 'plain' || v === 'lr') assert.equal(diff, 0, v);
    }
  });

  it('the tracer: its files define each name once, and as files in a folder or as one joined program they give the same trace', () => {
    const defined = TRACER_FILES.flatMap(([file, text]) => [...text.matchAll(/^(?:def|class) ([A-Za-z_]\w*)|^([A-Z_]+) = /gm)].map((m) => `${m[1] ?? m[2]}`).map((n) => [n, file] as const));
    const seen = new Map<string, string>();
    for (const [n, file] of defined) {
      assert.ok(!seen.has(n), `${n} is defined in ${seen.get(n)} and ${file}`);
      seen.set(n, file);
    }
    for (const [name, text] of TRACER_FILES) writeFileSync(join(work, name), text);
    const args = [pytorchFixture('cifar_resnet.py'), '--model', 'ResNet18()', '--input', 'torch.randn(1, 3, 32, 32)'];
    const run = (argv: string[]): { params: { total: number }; adds: unknown[]; nodes: unknown[] } => {
      const r = spawnSync(PYTHON, argv, { encoding: 'utf8', cwd: work, maxBuffer: 1 << 26 });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as { params: { total: number }; adds: unknown[]; nodes: unknown[] };
    };
    const asFiles = run([join(work, 'laurel_trace.py'), ...args]);
    const joined = run(['-c', TRACER_SOURCE, ...args]);
    assert.equal(asFiles.params.total, 11_173_962);
    assert.deepEqual(asFiles, joined);
  });

  it('Keras initializers: fans, bounds, spreads, orthogonality, defaults and per-weight seeding', () => {
    const init = PRELUDE_FILES.find(([n]) => n === 'keras_init.py')![1];
    const out = python(
      `${init}\n` +
        [
          'import json',
          'r = lambda: weight_rng(7, "conv/kernel")',
          'k = (3, 3, 16, 32)',
          'fi, fo = keras_fans(k)',
          'gu = initial_value({"class_name": "GlorotUniform", "config": {"seed": None}}, k, r())',
          'hn = initial_value("he_normal", (200, 300), r())',
          'ln = initial_value({"module": "keras.initializers", "class_name": "LecunNormal", "config": {}, "registered_name": None}, (400, 100), r())',
          'vs = initial_value({"class_name": "VarianceScaling", "config": {"scale": 2.0, "mode": "fan_out", "distribution": "uniform"}}, (100, 50), r())',
          'tn = initial_value({"class_name": "TruncatedNormal", "config": {"stddev": 0.1}}, (1000,), r())',
          'rn = initial_value("randomNormal", (100, 100), r())',
          'ortho = initial_value("orthogonal", (20, 60), r())',
          'c = initial_value({"class_name": "Constant", "config": {"value": 0.25}}, (3,), r())',
          'tj = initial_value({"className": "x", "class_name": "VarianceScaling", "config": {"scale": 1, "mode": "fanAvg", "distribution": "uniform"}}, (100, 50), r())',
          'old = initial_value({"class_name": "VarianceScaling", "config": {"scale": 1, "mode": None, "distribution": None, "seed": None}}, (400, 100), r())',
          'same = initial_value("glorot_uniform", k, weight_rng(7, "conv/kernel"))',
          'other = initial_value("glorot_uniform", k, weight_rng(7, "conv_1/kernel"))',
          'print(json.dumps({"fans": [fi, fo], "gu": [float(abs(gu).max()), (6 / (fi + fo)) ** 0.5], "hn": [float(hn.std()), (2 / 200) ** 0.5, float(abs(hn).max())],',
          '  "ln": float(ln.std() / (1 / 400) ** 0.5), "vs": [float(abs(vs).max()), (3 * 2 / 50) ** 0.5], "tn": [float(abs(tn).max()), float(tn.std())],',
          '  "tj": [float(abs(tj).max()), (3 / 75) ** 0.5], "old": [float(old.std()), float(abs(old).max())], "rn": float(rn.std()), "ortho": float(abs(ortho @ ortho.T - np.eye(20)).max()), "c": c.tolist(), "same": bool((same == gu).all()), "other": bool((other == gu).any()),',
          '  "defaults": [DEFAULT_INITIALIZERS[n] for n in ("kernel", "recurrent_kernel", "bias", "gamma", "moving_variance", "embeddings")]}))',
        ].join('\n'),
    );
    const r = JSON.parse(out) as Record<string, unknown>;
    assert.deepEqual(r['fans'], [144, 288]); // Keras: the receptive field 3x3 multiplies in and out channels
    const [guMax, guLimit] = r['gu'] as [number, number];
    assert.ok(guMax <= guLimit && guMax > 0.99 * guLimit, `glorot uniform max ${guMax}, limit ${guLimit}`);
    const [hnStd, hnWant, hnMax] = r['hn'] as [number, number, number];
    // A normal truncated at 2 sigma, rescaled by 1/0.8796 so the spread is the untruncated one: sqrt(2 / fan_in).
    assert.ok(Math.abs(hnStd / hnWant - 1) < 0.02, `he_normal std ${hnStd} vs ${hnWant}`);
    assert.ok(hnMax <= (2 * hnWant) / 0.87962566103423978 + 1e-9);
    assert.ok(Math.abs((r['ln'] as number) - 1) < 0.03);
    const [vsMax, vsLimit] = r['vs'] as [number, number];
    assert.ok(vsMax <= vsLimit && vsMax > 0.98 * vsLimit);
    const [tnMax, tnStd] = r['tn'] as [number, number];
    assert.ok(tnMax <= 0.2 && tnStd > 0.08 && tnStd < 0.095, `truncated normal: max ${tnMax}, std ${tnStd}`);
    assert.ok(Math.abs((r['rn'] as number) - 0.05) < 0.002);
    // TF.js camelCase settings, and the nulls older TF.js files write: fan_in, "normal" = truncated at 2 sigma, uncorrected.
    const [tjMax, tjLimit] = r['tj'] as [number, number];
    assert.ok(tjMax <= tjLimit && tjMax > 0.98 * tjLimit);
    const [oldStd, oldMax] = r['old'] as [number, number];
    assert.ok(oldMax <= 2 * 0.05 + 1e-9 && oldStd > 0.85 * 0.05 && oldStd < 0.9 * 0.05, `${oldStd} ${oldMax}`);
    assert.ok((r['ortho'] as number) < 1e-5);
    assert.deepEqual(r['c'], [0.25, 0.25, 0.25]);
    assert.equal(r['same'], true);
    assert.equal(r['other'], false);
    assert.deepEqual(r['defaults'], ['glorot_uniform', 'orthogonal', 'zeros', 'ones', 'ones', 'random_uniform']);
  });

  it('an initializer without a form is refused by name', () => {
    const init = PRELUDE_FILES.find(([n]) => n === 'keras_init.py')![1];
    const r = spawnSync(PYTHON, ['-c', `${init}\ninitial_value({"class_name": "MyInit", "config": {}}, (2, 2), weight_rng(0, "a/kernel"))`], { encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /ValueError: initializer \{'class_name': 'MyInit', 'config': \{\}\} has no PyTorch-engine form/);
  });
});
