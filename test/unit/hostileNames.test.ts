import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportText } from '../../src/core/export/exportText';
import { toPyTorch } from '../../src/core/export/pytorch';
import { openModel, planModel, plannedBytes } from '../../src/core/model';
import type { OpenModel } from '../../src/core/model';
import { examplePath, fixturePath } from './fixturePath';
import { CLASHING_NAMES, HOSTILE_NAMES } from './hostileCorpus';

// Names from model files reach generated code. Each hostile name goes into the model's name, a residual merge's
// name (a LaurelResidual in the file, so no plan is needed to reach forward()), a weighted layer's name and, for
// an unknown layer, its class name (a few names per generated file, one per residual). Debian's Python imports
// and runs every generated module: the payloads would create a marker file, which must never appear; outputs
// must equal those of the file with its own names.

const PYTHON = process.env['LAUREL_PYTHON'] ?? '/usr/bin/python3';
const PLAN = 'all=rw+lr:r=4';

const RUNNER = String.raw`
import importlib.util, json, os, sys
import torch

torch.set_num_threads(1)
job = json.load(open(sys.argv[1]))

def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod

def build(mod):
    cls = [v for v in vars(mod).values() if isinstance(v, type) and issubclass(v, torch.nn.Module) and hasattr(v, "KERAS_NAMES")]
    return cls[-1]().eval()

torch.manual_seed(0)
base = build(load(job["base"], "base"))
xs = [torch.randn(*s) for s in job["inputs"]]
with torch.no_grad():
    y = base(*xs)
out = []
for i, case in enumerate(job["cases"]):
    r = {"imported": False}
    try:
        mod = load(case["path"], "case%d" % i)
        r["imported"] = True
        r["markerAfterImport"] = os.path.exists(job["marker"])
        m = build(mod)
        r["kerasNames"] = list(type(m).KERAS_NAMES.values())
        r["weightNames"] = [w[0] for w in type(m).TFJS_WEIGHTS]
        r["classDoc"] = type(m).__doc__
        r["moduleDoc"] = mod.__doc__
        if case["expect"] == "same":
            keys = list(m.state_dict().keys())
            m.load_state_dict(dict(zip(keys, base.state_dict().values())))
        with torch.no_grad():
            r["same"] = bool(torch.equal(m(*xs), y))
    except NotImplementedError as e:
        r["notImplemented"] = str(e)
    except BaseException as e:
        r["error"] = "%s: %s" % (type(e).__name__, e)
    r["marker"] = os.path.exists(job["marker"])
    out.append(r)
print(json.dumps(out))
`;

type Json = Record<string, unknown>;

/** The JSON with every string equal to a key replaced by its value (layer names and every reference to them). */
function renamed(v: unknown, names: Map<string, string>): unknown {
  if (typeof v === 'string') return names.get(v) ?? v;
  if (Array.isArray(v)) return v.map((x) => renamed(x, names));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, renamed(x, names)]));
  return v;
}

interface Case {
  label: string;
  expect: 'same' | 'unsupported';
  /** Names the module's KERAS_NAMES must hold, exactly. */
  names: string[];
  /** The model name the class docstring starts with. */
  modelName: string;
  /** Unknown class names the module docstring must list; forward()'s NotImplementedError names the first. */
  classNames: string[];
  code: string;
  m: OpenModel;
}

interface Outcome {
  imported: boolean;
  markerAfterImport?: boolean;
  marker: boolean;
  kerasNames?: string[];
  weightNames?: string[];
  classDoc?: string;
  moduleDoc?: string;
  same?: boolean;
  notImplemented?: string;
  error?: string;
}

const UNSAFE = /[\p{C}\p{Z}]/u;
const rawUnsafe = (text: string): string | undefined => [...text].find((ch) => ch !== ' ' && ch !== '\n' && UNSAFE.test(ch));

/** `xs` in groups of `n`. */
const groups = <T>(xs: T[], n: number): T[][] => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));

for (const [label, path] of [
  ['examples/resnet-mini.json', () => examplePath('resnet-mini.json')],
  ['keras3-resnet1d-dotkeras-config.json', () => fixturePath('keras3-resnet1d-dotkeras-config.json')],
] as const) {
  describe(`hostile names in ${label}: escaped or refused, never code`, function () {
    this.timeout(600_000);
    let dir: string;
    const cases: Case[] = [];
    const refused: { label: string; m: OpenModel; name: string }[] = [];
    let outcomes: Outcome[] = [];

    before(function () {
      dir = mkdtempSync(join(tmpdir(), 'laurel-hostile-'));
      const marker = join(dir, 'INJECTED');
      const original = openModel(path(), readFileSync(path()));
      // The plan is written into the file once: its merges become LaurelResidual layers, then get the names.
      const planned = JSON.parse(new TextDecoder().decode(plannedBytes(original, planModel(original, PLAN)))) as Json;
      const merges = original.sites.map((s) => s.merge).slice(0, 4);
      const byClass = (re: RegExp): string[] => original.doc.graph.layers.filter((l) => re.test(l.className)).map((l) => l.name);
      const convs = byClass(/^Conv[12]D$/);
      const activations = byClass(/^(ReLU|Activation)$/);
      const modelName = String((planned['config'] as Json)['name']);
      assert.ok(convs.length >= merges.length && activations.length >= merges.length);
      const variant = (names: Map<string, string>, model?: string, classes: string[] = []): OpenModel => {
        const j = renamed(planned, names) as Json;
        const cfg = j['config'] as Json;
        if (model !== undefined) cfg['name'] = model;
        const layers = cfg['layers'] as Json[];
        classes.forEach((c, k) => (layers.find((l) => l['name'] === activations[k])!['class_name'] = c));
        return openModel(path(), new TextEncoder().encode(JSON.stringify(j, null, 1)));
      };
      const base = variant(new Map());
      writeFileSync(join(dir, 'base.py'), toPyTorch(base).code);

      for (const h of HOSTILE_NAMES.filter((x) => x.pytorchRefuses)) {
        const name = h.name(marker);
        refused.push({ label: h.label, m: variant(new Map([[merges[0]!, name]])), name: JSON.stringify(name) });
        refused.push({ label: `${h.label} as the model name`, m: variant(new Map(), name), name: JSON.stringify(name) });
        refused.push({ label: `${h.label} as a class name`, m: variant(new Map(), undefined, [name]), name: JSON.stringify(name) });
      }
      for (const g of groups(HOSTILE_NAMES.filter((x) => !x.pytorchRefuses), merges.length)) {
        const names = g.map((h) => h.name(marker));
        const label = g.map((h) => h.label).join(' | ');
        const m = variant(new Map(names.flatMap((n, k) => [[merges[k]!, n], [convs[k]!, `${n}2`]])), names[0]);
        cases.push({ label, expect: 'same', names: names.flatMap((n) => [n, `${n}2`]), modelName: names[0]!, classNames: [], code: toPyTorch(m).code, m });
        const u = variant(new Map(), undefined, names);
        cases.push({ label: `${label} as class names`, expect: 'unsupported', names: [], modelName, classNames: names, code: toPyTorch(u).code, m: u });
      }
      const weighted = byClass(/^(Conv[12]D|BatchNormalization|Dense)$/).slice(0, CLASHING_NAMES.length);
      const clash = variant(new Map(weighted.map((l, i) => [l, CLASHING_NAMES[i]!])), 'a-b');
      cases.push({ label: 'names equal after sanitising', expect: 'same', names: CLASHING_NAMES, modelName: 'a-b', classNames: [], code: toPyTorch(clash).code, m: clash });

      const inputs = [...toPyTorch(base).code.matchAll(/torch\.randn\(([\d, ]+)\)/g)].map((x) => x[1]!.split(',').map(Number));
      const files = cases.map((c, i) => {
        const p = join(dir, `case${i}.py`);
        writeFileSync(p, c.code);
        return { path: p, expect: c.expect };
      });
      writeFileSync(join(dir, 'job.json'), JSON.stringify({ base: join(dir, 'base.py'), marker, inputs, cases: files }));
      writeFileSync(join(dir, 'runner.py'), RUNNER);
      const r = spawnSync(PYTHON, [join(dir, 'runner.py'), join(dir, 'job.json')], { encoding: 'utf8', maxBuffer: 1 << 28 });
      assert.equal(r.status, 0, r.stderr);
      outcomes = JSON.parse(r.stdout) as Outcome[];
    });

    after(() => rmSync(dir, { recursive: true, force: true }));

    it('every generated module holds no raw control, format or separator character', () => {
      for (const c of cases) assert.equal(rawUnsafe(c.code), undefined, c.label);
    });

    it('every module imports and runs, no payload ran, outputs equal those with the original names', () => {
      assert.equal(outcomes.length, cases.length);
      cases.forEach((c, i) => {
        const o = outcomes[i]!;
        assert.ok(o.imported, `${c.label}: ${o.error}`);
        assert.equal(o.marker, false, `${c.label}: the payload ran`);
        assert.equal(o.markerAfterImport, false, c.label);
        if (c.expect === 'same') {
          assert.equal(o.error, undefined, c.label);
          assert.equal(o.same, true, `${c.label}: outputs differ`);
        } else {
          assert.ok(o.notImplemented?.includes(`(${c.classNames[0]})`), `${c.label}: ${o.notImplemented ?? o.error}`);
        }
      });
    });

    it('names come back exactly: KERAS_NAMES, TFJS_WEIGHTS, the class and module docstrings', () => {
      cases.forEach((c, i) => {
        const o = outcomes[i]!;
        for (const n of c.names) assert.ok(o.kerasNames!.includes(n), `${c.label}: ${JSON.stringify(n).slice(0, 80)} not in KERAS_NAMES`);
        if (c.expect === 'same' && c.modelName !== 'a-b') for (let k = 1; k < c.names.length; k += 2) assert.ok(o.weightNames!.includes(`${c.names[k]}/kernel`), c.label);
        for (const n of c.classNames) assert.ok(o.moduleDoc!.includes(`(${n})`), `${c.label}: ${JSON.stringify(n).slice(0, 80)} not in the module docstring`);
        assert.ok(o.classDoc!.startsWith(`${c.modelName} from `), `${c.label}: ${o.classDoc!.slice(0, 80)}`);
        assert.equal(new Set(o.kerasNames).size, o.kerasNames!.length, `${c.label}: two attributes map to one name`);
      });
    });

    it('names Python cannot hold are refused, naming them; the JSON exports keep them, escaped', () => {
      assert.ok(refused.length > 0);
      for (const r of refused) {
        assert.throws(() => toPyTorch(r.m), (e: unknown) => e instanceof Error && e.message.includes(r.name) && e.message.includes('cannot be exported to PyTorch'), r.label);
        for (const target of ['keras-json', 'tfjs'] as const) assert.equal(rawUnsafe(exportText(r.m, target, new Map()).text), undefined, r.label);
      }
    });

    it('the JSON exports keep every name exactly and hold no raw unsafe character', () => {
      for (const c of cases) {
        for (const target of ['keras-json', 'tfjs'] as const) {
          const out = exportText(c.m, target, new Map()).text;
          assert.equal(rawUnsafe(out), undefined, `${c.label} ${target}`);
          const parsed = JSON.stringify(JSON.parse(out));
          for (const n of [...c.names, ...c.classNames]) assert.ok(parsed.includes(JSON.stringify(n)), `${c.label} ${target}`);
        }
      }
    });
  });
}
