import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ModelError } from '../../src/core/errors';
import { exportText } from '../../src/core/export/exportText';
import { PlanError } from '../../src/core/laurel/planSpec';
import { openModel, planModel } from '../../src/core/model';
import type { OpenModel } from '../../src/core/model';
import { examplePath, fixturePath } from './fixturePath';
import { HOSTILE_CONFIGS, HOSTILE_PLANS } from './hostileCorpus';

// Numbers that must not be silently wrong: every hostile value of the corpus either reads cleanly or gives a
// located problem naming the layer, the key and the value; plans are refused, warned about or accepted as the
// corpus says; dangling tensors are problems. The files are real: resnet-mini and a Keras 3 fixture.

type Json = Record<string, any>;

const FILES: [string, () => string][] = [
  ['examples/resnet-mini.json', () => examplePath('resnet-mini.json')],
  ['keras3-resnet1d-dotkeras-config.json', () => fixturePath('keras3-resnet1d-dotkeras-config.json')],
];

const layersOf = (j: Json): Json[] => j['config']['layers'];
const read = (path: string, text: string): OpenModel => openModel(path, new TextEncoder().encode(text));
/** The JSON text with `value` (raw JSON text) at the key of the first layer of class `cls`; undefined when none. */
function withValue(text: string, cls: RegExp, key: string, value: string): { text: string; layer: string } | undefined {
  const j = JSON.parse(text) as Json;
  const layer = layersOf(j).find((l) => cls.test(l['class_name']));
  if (!layer) return undefined;
  layer['config'][key] = '@@VALUE@@';
  return { text: JSON.stringify(j, null, 1).replace('"@@VALUE@@"', value), layer: layer['name'] };
}

for (const [label, path] of FILES) {
  describe(`hostile values in ${label}`, () => {
    const text = (): string => readFileSync(path(), 'utf8');

    it('every config value of the corpus reads cleanly or is a located problem naming layer, key and value', () => {
      let problems = 0;
      let tried = 0;
      for (const c of HOSTILE_CONFIGS) {
        const v = withValue(text(), c.cls, c.key, c.json);
        if (!v) continue;
        tried++;
        const what = `${c.cls.source}.${c.key}=${c.json}`;
        const m = read(path(), v.text);
        if (c.expect === 'ok') {
          assert.deepEqual(m.analysis.problems.map((p) => p.message), [], what);
          continue;
        }
        problems++;
        const p = m.analysis.problems[0];
        assert.ok(p, `${what}: no problem reported (total ${m.params.total})`);
        assert.ok(p.message.startsWith(`${path()}:`) && p.where.line !== undefined, `${what}: not located: ${p.message}`);
        assert.ok(p.message.includes(`'${v.layer}'`) && p.message.includes(`config '${c.key}'`), `${what}: ${p.message}`);
        // A model with a problem is never exported as something else.
        assert.throws(() => exportText(m, 'pytorch', new Map()), /cannot export a model with/, what);
      }
      assert.ok(tried >= 20 && problems >= 15, `${tried} tried, ${problems} problems`);
    });

    it('tensor index 99 of a one-output layer, and a model output past the last tensor, are located problems', () => {
      const j = JSON.parse(text()) as Json;
      const site = read(path(), text()).sites[0]!;
      const merge = layersOf(j).find((l) => l['name'] === site.merge)!;
      // The merge's second input, in Keras 2 ([name, node, tensor, kwargs]) or Keras 3 (keras_history) form.
      const ref = JSON.stringify(merge['inbound_nodes'][0]).includes('keras_history') ? merge['inbound_nodes'][0]['args'][0][1]['config']['keras_history'] : merge['inbound_nodes'][0][1];
      ref[2] = 99;
      const m = read(path(), JSON.stringify(j, null, 1));
      assert.equal(m.analysis.problems.length, 1, m.analysis.problems.map((p) => p.message).join('\n'));
      const p = m.analysis.problems[0]!;
      assert.match(p.message, new RegExp(`layer '${site.merge}' .*it reads tensor 99 of '${String(ref[0])}', which has one output \\(tensor 0\\)`));
      assert.ok(p.where.line !== undefined);

      const k = JSON.parse(text()) as Json;
      const outs = k['config']['output_layers'];
      (Array.isArray(outs[0]) ? outs[0] : outs)[2] = 7;
      const o = read(path(), JSON.stringify(k, null, 1));
      assert.equal(o.analysis.problems.length, 1);
      assert.match(o.analysis.problems[0]!.message, /output_layers: model output: it reads tensor 7 of '.*', which has one output/);
    });

    it('plan specs of the corpus are refused, warned about or accepted as listed', () => {
      const m = read(path(), text());
      for (const c of HOSTILE_PLANS) {
        if (c.expect === 'refused') {
          assert.throws(() => planModel(m, c.spec), (e: unknown) => e instanceof PlanError && e.message.includes(c.says), c.spec);
          continue;
        }
        const { warnings } = planModel(m, c.spec);
        if (c.expect === 'ok') assert.deepEqual(warnings, [], c.spec);
        else assert.ok(warnings.some((w) => w.includes(c.says)), `${c.spec}: ${warnings.join('; ')}`);
      }
    });
  });
}

describe('hostile values: plans against the model, call names, the command line', function () {
  this.timeout(120_000);
  const mini = (): OpenModel => openModel('resnet-mini.json', readFileSync(examplePath('resnet-mini.json')));

  it('pa:k above the residuals of the same shape before every site it names is a warning; above all residuals, refused', () => {
    const m = mini(); // four sites: two of D=16, two of D=32
    assert.deepEqual(planModel(m, 'all=pa:k=2').warnings, []);
    assert.match(planModel(m, 'all=pa:k=3').warnings.join('\n'), /k=3, but at most 2 activation\(s\) of the same shape exist/);
    assert.match(planModel(m, 'block1_add=pa:k=2').warnings.join('\n'), /k=2, but at most 1 activation/);
    assert.throws(() => planModel(m, 'all=pa:k=5'), /the model has 4 residual site\(s\)/);
    // The exact edge: r = D - 1 is low rank, r = D is not.
    assert.deepEqual(planModel(m, 'block1_add=lr:r=15').warnings, []);
    assert.match(planModel(m, 'block1_add=lr:r=16').warnings.join('\n'), /r=16 is not below D at block1_add \(D=16\)/);
  });

  it("a layer named like another layer's second call ('d#1') is refused, located", () => {
    const layer = (name: string, cls: string, config: Json, inbound: unknown[]): Json => ({ class_name: cls, name, config: { name, ...config }, inbound_nodes: inbound });
    const json = {
      class_name: 'Functional',
      config: {
        name: 'm',
        layers: [
          layer('in', 'InputLayer', { batch_input_shape: [null, 4] }, []),
          layer('d', 'Dense', { units: 4 }, [[['in', 0, 0, {}]], [['d', 0, 0, {}]]]),
          layer('d#1', 'Dense', { units: 4 }, [[['d', 1, 0, {}]]]),
        ],
        input_layers: [['in', 0, 0]],
        output_layers: [['d#1', 0, 0]],
      },
    };
    assert.throws(
      () => openModel('calls.json', new TextEncoder().encode(JSON.stringify(json, null, 1))),
      (e: unknown) => e instanceof ModelError && /layer name "d#1" is also the name of call 1 of layer "d"/.test(e.message) && e.where.line !== undefined,
    );
  });

  describe('the command line', () => {
    const root = resolve(__dirname, '../../..');
    let dir: string;
    const laurel = (...args: string[]) => spawnSync(process.execPath, [join(root, 'bin', 'laurel.js'), ...args], { encoding: 'utf8', cwd: root });
    before(() => {
      if (!existsSync(join(root, 'dist', 'cli.js'))) spawnSync(process.execPath, ['esbuild.mjs'], { cwd: root, stdio: 'inherit' });
      dir = mkdtempSync(join(tmpdir(), 'laurel-values-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('inspect exits 1 with the located problem and says the totals are a lower bound; export refuses', () => {
      const file = join(dir, 'bad.json');
      writeFileSync(file, withValue(readFileSync(examplePath('resnet-mini.json'), 'utf8'), /^Conv2D$/, 'filters', '1e20')!.text);
      const r = laurel('inspect', file);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stdout, /Problem: .*bad\.json:\d+:\d+ at \$\.config\.layers\[1\]: layer 'stem_conv' \(Conv2D\): Conv2D: config 'filters' is 100000000000000000000; expected an integer >= 1/);
      assert.match(r.stdout, /totals are a lower bound/);
      const e = laurel('export', file, '-o', join(dir, 'bad.py'));
      assert.equal(e.status, 1);
      assert.match(e.stderr, /cannot export a model with a problem: .*'filters'/);
      assert.equal(existsSync(join(dir, 'bad.py')), false);
    });

    it('an impossible plan exits 1 and writes nothing; a senseless one is warned about on stderr and applied', () => {
      const file = join(dir, 'mini.json');
      const original = readFileSync(examplePath('resnet-mini.json'));
      writeFileSync(file, original);
      const refused = laurel('apply', file, '--plan', 'all=lr:r=1000000000');
      assert.equal(refused.status, 1);
      assert.match(refused.stderr, /needs a 16×1000000000 weight/);
      assert.deepEqual(readFileSync(file), original);
      const warned = laurel('apply', file, '--plan', 'all=lr:r=16,all=rw');
      assert.equal(warned.status, 0, warned.stderr);
      assert.match(warned.stderr, /laurel: warning: 'all=lr:r=16' has no effect: 'all=rw' sets every site it names/);
      assert.match(readFileSync(file, 'utf8'), /LaurelResidual/);
      const exported = laurel('export', file, '--plan', 'all=lr:r=64', '-o', join(dir, 'x.py'));
      assert.equal(exported.status, 0, exported.stderr);
      assert.match(exported.stderr, /warning: 'all=lr:r=64': r=64 is not below D/);
      assert.equal(laurel('inspect', file, '--rank', '1e9').status, 2);
    });
  });
});
