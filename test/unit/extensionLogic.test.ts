import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_OPTIONS } from '../../src/core/laurel/variants';
import type { VariantChoice } from '../../src/core/laurel/variants';
import { openModel, planModel } from '../../src/core/model';
import { applyEdits, planEdits } from '../../src/core/write/planEdits';
import { buildLenses, COMMANDS } from '../../src/extension/lensSpecs';
import { capRank, capText, costWith, deltaParams, rankCaps, siteAtOffset, siteSpan } from '../../src/extension/modelFacts';
import { looksLikeModelText } from '../../src/extension/modelSniff';
import { readBackend, readCodeLensEnabled, readDefaultVariant, readEngineSettings, readVariantOptions } from '../../src/extension/settings';
import { formatEdits, summaryDocument } from '../../src/extension/summaryText';
import { errorPosition, TextPositions } from '../../src/extension/textPositions';
import { checkPositiveInt, usesK, usesRank, variantPicks } from '../../src/extension/variantPicks';
import { fixturePath } from './fixturePath';

const root = join(__dirname, '..', '..', '..');
const resnetText = readFileSync(join(root, 'examples', 'resnet-mini.json'), 'utf8');
const open = (text: string, name = 'm.json') => openModel(name, new TextEncoder().encode(text));
const lineOf = (text: string, modelText: string) => {
  const p = new TextPositions(text, modelText);
  return (o: number): number => p.position(o).line;
};

describe('extension logic (no vscode)', () => {
  describe('model sniff', () => {
    it('recognises Keras, Keras 3, TF.js and doubly encoded models by their first characters', () => {
      assert.ok(looksLikeModelText(resnetText));
      assert.ok(looksLikeModelText('{"format": "layers-model", "modelTopology": {}}'));
      assert.ok(looksLikeModelText(readFileSync(fixturePath('keras-resnet18-custom-doubleencoded.json'), 'utf8')));
      assert.ok(!looksLikeModelText('{"name": "x", "version": "1.0.0", "dependencies": {}}'));
      assert.ok(!looksLikeModelText(' '.repeat(5000) + '"class_name" "config"'), 'only the head is read');
    });
  });

  describe('offsets to positions', () => {
    it('maps offsets to 0-based lines and characters, and back', () => {
      const text = '{\n  "a": 1,\n  "b": [2]\n}';
      const p = new TextPositions(text, text);
      assert.deepEqual(p.position(0), { line: 0, character: 0 });
      assert.deepEqual(p.position(text.indexOf('"b"')), { line: 2, character: 2 });
      assert.equal(p.modelOffset({ line: 2, character: 2 }), text.indexOf('"b"'));
      assert.equal(p.lineCount, 4);
    });
    it('shifts by one when the editor keeps a BOM the reader dropped', () => {
      const model = '{"a":\n1}';
      const p = new TextPositions('\ufeff' + model, model);
      assert.equal(p.shift, 1);
      assert.deepEqual(p.position(0), { line: 0, character: 1 });
      assert.deepEqual(p.position(model.indexOf('1')), { line: 1, character: 0 });
      assert.equal(p.modelOffset({ line: 0, character: 1 }), 0);
      assert.equal(new TextPositions(model, model).shift, 0);
    });
    it('puts a ModelError line:column (1-based) at the 0-based position, BOM on line 1 only', () => {
      assert.deepEqual(errorPosition(3, 5, 1), { line: 2, character: 4 });
      assert.deepEqual(errorPosition(1, 5, 1), { line: 0, character: 5 });
      assert.deepEqual(errorPosition(undefined, undefined, 0), { line: 0, character: 0 });
    });
    it('a WorkspaceEdit built from the mapped ranges gives the same text as applyEdits', () => {
      const m = open(resnetText);
      const edits = planModel(m, 'all=rw+lr+pa').edits;
      const doc = '\ufeff' + resnetText;
      const p = new TextPositions(doc, m.doc.text);
      // Apply through positions, as the extension does, bottom-up.
      const lines = doc.split('\n');
      const offsetOf = (pos: { line: number; character: number }): number => lines.slice(0, pos.line).reduce((n, l) => n + l.length + 1, 0) + pos.character;
      let out = doc;
      for (const e of [...edits].sort((a, b) => b.offset - a.offset)) {
        const s = offsetOf(p.position(e.offset));
        const end = offsetOf(p.position(e.offset + e.length));
        out = out.slice(0, s) + e.content + out.slice(end);
      }
      assert.equal(out, '\ufeff' + applyEdits(resnetText, edits));
    });
  });

  describe('lenses', () => {
    const m = open(resnetText);
    const lenses = buildLenses(m, DEFAULT_OPTIONS, lineOf(resnetText, m.doc.text));

    it('puts the model totals on the model object line', () => {
      const top = lenses[0]!;
      assert.equal(top.line, 0);
      assert.equal(top.title, 'resnet_mini: 43,418 params (42,938 trainable, 480 non-trainable) · 4 residuals · all plain');
      assert.equal(top.command, COMMANDS.showSummary);
      assert.ok(lenses.some((l) => l.line === 0 && l.command === COMMANDS.applyVariantAll));
      assert.ok(!lenses.some((l) => l.command === COMMANDS.revertAll), 'nothing to revert in a plain model');
    });
    it('gives each residual an info lens and one lens per variant, on its layer object line', () => {
      const site = m.sites.find((s) => s.id === 'block3_add')!;
      const line = lineOf(resnetText, m.doc.text)(siteSpan(m, site)!.offset);
      assert.match(resnetText.split('\n')[line]!, /^\s*\{\s*$/);
      assert.match(resnetText.split('\n')[line + 1]!, /"class_name": "Add"/);
      const here = lenses.filter((l) => l.line === line).map((l) => l.title);
      assert.deepEqual(here, [
        'residual block3_add · D=32 · now plain',
        'RW +2 (0.0046%)',
        'LR r=16 +1,024 (2.36%)',
        'RW+LR r=16 +1,026 (2.36%)',
        'PA k=3 +1 (0.0023%)', // block3 starts the D=32 stage: x alone, one γ
        'Gemma3n r=16 +1,056 (2.43%)',
      ]);
      const lr = lenses.find((l) => l.line === line && l.title.startsWith('LR'))!;
      assert.equal(lr.command, COMMANDS.applyVariantToSites);
      assert.deepEqual(lr.args, [['block3_add'], { variant: 'lr', options: DEFAULT_OPTIONS }]);
      assert.equal(new Set(lenses.filter((l) => l.title.startsWith('residual ')).map((l) => l.line)).size, 4);
    });
    it('after applying, the site says what it is now, offers plain back, and the model lens shows the delta', () => {
      const text = applyEdits(resnetText, planModel(m, 'block1_add=rw+lr').edits);
      const m2 = open(text);
      const l2 = buildLenses(m2, DEFAULT_OPTIONS, lineOf(text, m2.doc.text));
      assert.match(l2[0]!.title, /LAuReL on 1\/4 \+514 \(1\.18%\)$/);
      assert.ok(l2.some((l) => l.command === COMMANDS.revertAll));
      assert.ok(l2.some((l) => l.title === 'residual block1_add · D=16 · now RW+LR r=16'));
      assert.ok(l2.some((l) => l.title === 'plain −514 (1.18%)'));
      // Other variants show their own cost over a plain add, not the difference from the current one.
      // At D=16 the settings' r=16 is not low-rank: the lens offers r=8 (⌊D/2⌋), flagged, with the cap in its tooltip.
      const lr = l2.find((l) => l.title.startsWith('⚠ LR') && (l.args[0] as string[])[0] === 'block1_add')!;
      assert.equal(lr.title, '⚠ LR r=8 +256 (0.59%)');
      assert.match(lr.tooltip!, /r=16 ≥ D=16: capped to ⌊D\/2⌋/);
      assert.deepEqual(lr.args[1], { variant: 'lr', options: { ...DEFAULT_OPTIONS, rank: 8 } });
      assert.ok(!l2.some((l) => l.title.startsWith('RW+LR r=16') && (l.args[0] as string[] | undefined)?.[0] === 'block1_add'));
    });
    it('a one-line file gets the model lens and a format lens, no per-residual lenses', () => {
      const oneLine = JSON.stringify(JSON.parse(resnetText));
      const m1 = open(oneLine);
      const l1 = buildLenses(m1, DEFAULT_OPTIONS, lineOf(oneLine, m1.doc.text));
      assert.ok(l1.every((l) => l.line === 0));
      assert.ok(l1.some((l) => l.command === COMMANDS.formatModel));
      assert.ok(!l1.some((l) => l.title.startsWith('residual ')));
    });
    it('without a line mapping (JSON string, .keras) only model-level lenses, on line 0', () => {
      const m3 = openModel('d.json', readFileSync(fixturePath('keras-resnet18-custom-doubleencoded.json')));
      assert.equal(m3.doc.container, 'json-string');
      const l3 = buildLenses(m3, DEFAULT_OPTIONS);
      assert.ok(l3.length >= 2 && l3.every((l) => l.line === 0));
      assert.ok(!l3.some((l) => l.command === COMMANDS.applyVariantToSites || l.command === COMMANDS.formatModel));
    });
  });

  describe('format model file', () => {
    it('puts a one-line model on many lines with whitespace-only edits that keep write-back working', () => {
      const oneLine = JSON.stringify(JSON.parse(resnetText)).replace('"dtype":"float32"', '"dtype":"float32","eps":1e-07');
      const text = applyEdits(oneLine, formatEdits(oneLine));
      assert.ok(text.split('\n').length > 100);
      assert.equal(text.replace(/\s/g, ''), oneLine.replace(/\s/g, ''));
      assert.ok(text.includes('1e-07'), 'numbers keep their spelling');
      const m = open(text);
      const l = buildLenses(m, DEFAULT_OPTIONS, lineOf(text, m.doc.text));
      assert.equal(l.filter((x) => x.title.startsWith('residual ')).length, 4);
      const applied = applyEdits(text, planModel(m, 'all=rw').edits);
      assert.equal(open(applied).sites.filter((s) => s.current.variant === 'rw').length, 4);
    });
  });

  describe('cursor and costs', () => {
    const m = open(resnetText);
    it('finds the residual whose layer object holds the cursor', () => {
      const at = resnetText.indexOf('"name": "block2_add"');
      assert.equal(siteAtOffset(m, at)?.id, 'block2_add');
      assert.equal(siteAtOffset(m, resnetText.indexOf('"name": "stem_conv"')), undefined);
    });
    it('prices a choice against what the file holds now', () => {
      const rwlr: VariantChoice = { variant: 'rw+lr', options: DEFAULT_OPTIONS };
      // block1/2 (D=16) get r=8 (the cap): 2 + 2·8·16 = 258 each; block3/4 (D=32) keep r=16: 2 + 2·16·32 = 1026.
      assert.equal(deltaParams(m, costWith(m, rwlr)), 258 * 2 + 1026 * 2);
      assert.equal(deltaParams(m, costWith(m, rwlr, ['block1_add'])), 258);
      assert.equal(deltaParams(m, costWith(m, rwlr, ['block3_add'])), 1026);
      assert.equal(capText(rwlr, rankCaps(m, rwlr)), 'r=16 ≥ D at 2 residuals (D=16): capped to r=8 (⌊D/2⌋) there');
      assert.deepEqual(rankCaps(m, { variant: 'rw', options: DEFAULT_OPTIONS }), [], 'RW has no rank');
      assert.equal(capRank(rwlr, 9).options.rank, 4);
      assert.equal(capRank(rwlr, 17), rwlr);
      assert.equal(capRank(rwlr, null), rwlr);
      const m2 = open(applyEdits(resnetText, planEdits(m.doc, m.sites, new Map(m.sites.map((s) => [s.id, rwlr])))));
      assert.equal(deltaParams(m2, costWith(m2, { variant: 'plain', options: DEFAULT_OPTIONS })), -(514 * 2 + 1026 * 2));
    });
  });

  describe('quick picks and settings', () => {
    const m = open(resnetText);
    it('lists every variant with its total delta, the preferred one first and plain last', () => {
      const picks = variantPicks(m, DEFAULT_OPTIONS, 'lr');
      assert.equal(picks[0]!.variant, 'lr');
      assert.equal(picks[0]!.label, '$(warning) LR r=16');
      assert.match(picks[0]!.detail, /^r=16 ≥ D at 2 residuals \(D=16\): capped to r=8/);
      assert.equal(picks[0]!.description, '+2,560 (5.90%) params on 4 residuals → 45,978 total');
      assert.equal(variantPicks(m, DEFAULT_OPTIONS, 'lr', ['block3_add'])[0]!.label, 'LR r=16', 'D=32: no cap, no flag');
      assert.equal(picks.length, 7, 'nothing to revert: no plain item');
      const m2 = open(applyEdits(resnetText, planModel(m, 'block2_add=lr').edits));
      const p2 = variantPicks(m2, DEFAULT_OPTIONS, 'lr');
      assert.equal(p2[p2.length - 1]!.variant, 'plain');
      assert.equal(p2[p2.length - 1]!.description, '−512 (1.18%) params on 4 residuals → 43,418 total');
      assert.equal(variantPicks(m2, DEFAULT_OPTIONS, 'lr', ['block1_add']).length, 7);
      assert.match(variantPicks(m, DEFAULT_OPTIONS, 'rw', ['block1_add'])[0]!.description, /^\+2 \(0\.0046%\) params on 1 residual → 43,420 total$/);
    });
    it('asks for r and k only where the variant uses them', () => {
      const c = (variant: VariantChoice['variant'], paMode = DEFAULT_OPTIONS.paMode): VariantChoice => ({ variant, options: { ...DEFAULT_OPTIONS, paMode } });
      assert.deepEqual([usesRank(c('rw')), usesK(c('rw'))], [false, false]);
      assert.deepEqual([usesRank(c('rw+lr')), usesK(c('rw+lr'))], [true, false]);
      assert.deepEqual([usesRank(c('pa')), usesK(c('pa'))], [false, true]);
      assert.deepEqual([usesRank(c('pa', 'lowrank-shared')), usesK(c('pa', 'lowrank-shared'))], [true, true]);
      assert.equal(checkPositiveInt('16', 'r'), undefined);
      assert.equal(checkPositiveInt('0', 'r'), 'r must be a positive integer');
      assert.equal(checkPositiveInt('2.5', 'k'), 'k must be a positive integer');
    });
    it('reads settings into VariantOptions, falling back to defaults on bad values', () => {
      const s: Record<string, unknown> = { rank: 8, paK: 2, rwNorm: 'fixed', lrInit: 'column-orthogonal', paMode: 'bogus', defaultVariant: 'gemma', backend: 'wasm' };
      assert.deepEqual(readVariantOptions((k) => s[k]), { rank: 8, k: 2, rwNorm: 'fixed', lrInit: 'column-orthogonal', paMode: 'identity' });
      assert.deepEqual(readVariantOptions(() => undefined), DEFAULT_OPTIONS);
      assert.deepEqual(readVariantOptions((k) => (k === 'rank' ? -3 : undefined)).rank, 16);
      assert.equal(readDefaultVariant((k) => s[k]), 'gemma');
      assert.equal(readDefaultVariant(() => 'nope'), 'rw+lr');
      assert.equal(readBackend((k) => s[k]), 'wasm');
      assert.equal(readCodeLensEnabled(() => undefined), true);
      assert.equal(readCodeLensEnabled(() => false), false);
    });
  });

  it('the summary document has the Keras table, the sites and the current state', () => {
    const text = summaryDocument(open(resnetText, 'resnet-mini.json'), DEFAULT_OPTIONS);
    assert.match(text, /^Model: "resnet_mini"/);
    assert.match(text, /Total params: 43,418/);
    assert.match(text, /Residual sites: 4 \(3 identity, 1 projection\)/);
    assert.match(text, /Every residual is a plain add\./);
  });
});

describe('engine settings', () => {
  const get = (values: Record<string, unknown>) => (k: string): unknown => values[k];
  it('auto unless tfjs or pytorch is asked for; a blank Python path is no path', () => {
    assert.deepEqual(readEngineSettings(get({})), { engine: 'auto' });
    assert.deepEqual(readEngineSettings(get({ 'training.engine': 'pytorch', pythonPath: ' /usr/bin/python3 ' })), { engine: 'pytorch', python: '/usr/bin/python3' });
    assert.deepEqual(readEngineSettings(get({ 'training.engine': 'jax', pythonPath: '  ' })), { engine: 'auto' });
  });
});
