import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_OPTIONS, instanceCost } from '../../src/core/laurel/variants';
import { openModel, planModel } from '../../src/core/model';
import { applyEdits } from '../../src/core/write/planEdits';
import { buildLenses } from '../../src/extension/lensSpecs';
import { siteSpan } from '../../src/extension/modelFacts';
import { residualTree } from '../../src/extension/residualTreeItems';
import type { NoteItem, StageItem } from '../../src/extension/residualTreeItems';
import { formatEdits } from '../../src/extension/summaryText';
import { TextPositions } from '../../src/extension/textPositions';
import { unknownCountAt, unknownLayerProblems } from '../../src/extension/unknownLayers';
import { configPairs as configPairsOf, graphSnapshot } from '../../src/extension/graphSnapshot';
import { fixturePath } from './fixturePath';

const open = (name: string, text: string) => openModel(name, new TextEncoder().encode(text));
const stages = (items: (StageItem | NoteItem)[]): StageItem[] => items.filter((i): i is StageItem => i.kind === 'stage');

describe('LAuReL Residuals view (tree data, no vscode)', () => {
  it('groups ResNet-50 (Keras 1, one line) into its four stages of 3, 4, 6 and 3 blocks', () => {
    const text = readFileSync(fixturePath('keras1-resnet50-kerasjs.json'), 'utf8');
    const m = open('resnet50.json', text);
    const tree = stages(residualTree(m, DEFAULT_OPTIONS));
    assert.deepEqual(tree.map((s) => s.sites.length), [3, 4, 6, 3]);
    assert.deepEqual(tree.flatMap((s) => s.siteIds), m.sites.map((s) => s.id));
    assert.deepEqual(tree.map((s) => s.sites[0]!.description.replace(/ · plain$/, '')), ['projection · D=256', 'projection · D=512', 'projection · D=1024', 'projection · D=2048']);
    assert.match(tree[0]!.description, /^\(\?, 55, 55, 256\) · 3 residuals$|^\(\?, 56, 56, 256\) · 3 residuals$/);
  });

  it('prices each variant as 2rD, 2, k (the paper\'s counts) and marks the current one', () => {
    const m = open('resnet50.json', readFileSync(fixturePath('keras1-resnet50-kerasjs.json'), 'utf8'));
    // The last block of stage 2: PA's k = 3 earlier activations of its shape all exist there.
    const stage2 = stages(residualTree(m, DEFAULT_OPTIONS))[1]!;
    const site = stage2.sites[3]!;
    const by = new Map(site.variants.map((v) => [v.choice.variant, v]));
    // D = 512, r = 16: LR adds 2·16·512 = 16,384; RW 2 (softmax); PA k = 3; plain is current.
    assert.match(by.get('lr')!.description, /^\+16,384 \(0\.0\d+%\) params$/);
    assert.equal(by.get('lr')!.description.split(' ')[0], `+${(2 * 16 * 512).toLocaleString('en-US')}`);
    assert.match(by.get('rw')!.description, /^\+2 \(<0\.0001%\) params$/);
    assert.match(by.get('pa')!.description, /^\+3 \(<0\.0001%\) params$/);
    assert.equal(by.get('plain')!.current, true);
    assert.equal(by.get('plain')!.description, '+0 · current');
    assert.ok(site.variants.every((v) => !v.capped));
    assert.equal(instanceCost(by.get('rw+lr')!.choice, 512).params, 2 + 2 * 16 * 512);
    // The stage's first block has no earlier activation of its shape but its own input: PA wires (and prices) fewer.
    const firstPa = stage2.sites[0]!.variants.find((v) => v.choice.variant === 'pa')!;
    assert.match(firstPa.description, /^\+[0-2] \(<0\.0001%\) params$/);
  });

  it('is the same for a one-line and a formatted file, and each site has its layer\'s span in both', () => {
    const formatted = readFileSync(join(__dirname, '..', '..', '..', 'examples', 'resnet-mini.json'), 'utf8');
    const oneLine = JSON.stringify(JSON.parse(formatted));
    const a = open('a.json', formatted);
    const b = open('b.json', oneLine);
    const strip = (x: unknown): unknown => JSON.parse(JSON.stringify(x));
    assert.deepEqual(strip(residualTree(b, DEFAULT_OPTIONS)), strip(residualTree(a, DEFAULT_OPTIONS)));
    const pos = new TextPositions(oneLine, b.doc.text);
    for (const s of b.sites) {
      const span = siteSpan(b, s)!;
      const layer = JSON.parse(oneLine.slice(span.offset, span.offset + span.length)) as { config: { name: string } };
      assert.equal(layer.config.name, s.merge);
      assert.equal(pos.position(span.offset).line, 0);
      assert.equal(pos.position(span.offset + span.length).line, 0, 'the whole layer on the one line');
    }
    // The same after formatting with the extension's own formatter.
    const reformatted = applyEdits(oneLine, formatEdits(oneLine));
    assert.deepEqual(strip(residualTree(open('c.json', reformatted), DEFAULT_OPTIONS)), strip(residualTree(a, DEFAULT_OPTIONS)));
  });

  it('flags and caps r ≥ D per site (D=16 gets r=8), leaves wider sites alone', () => {
    const m = open('mini.json', readFileSync(join(__dirname, '..', '..', '..', 'examples', 'resnet-mini.json'), 'utf8'));
    const sites = stages(residualTree(m, DEFAULT_OPTIONS)).flatMap((s) => s.sites);
    const narrow = sites.find((s) => s.siteId === 'block1_add')!.variants.find((v) => v.choice.variant === 'lr')!;
    assert.equal(narrow.capped, true);
    assert.equal(narrow.choice.options.rank, 8);
    assert.equal(narrow.label, 'LR r=8');
    assert.match(narrow.tooltip, /r=16 ≥ D=16 is not low-rank: capped to r=8/);
    const wide = sites.find((s) => s.siteId === 'block3_add')!.variants.find((v) => v.choice.variant === 'lr')!;
    assert.equal(wide.capped, false);
    assert.equal(wide.choice.options.rank, 16);
  });
});

describe('Residuals view tooltips', () => {
  // A hover in a tree covers the rows under it: every tooltip is at most two short lines (the variants and
  // their costs are the site's children, not repeated in its hover).
  it('are at most two lines of at most 160 characters, on real models and on one with an unknown layer', () => {
    const custom = JSON.parse(readFileSync(fixturePath('keras3-transformer-encoder-opsAdd-dotkeras-config.json'), 'utf8')) as { config: { layers: { class_name: string; config: { name: string } }[] } };
    custom.config.layers.find((l) => l.config.name === 'multi_head_attention_1')!.class_name = 'MyEncoderBlock';
    const models = [
      open('r50.json', readFileSync(fixturePath('keras1-resnet50-kerasjs.json'), 'utf8')),
      open('inc.json', readFileSync(fixturePath('tfjs-legacy-inceptionv3-tensorspace.json'), 'utf8')),
      open('mini.json', readFileSync(join(__dirname, '..', '..', '..', 'examples', 'resnet-mini.json'), 'utf8')),
      open('custom.json', JSON.stringify(custom)),
    ];
    let seen = 0;
    for (const m of models) {
      for (const top of residualTree(m, DEFAULT_OPTIONS)) {
        const items = top.kind === 'note' ? [top] : top.sites.flatMap((s) => [s, ...s.variants]);
        for (const item of items) {
          const lines = item.tooltip.split('\n');
          assert.ok(lines.length <= 2 && lines.every((l) => l.length <= 160), `${m.doc.fileName} ${item.label}: ${item.tooltip}`);
          seen++;
        }
      }
    }
    assert.ok(seen > 100, `${seen} tooltips`);
  });
});

describe('layers of unknown class', () => {
  // The Keras 3 transformer fixture with its second attention layer turned into a project's own class, as a
  // file saved from a model with a custom layer looks.
  const real = readFileSync(fixturePath('keras3-transformer-encoder-opsAdd-dotkeras-config.json'), 'utf8');
  const json = JSON.parse(real) as { config: { layers: { class_name: string; module?: string; config: { name: string } }[] } };
  const layer = json.config.layers.find((l) => l.config.name === 'multi_head_attention_1')!;
  layer.class_name = 'MyEncoderBlock';
  layer.module = 'my_project.layers';
  const text = JSON.stringify(json);
  const m = open('custom.json', text);

  it('gives one warning naming class and layer, located at the layer object', () => {
    const problems = unknownLayerProblems(m);
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.layer, 'multi_head_attention_1');
    assert.equal(problems[0]!.className, 'MyEncoderBlock');
    assert.match(problems[0]!.message, /Layer 'multi_head_attention_1' has class 'MyEncoderBlock', which LAuReL does not know/);
    const span = problems[0]!.span!;
    const obj = JSON.parse(text.slice(span.offset, span.offset + span.length)) as { class_name: string; config: { name: string } };
    assert.deepEqual([obj.class_name, obj.config.name], ['MyEncoderBlock', 'multi_head_attention_1']);
    assert.deepEqual(unknownLayerProblems(open('real.json', real)), [], 'the real file has none');
  });

  it('the lens counts and names them, says residuals may hide, and explains the lower bound', () => {
    const lens = buildLenses(m, DEFAULT_OPTIONS)[0]!;
    assert.match(lens.title, /: ≥[\d,]+ params .* · ⚠ 1 unknown layer: multi_head_attention_1 \(MyEncoderBlock\) · \d+ residuals? found \(more may hide inside unknown layers\)/);
    assert.match(lens.tooltip!, /≥: a lower bound\. 1 layer is of a class LAuReL does not know/);
  });

  it('the view starts with a note, and a ? after the unknown layer explains itself', () => {
    const top = residualTree(m, DEFAULT_OPTIONS)[0]!;
    assert.equal(top.kind, 'note');
    assert.equal(top.label, '1 layer of unknown class: residuals inside may be hidden');
    // The layers after it have no count; hovering one says why and names the culprit.
    const after = m.analysis.layers.get('layer_normalization_2')!;
    assert.equal(after.params, null);
    const at = text.indexOf('"layer_normalization_2"');
    const hover = unknownCountAt(m, at)!;
    assert.match(hover.text, /^layer_normalization_2: parameters \? \(unknown\): .*Layers of unknown class in this model: multi_head_attention_1 \(MyEncoderBlock\)\.$/);
    assert.equal(unknownCountAt(m, text.indexOf('"dense_3"')), undefined, 'a layer before it is counted');
    const node = graphSnapshot(m).nodes.find((n) => n.layer === 'layer_normalization_2')!;
    assert.match(node.note!, /layers of unknown class: multi_head_attention_1 \(MyEncoderBlock\)/);
  });
});

describe('graph properties panel data', () => {
  it('carries each layer\'s config (kernel, strides, activation, the laurel block), compact and cut short', () => {
    const text = readFileSync(join(__dirname, '..', '..', '..', 'examples', 'resnet-mini.json'), 'utf8');
    const m = open('mini.json', text);
    const conv = graphSnapshot(m).nodes.find((n) => n.layer === 'stem_conv')!;
    const cfg = new Map(conv.config);
    assert.equal(cfg.get('filters'), '16');
    assert.equal(cfg.get('kernel_size'), '[3,3]');
    assert.equal(cfg.get('strides'), '[1,1]');
    assert.ok(cfg.has('activation'));
    assert.ok(!cfg.has('name'), 'the name is the title already');
    const applied = open('mini2.json', applyEdits(text, planModel(m, 'block1_add=rw+lr:r=4').edits));
    const merge = graphSnapshot(applied).nodes.find((n) => n.layer === 'block1_add')!;
    assert.equal(merge.className, 'LaurelResidual');
    const laurel = new Map(merge.config).get('laurel')!;
    assert.match(laurel, /"variant":"rw\+lr"/);
    assert.match(laurel, /"rank":4/);
    const long = configPairsOf({ name: 'x', big: 'a'.repeat(500) });
    assert.equal(long[0]![1].length, 160);
    assert.ok(long[0]![1].endsWith('…'));
  });
});
