import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ComparisonRecord, EpochMetrics, RunRecord } from '../../src/protocol/runRecords';
import { mdCode, mdFence } from '../../src/report/markdown';
import { writeSeedReport } from '../../src/trainer/reportFiles';
import { seedCurvePanels } from '../../src/trainer/seedCurves';

// report.md's curve figures: SVG files beside it, per plan the mean over seeds with a ± 1 std band. Checked with
// an XML parser that is not ours (Python's ElementTree), on records made here and on a real `laurel compare --seeds`.

const root = resolve(__dirname, '../../..');
const SYSTEM_PYTHON = '/usr/bin/python3';
const SVG_NS = '{http://www.w3.org/2000/svg}';

/** Python's ElementTree parse of the SVG: per panel the mean paths' and bands' data-plan, the texts, the root tag. */
function parseSvg(path: string): { root: string; panels: { title: string; means: string[]; bands: string[] }[]; texts: string[]; scripts: number } {
  const code = [
    'import json, sys, xml.etree.ElementTree as ET',
    `N = '${SVG_NS}'`,
    'r = ET.parse(sys.argv[1]).getroot()',
    "ps = [{'title': ''.join(g.find(N + 'text').itertext()), 'means': [p.get('data-plan') for p in g.iter(N + 'path') if p.get('class') == 'mean'], 'bands': [p.get('data-plan') for p in g.iter(N + 'path') if p.get('class') == 'band']} for g in r.iter(N + 'g') if g.get('class') == 'panel']",
    "print(json.dumps({'root': r.tag, 'panels': ps, 'texts': [''.join(t.itertext()) for t in r.iter(N + 'text')] + [''.join(t.itertext()) for t in r.iter(N + 'title')], 'scripts': len(list(r.iter(N + 'script')))}))",
  ].join('\n');
  const r = spawnSync(SYSTEM_PYTHON, ['-c', code, path], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${path} is not well-formed XML: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const epoch = (e: number, loss: number, acc: number, valLoss: number, valAcc: number): EpochMetrics =>
  ({ epoch: e, loss, acc, valLoss, valAcc, batches: 1, samples: 1, samplesPerSec: 1, stepMs: 1, seconds: 1, memory: { numBytes: 0, numTensors: 0, peakBytes: 0 } }) as EpochMetrics;

/** One seed's comparison of `plans`; plan i's figures at epoch e are `base + i/10 + seed/100 − e/10`. */
function record(seed: number, plans: string[], epochs: number, modelName = 'resnet_mini'): ComparisonRecord {
  const runs = plans.map((_, i) => ({ epochs: Array.from({ length: epochs }, (__, k) => epoch(k + 1, 2 + i / 10 + seed / 100 - k / 10, 0.5 + i / 10 + seed / 100 + k / 10, 2.5 + i / 10 - seed / 100 - k / 10, 0.4 + i / 10 + seed / 100 + k / 10)) }) as unknown as RunRecord);
  const rows = plans.map((name) => ({ name, plan: name, status: 'completed', params: 1000, added: 0, addedPercent: 0, final: { loss: 1, acc: 0.5, valLoss: 1, valAcc: 0.5 }, best: { loss: 1, acc: 0.5, valLoss: 1, valAcc: 0.5 }, stepMs: 10, samplesPerSec: 3200, peakBytes: 2 ** 20, ratios: { params: 1, stepMs: 1, samplesPerSec: 1, peakBytes: 1, finalLoss: 1 } }));
  return {
    kind: 'laurel-comparison',
    seed,
    model: { name: modelName, file: 'm.json' },
    config: { epochs, batchSize: 32, learningRate: 0.001, optimizer: 'adam', seed, valSplit: 0.1 },
    dataset: { name: 'synthetic', samples: 10, trainSamples: 9, valSamples: 1, adaptations: [] },
    rows,
    runs,
    backend: { name: 'cpu' },
    complete: true,
  } as unknown as ComparisonRecord;
}

describe('report.md curve figures', function () {
  this.timeout(240_000);

  it('per plan the mean over seeds and the sample std at each epoch', function () {
    const panels = seedCurvePanels([record(1, ['plain', 'rw'], 3), record(2, ['plain', 'rw'], 3), record(3, ['plain', 'rw'], 3)], 'loss')!;
    assert.deepEqual(panels.map((p) => p.title), ['training loss', 'validation loss']);
    const rw = panels[0]!.curves[1]!;
    assert.equal(rw.label, 'rw');
    // rw's training loss at epoch 2 over seeds 1..3: 2 + 0.1 + {0.01, 0.02, 0.03} − 0.1 → mean 2.02, std 0.01.
    assert.deepEqual(rw.points.map((p) => p.x), [1, 2, 3]);
    assert.ok(Math.abs(rw.points[1]!.mean - 2.02) < 1e-12 && Math.abs(rw.points[1]!.sd - 0.01) < 1e-12, JSON.stringify(rw.points[1]));
    // A point needs every seed: drop epoch 3 from one seed's plain run.
    const short = [record(1, ['plain', 'rw'], 3), record(2, ['plain', 'rw'], 3)];
    short[1]!.runs[0]!.epochs.pop();
    assert.deepEqual(seedCurvePanels(short, 'accuracy')![1]!.curves[0]!.points.map((p) => p.x), [1, 2]);
  });

  it('writes one SVG per metric beside report.md: valid XML, one mean path per plan and panel, bands only over several seeds', function () {
    const dir = mkdtempSync(join(tmpdir(), 'laurel-report-'));
    const plans = ['plain', 'rw', 'rw+lr:r=4'];
    const files = writeSeedReport(join(dir, 'report.md'), [1, 2, 3].map((s) => record(s, plans, 4)));
    assert.deepEqual(files, [join(dir, 'report-loss.svg'), join(dir, 'report-accuracy.svg'), join(dir, 'report.md')]);
    for (const metric of ['loss', 'accuracy']) {
      const svg = parseSvg(join(dir, `report-${metric}.svg`));
      assert.equal(svg.root, `${SVG_NS}svg`);
      assert.deepEqual(svg.panels.map((p) => p.title), [`training ${metric}`, `validation ${metric}`]);
      for (const p of svg.panels) {
        assert.deepEqual(p.means, ['0', '1', '2'], `${metric}/${p.title}: one mean path per plan`);
        assert.deepEqual(p.bands, ['0', '1', '2'], `${metric}/${p.title}: one band per plan`);
      }
      for (const name of plans) assert.ok(svg.texts.includes(name), `legend names ${name}`);
    }
    const md = readFileSync(join(dir, 'report.md'), 'utf8');
    assert.match(md, /## Curves\n\n!\[loss per epoch: per plan mean over 3 seeds, ± 1 std band\]\(report-loss\.svg\)\n\n!\[accuracy per epoch[^\]]*\]\(report-accuracy\.svg\)/);

    // One seed: the same figures without bands; a report named otherwise names its figures after itself.
    const one = writeSeedReport(join(dir, 'my (1) report.md'), [record(7, plans, 2)]);
    assert.deepEqual(one.slice(0, 2), [join(dir, 'my (1) report-loss.svg'), join(dir, 'my (1) report-accuracy.svg')]);
    const svg1 = parseSvg(one[0]!);
    assert.deepEqual(svg1.panels.map((p) => [p.means.length, p.bands.length]), [[3, 0], [3, 0]]);
    assert.match(readFileSync(one[2]!, 'utf8'), /\]\(my%20%281%29%20report-loss\.svg\)/);
  });

  it('one epoch: a point with a bar-shaped band; no validation: the training panel only; no accuracy: no accuracy figure', function () {
    const dir = mkdtempSync(join(tmpdir(), 'laurel-report-'));
    const recs = [1, 2].map((s) => record(s, ['plain', 'rw'], 1));
    for (const c of recs) for (const r of c.runs) for (const e of r.epochs) Object.assign(e, { valLoss: undefined, valAcc: undefined, acc: undefined });
    const files = writeSeedReport(join(dir, 'report.md'), recs);
    assert.deepEqual(files, [join(dir, 'report-loss.svg'), join(dir, 'report.md')]);
    const svg = parseSvg(files[0]!);
    assert.deepEqual(svg.panels.map((p) => [p.title, p.means, p.bands]), [['training loss', ['0', '1'], ['0', '1']]]);
    assert.doesNotMatch(readFileSync(files[1]!, 'utf8'), /accuracy\.svg/);
  });

  it('hostile model and plan names stay text in the SVG and the markdown', function () {
    const dir = mkdtempSync(join(tmpdir(), 'laurel-report-'));
    const evil = '</title><script>alert(1)</script>&amp;\n# x ```\u2028\u202e';
    const plans = ['plain', 'rw]<svg onload=x>&|x'];
    const files = writeSeedReport(join(dir, 'report.md'), [1, 2].map((s) => record(s, plans, 2, evil)));
    const svg = parseSvg(files[0]!);
    assert.equal(svg.scripts, 0);
    assert.ok(svg.texts.includes(plans[1]!), 'the plan name is shown as written');
    assert.ok(svg.texts.some((t) => t.startsWith('</title><script>alert(1)</script>&amp;\\u{a}# x ```\\u{2028}\\u{202e}')), svg.texts.join(' | '));
    const md = readFileSync(files[2]!, 'utf8');
    const heading = md.split('\n')[0]!;
    assert.equal(heading, `# LAuReL comparison: ${mdCode(evil)} (\`m.json\`)`);
    assert.match(heading, /^# LAuReL comparison: ````<\/title><script>alert\(1\)<\/script>&amp;\\u\{a\}# x ```\\u\{2028\}\\u\{202e\}```` /);
    assert.equal(mdFence('a ```` b'), '`````\na ```` b\n`````');
    // Tables are GitHub Markdown: every row has the header's cells (a '|' in a name is escaped inside its cell),
    // and no name starts HTML.
    const tables = md.split('\n\n').filter((b) => b.startsWith('| '));
    assert.equal(tables.length, 3, 'the summary and one per seed');
    for (const t of tables) {
      const cells = t.split('\n').map((l) => l.split(/(?<!\\)\|/).length);
      assert.ok(cells.every((n) => n === cells[0]), t);
    }
    assert.ok(md.includes('| rw\\]\\<svg onload=x\\>\\&\\|x |'), md);
    for (const t of tables) assert.doesNotMatch(t, /(?<!\\)</, 'every < in a table is escaped (text, not HTML)');
  });

  it('laurel compare --seeds writes report.md with its figures (resnet-mini, real training)', function () {
    if (!existsSync(join(root, 'dist', 'cli.js'))) spawnSync(process.execPath, ['esbuild.mjs'], { cwd: root, stdio: 'inherit' });
    const out = mkdtempSync(join(tmpdir(), 'laurel-seeds-'));
    const r = spawnSync(process.execPath, [join(root, 'bin', 'laurel.js'), 'compare', join(root, 'examples', 'resnet-mini.json'), '--plans', 'plain;rw', '--data', 'synthetic:samples=48', '--epochs', '2', '--batch-size', '16', '--seeds', '1,2', '--out', out], { encoding: 'utf8', cwd: root });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, new RegExp(`${join(out, 'report-loss.svg')}\n${join(out, 'report-accuracy.svg')}\n${join(out, 'report.md')}`));
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    for (const metric of ['loss', 'accuracy']) {
      assert.ok(md.includes(`](report-${metric}.svg)`));
      const svg = parseSvg(join(out, `report-${metric}.svg`));
      assert.deepEqual(svg.panels.map((p) => [p.means, p.bands]), [[['0', '1'], ['0', '1']], [['0', '1'], ['0', '1']]], `${metric}: training and validation, plain and rw, each with a band`);
    }
  });
});
