import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { exportText, EXPORT_TARGETS } from '../../src/core/export/exportText';
import { choiceSpec } from '../../src/core/laurel/planSpec';
import { DEFAULT_OPTIONS, variantLabel, type VariantOptions } from '../../src/core/laurel/variants';
import type { OpenModel } from '../../src/core/model';
import { applyEdits } from '../../src/core/write/planEdits';
import { deltaText } from '../../src/report/figures';
import { modelOutputs } from '../../src/trainer/trainingGraph';
import { planChoice } from '../../src/extension/choicePlan';
import { COMPARE_VARIANTS, type CommandAnswer, type CommandQuery } from '../../src/extension/commandFacts';
import { LensEngine } from '../../src/extension/lensEngine';
import { costWith, currentCost, siteAtOffset, siteSpan } from '../../src/extension/modelFacts';
import { formatEdits, summaryDocument } from '../../src/extension/summaryText';
import { variantPicks } from '../../src/extension/variantPicks';
import { fixturePath } from './fixturePath';

/** dist/analysisWorker.js, built by esbuild.mjs (npm test's pretest builds it). */
function workerFile(): string {
  for (let dir = __dirname, i = 0; i < 5; i++, dir = resolve(dir, '..')) {
    const p = resolve(dir, 'dist', 'analysisWorker.js');
    if (existsSync(p)) return p;
  }
  throw new Error('dist/analysisWorker.js not found: run node esbuild.mjs');
}

const read = (f: string): string => readFileSync(fixturePath(f), 'utf8');
const resnet = JSON.stringify(JSON.parse(read('tfjs-legacy-resnet50-tensorspace.json')), null, 2);
const options: VariantOptions = { ...DEFAULT_OPTIONS, rank: 8 };

/**
 * The command's answer from the worker, beside the OpenModel the host used to get for it (also read in the
 * worker, then copied to the host by structured clone): each test checks that the answer is what the host
 * computed from that copy before.
 */
async function both(engine: LensEngine, key: string, text: string, query: CommandQuery): Promise<{ answer: CommandAnswer; model: OpenModel }> {
  const [a, m] = await Promise.all([engine.command(key, { fileName: 'm.json', text, options, query }), engine.model(key, { fileName: 'm.json', text })]);
  assert.ok(a?.ok, a && !a.ok ? a.error.message : 'superseded');
  assert.ok(m?.ok);
  return { answer: a.answer, model: m.model };
}

describe('Command facts: what a command needs, made in the analysis worker', () => {
  let engine: LensEngine;
  beforeEach(() => (engine = new LensEngine({ workerFile: workerFile(), workerAbove: 0, debounceMs: 0 })));
  afterEach(() => engine.dispose());

  it('the variant picks are those the host made from the whole model (every residual, some, and with variants already in the file)', async () => {
    const plain = resnet;
    const first = await both(engine, 'a', plain, { what: 'picks', preferred: 'rw' });
    const rwText = (() => {
      const ids = first.model.sites.slice(0, 4).map((s) => s.id);
      const plan = planChoice(first.model, { variant: 'rw', options }, ids);
      assert.equal(plan.kind, 'edits');
      return applyEdits(plain, plan.kind === 'edits' ? plan.edits : []);
    })();
    for (const [text, preferred, siteIds] of [
      [plain, 'rw', undefined],
      [plain, 'lr', ['add_3', 'add_7']],
      [rwText, 'rw+lr', undefined],
      [rwText, 'pa', ['add_1']],
      [read('keras3-transformer-encoder-opsAdd-dotkeras-config.json'), 'rw', undefined],
      [read('keras-resnet18-custom-doubleencoded.json'), 'gemma', undefined],
    ] as const) {
      const { answer, model } = await both(engine, 'b', text, { what: 'picks', preferred, ...(siteIds ? { siteIds: [...siteIds] } : {}) });
      assert.equal(answer.what, 'picks');
      assert.equal(answer.sites, model.sites.length);
      assert.ok(answer.sites > 0);
      if (answer.what === 'picks') assert.deepEqual(answer.picks, variantPicks(model, options, preferred, siteIds));
    }
    const rw = await both(engine, 'b', rwText, { what: 'picks', preferred: 'rw' });
    assert.ok(rw.answer.what === 'picks' && rw.answer.picks.at(-1)!.variant === 'plain', 'plain is offered where a residual has a variant');
    assert.ok(first.answer.what === 'picks' && !first.answer.picks.some((p) => p.variant === 'plain'), 'not where every residual is plain');
  });

  it('Apply at Cursor: the residual whose merge layer holds the cursor, else every residual as the pick listed it', async () => {
    const { model } = await both(engine, 'a', resnet, { what: 'reads' });
    for (const site of model.sites) {
      const span = siteSpan(model, site)!;
      const { answer } = await both(engine, 'a', resnet, { what: 'sites', offset: span.offset + 1 });
      assert.ok(answer.what === 'sites');
      assert.equal(answer.atCursor?.label, siteAtOffset(model, span.offset + 1)!.id);
      assert.deepEqual(answer.list, [], 'no list crosses the thread when the cursor is on a residual');
    }
    const { answer } = await both(engine, 'a', resnet, { what: 'sites', offset: 0 });
    assert.ok(answer.what === 'sites' && !answer.atCursor);
    assert.deepEqual(
      answer.list,
      model.sites.map((s) => ({ label: s.id, description: `D=${s.width ?? '?'} · now ${variantLabel(s.current)}`, detail: `${s.shortcutKind}: ${s.branchLayer} ← ${s.forkLayer}` })),
    );
    assert.deepEqual(answer.list[0], { label: 'add_1', description: 'D=256 · now plain', detail: 'projection: bn2a_branch2c ← max_pooling2d_1' });
    // A model held in a JSON string: its offsets are not the editor's, so the cursor is not looked at.
    const s = await both(engine, 'c', read('keras-resnet18-custom-doubleencoded.json'), { what: 'sites', offset: 1000 });
    assert.ok(s.answer.what === 'sites' && !s.answer.atCursor && s.answer.container === 'json-string');
    assert.equal(s.answer.list.length, s.model.sites.length);
  });

  it("Compare's picks: the Apply picks of every residual, in Compare's order, priced over plain", async () => {
    for (const text of [resnet, read('keras-resnet18-custom-doubleencoded.json')]) {
      const { answer, model } = await both(engine, 'a', text, { what: 'compare' });
      assert.ok(answer.what === 'compare');
      // What trainingSession.ts made on the host before.
      const old = variantPicks(model, options, 'rw+lr')
        .filter((p) => COMPARE_VARIANTS.includes(p.variant))
        .sort((a, b) => COMPARE_VARIANTS.indexOf(a.variant) - COMPARE_VARIANTS.indexOf(b.variant))
        .map((p) => {
          const added = costWith(model, { variant: p.variant, options }).addedParams;
          const description = `${deltaText(added, currentCost(model).baseParams)} params over plain on ${model.sites.length} residual${model.sites.length === 1 ? '' : 's'}`;
          return { ...p, description, spec: choiceSpec({ variant: p.variant, options }), picked: p.variant === 'rw' || p.variant === 'rw+lr' };
        });
      assert.deepEqual(answer.picks, old);
      assert.deepEqual(
        answer.picks.map((p) => p.variant),
        COMPARE_VARIANTS,
      );
    }
  });

  it('Show Summary, the outputs, Format and every export are what the host made from the model', async () => {
    for (const text of [resnet, read('keras-resnet18-custom-doubleencoded.json'), read('keras3-transformer-encoder-opsAdd-dotkeras-config.json')]) {
      const summary = await both(engine, 'a', text, { what: 'summary' });
      assert.ok(summary.answer.what === 'summary');
      assert.equal(summary.answer.text, summaryDocument(summary.model, options));
      assert.match(summary.answer.text, /Total params/);
      const outputs = await both(engine, 'a', text, { what: 'outputs' });
      assert.ok(outputs.answer.what === 'outputs');
      assert.deepEqual(outputs.answer.outputs, modelOutputs(outputs.model));
      const format = await both(engine, 'a', text, { what: 'format', eol: '\r\n' });
      assert.ok(format.answer.what === 'format');
      assert.deepEqual(format.answer.edits, format.model.doc.container === 'plain' ? formatEdits(format.model.doc.text, '\r\n') : []);
      for (const target of EXPORT_TARGETS) {
        const { answer, model } = await both(engine, 'a', text, { what: 'export', target });
        assert.ok(answer.what === 'export');
        let expected: unknown;
        try {
          expected = exportText(model, target, new Map());
        } catch (e) {
          expected = { error: (e as Error).message };
        }
        assert.deepEqual(answer.export, expected);
      }
    }
    // Format of a file already formatted: nothing to do; of a minified one: whitespace only.
    const min = JSON.stringify(JSON.parse(resnet));
    const f = await both(engine, 'b', min, { what: 'format', eol: '\n' });
    assert.ok(f.answer.what === 'format' && f.answer.edits.length > 1000);
    assert.equal(applyEdits(min, f.answer.edits).replace(/\s/g, ''), min.replace(/\s/g, ''));
    assert.equal(applyEdits(min, f.answer.edits), resnet);
  });

  it('a file that does not read answers its error, the same message as the model read gave', async () => {
    const bad = resnet.slice(0, 5000);
    const [a, m] = await Promise.all([engine.command('a', { fileName: 'm.json', text: bad, options, query: { what: 'picks', preferred: 'rw' } }), engine.model('a', { fileName: 'm.json', text: bad })]);
    assert.ok(a && !a.ok && m && !m.ok);
    assert.equal(a.error.message, m.error.message);
    assert.match(a.error.message, /malformed JSON/);
  });

  it('a model without residuals says so (0 sites) rather than offering picks that do nothing', async () => {
    const { answer } = await both(engine, 'a', read('tfjs-browser-saved-lenet-tensorspace.json'), { what: 'picks', preferred: 'rw' });
    assert.equal(answer.sites, 0);
  });

  it('different commands of one document do not supersede each other; a closed document forgets them', async () => {
    const asked = (['summary', 'compare', 'outputs', 'reads'] as const).map((what) => engine.command('a', { fileName: 'm.json', text: resnet, options, query: { what } }));
    const answers = await Promise.all(asked);
    assert.ok(answers.every((r) => r?.ok));
    assert.equal(engine.counts.superseded, 0);
    assert.equal(await engine.command('a', { fileName: 'm.json', text: resnet, options, query: { what: 'summary' } }), answers[0], 'the same question of the same text: cached');
    engine.forget('a');
    assert.notEqual(await engine.command('a', { fileName: 'm.json', text: resnet, options, query: { what: 'summary' } }), answers[0]);
  });
});
