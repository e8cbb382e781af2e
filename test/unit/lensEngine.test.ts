import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_OPTIONS } from '../../src/core/laurel/variants';
import { ANALYSIS_HEAP, LARGE_TEXT_CHARS, LensEngine } from '../../src/extension/lensEngine';
import { runLensJob, type LensResult } from '../../src/extension/lensJob';
import { buildLenses } from '../../src/extension/lensSpecs';
import { decodeLenses, encodeLenses, lensAt } from '../../src/extension/lensTable';
import { graphSnapshot } from '../../src/extension/graphSnapshot';
import { TextPositions } from '../../src/extension/textPositions';
import { unknownCountAt } from '../../src/extension/unknownLayers';
import { residualTree } from '../../src/extension/residualTreeItems';
import { planChoice } from '../../src/extension/choicePlan';
import { applyEdits } from '../../src/core/write/planEdits';
import { openModel } from '../../src/core/model';
import { nodeAt } from '../../src/core/locate';
import { synthModelText } from '../../bench/synthModels';
import { fixturePath } from './fixturePath';

/** dist/analysisWorker.js, built by esbuild.mjs (npm test's pretest builds it). */
function workerFile(): string {
  for (let dir = __dirname, i = 0; i < 5; i++, dir = resolve(dir, '..')) {
    const p = resolve(dir, 'dist', 'analysisWorker.js');
    if (existsSync(p)) return p;
  }
  throw new Error('dist/analysisWorker.js not found: run node esbuild.mjs');
}

const resnet = JSON.stringify(JSON.parse(readFileSync(fixturePath('tfjs-legacy-resnet50-tensorspace.json'), 'utf8')), null, 2);
const job = (text: string): { fileName: string; text: string; options: typeof DEFAULT_OPTIONS } => ({ fileName: 'm.json', text, options: DEFAULT_OPTIONS });
const lenses = (r: LensResult | undefined): unknown => (r?.ok ? decodeLenses(r.lenses) : r);
const open = (text: string) => openModel('m.json', new TextEncoder().encode(text));

/** The Keras 3 transformer fixture with one attention layer of a project's own class (counts after it are unknown). */
function withUnknownLayer(): string {
  const json = JSON.parse(readFileSync(fixturePath('keras3-transformer-encoder-opsAdd-dotkeras-config.json'), 'utf8')) as { config: { layers: { class_name: string; config: { name: string } }[] } };
  json.config.layers.find((l) => l.config.name === 'multi_head_attention_1')!.class_name = 'MyEncoderBlock';
  return JSON.stringify(json, null, 2);
}

describe('LensTable: lenses as lines, one text and offsets', () => {
  it('gives back every lens of real models as built (titles, tooltips or none, commands, arguments)', () => {
    for (const text of [resnet, withUnknownLayer(), synthModelText({ layers: 300, block: 'conv' })]) {
      const m = open(text);
      const positions = new TextPositions(text, m.doc.text);
      const specs = buildLenses(m, DEFAULT_OPTIONS, (o) => positions.position(o).line);
      const table = encodeLenses(specs);
      assert.equal(table.count, specs.length);
      assert.deepEqual(decodeLenses(table), specs);
      assert.ok(specs.some((s) => s.tooltip === undefined) && specs.some((s) => s.args.length > 1), 'both kinds are covered');
    }
  });

  it('keeps every string as UTF-8 bytes, non-ASCII and astral characters included, a lone surrogate as U+FFFD', () => {
    const specs = [
      { line: 0, title: 'RW+LR ×1.9% −3 ≈ 中文 😀', tooltip: 'é\u0301', command: 'laurel.apply', args: ['b0_add', { k: '😀' }] },
      { line: 2, title: '', command: '', args: [] },
      { line: 5, title: 'lone \ud800 high, lone \udc00 low, end \ud83d', command: 'x', args: ['\ud800'] },
    ];
    const table = encodeLenses(specs);
    assert.ok(table.bytes instanceof Uint8Array && !('text' in table), 'no string crosses to the host');
    const all = specs.flatMap((s) => [s.title, s.tooltip ?? '', s.command, JSON.stringify(s.args)]).join('');
    assert.equal(table.bytes.length, new TextEncoder().encode(all).length);
    const back = decodeLenses(table);
    assert.deepEqual(back.slice(0, 2), specs.slice(0, 2));
    assert.equal(back[2]!.title, 'lone \ufffd high, lone \ufffd low, end \ufffd');
    assert.deepEqual(back[2]!.args, ['\ud800'], 'arguments go as JSON, which escapes a lone surrogate');
  });

  it('refuses a lens it does not have', () => {
    const table = encodeLenses([{ line: 3, title: 't', command: '', args: [] }]);
    assert.deepEqual(lensAt(table, 0), { line: 3, title: 't', command: '', args: [] });
    assert.throws(() => lensAt(table, 1), /no lens 1 of 1/);
    assert.throws(() => lensAt(table, -1), RangeError);
  });
});

describe('LensEngine: lenses once per content, large texts in a worker', () => {
  let engine: LensEngine;
  afterEach(() => engine.dispose());

  it('small texts run on the calling thread, and the same text again costs nothing', async () => {
    engine = new LensEngine({ workerFile: workerFile(), workerAbove: Infinity, debounceMs: 0 });
    const first = await engine.request('a', job(resnet));
    assert.ok(first?.ok);
    assert.equal(first.sites, 16);
    assert.deepEqual(first.lenses, (runLensJob(job(resnet)) as { lenses: unknown }).lenses);
    assert.equal(await engine.request('a', job(resnet)), first, 'cached by content');
    assert.equal(await engine.request('a', { ...job(resnet), options: { ...DEFAULT_OPTIONS, rank: 4 } }) === first, false, 'other options are other lenses');
    assert.deepEqual({ ...engine.counts, workersStarted: 0 }, { host: 2, worker: 0, superseded: 0, workersStarted: 0 });
  });

  it('the worker gives the lenses the host would', async () => {
    engine = new LensEngine({ workerFile: workerFile(), workerAbove: 0, debounceMs: 0 });
    const r = await engine.request('a', job(resnet));
    assert.deepEqual(lenses(r), lenses(runLensJob(job(resnet))));
    assert.equal(engine.counts.worker, 1);
  });

  it('a read error comes back located, for the diagnostic', async () => {
    engine = new LensEngine({ workerFile: workerFile(), workerAbove: 0, debounceMs: 0 });
    const r = await engine.request('a', job(resnet.slice(0, 5000)));
    assert.ok(r && !r.ok);
    assert.match(r.error.message, /malformed JSON/);
    assert.ok(r.error.line! > 1);
  });

  it('a burst of edits analyses the last text only', async () => {
    engine = new LensEngine({ workerFile: workerFile(), workerAbove: 0, debounceMs: 50 });
    const texts = [1, 2, 3].map((n) => resnet.replace('"momentum": 0.99', `"momentum": 0.99${n}`));
    const asked = texts.map((t) => engine.request('a', job(t)));
    const [r1, r2, r3] = await Promise.all(asked);
    assert.equal(r1, undefined);
    assert.equal(r2, undefined);
    assert.ok(r3?.ok);
    assert.deepEqual({ ...engine.counts, workersStarted: 0 }, { host: 0, worker: 1, superseded: 2, workersStarted: 0 });
  });

  it('newer text stops a running analysis (its worker is ended) and still gets its lenses', async () => {
    engine = new LensEngine({ workerFile: workerFile(), workerAbove: 0, debounceMs: 0 });
    const big = synthModelText({ layers: 20000, block: 'dense' });
    const slow = engine.request('a', job(big));
    await new Promise((done) => setTimeout(done, 30)); // the worker has the job now
    const fresh = engine.request('a', job(resnet));
    assert.equal(await slow, undefined);
    assert.deepEqual(lenses(await fresh), lenses(runLensJob(job(resnet))));
    assert.deepEqual({ ...engine.counts, workersStarted: 0 }, { host: 0, worker: 1, superseded: 1, workersStarted: 0 });
  });

  it('a model read in the worker arrives whole: sites, counts and shapes as on the host', async () => {
    engine = new LensEngine({ workerFile: workerFile(), workerAbove: 0, debounceMs: 0 });
    const r = await engine.model('a', { fileName: 'm.json', text: resnet });
    assert.ok(r?.ok);
    const host = openModel('m.json', new TextEncoder().encode(resnet));
    assert.deepEqual(r.model.sites, host.sites);
    assert.deepEqual(r.model.params, host.params);
    assert.deepEqual(r.model.analysis.shapes, host.analysis.shapes);
    assert.equal(r.model.doc.text, host.doc.text);
    // Lens and model jobs of one document are separate: neither supersedes the other.
    const [lens, model] = await Promise.all([engine.request('b', job(resnet)), engine.model('b', { fileName: 'm.json', text: resnet })]);
    assert.ok(lens?.ok && model?.ok);
  });

  it('a click locates its layer in the worker as the host would, with no model sent back', async () => {
    engine = new LensEngine({ workerFile: workerFile(), workerAbove: 0, debounceMs: 0 });
    const host = openModel('m.json', new TextEncoder().encode(resnet));
    const layer = host.doc.graph.layers.at(-3)!;
    const node = nodeAt(host.doc, layer.path)!;
    const r = await engine.locate('a', { fileName: 'm.json', text: resnet, layer: layer.name });
    assert.ok(r?.ok);
    assert.deepEqual(r.span, { offset: node.offset, length: node.length });
    assert.ok(resnet.slice(r.span!.offset, r.span!.offset + r.span!.length).includes(`"name": "${layer.name}"`));
    assert.equal(engine.counts.worker, 1);
    // The same layer in the top graph by scope; a missing layer and a model held in a JSON string have no span.
    const scoped = await engine.locate('a', { fileName: 'm.json', text: resnet, layer: layer.name, scope: [] });
    assert.ok(scoped?.ok);
    assert.deepEqual(scoped.span, r.span);
    const missing = await engine.locate('a', { fileName: 'm.json', text: resnet, layer: 'no such layer' });
    assert.ok(missing?.ok && missing.span === undefined);
    const inString = await engine.locate('b', { fileName: 'm.json', text: JSON.stringify(resnet), layer: layer.name });
    assert.ok(inString?.ok && inString.span === undefined);
    const broken = await engine.locate('c', { fileName: 'm.json', text: resnet.slice(0, 5000), layer: layer.name });
    assert.ok(broken && !broken.ok);
  });

  it("reads a large text in a worker with the large young generation, small ones in V8's default heap", async function () {
    this.timeout(60_000);
    engine = new LensEngine({ workerFile: workerFile(), workerAbove: 0, debounceMs: 0 });
    assert.ok((await engine.request('small', job(resnet)))?.ok);
    assert.equal(engine.workerYoungGenerationMb(), 48, "ResNet-50 is read in V8's default heap");
    const big = synthModelText({ layers: 6000, block: 'conv' });
    assert.ok(big.length >= LARGE_TEXT_CHARS, `${big.length} characters`);
    const r = await engine.request('big', job(big));
    assert.deepEqual(lenses(r), lenses(runLensJob(job(big))), 'the large-heap worker answers as the host would');
    assert.equal(engine.workerYoungGenerationMb(), ANALYSIS_HEAP.maxYoungGenerationSizeMb);
    assert.equal(engine.counts.workersStarted, 2, 'the default-heap worker made way');
    assert.ok((await engine.request('small', job(`${resnet}\n`)))?.ok);
    assert.deepEqual([engine.workerYoungGenerationMb(), engine.counts.workersStarted], [ANALYSIS_HEAP.maxYoungGenerationSizeMb, 2], 'a small text after it stays in the same worker');
  });

  it('an edit after a quiet spell starts at once; only a burst waits for the debounce', async function () {
    this.timeout(20_000);
    engine = new LensEngine({ workerFile: workerFile(), workerAbove: 0, debounceMs: 60_000 });
    const r = await engine.request('a', job(resnet));
    assert.ok(r?.ok, 'answered long before the 60 s debounce');
  });

  it('a hover is answered in the worker as the host would, and hovers of the same text never end the worker', async () => {
    engine = new LensEngine({ workerFile: workerFile(), workerAbove: 0, debounceMs: 0 });
    const text = withUnknownLayer();
    const m = open(text);
    const at = text.indexOf('"layer_normalization_2"');
    const first = engine.hover('a', { fileName: 'm.json', text, offset: 10 });
    const second = engine.hover('a', { fileName: 'm.json', text, offset: at });
    assert.equal(await first, undefined, 'superseded by the later hover');
    const r = await second;
    assert.ok(r?.ok);
    assert.deepEqual(r.hit, unknownCountAt(m, at));
    assert.match(r.hit!.text, /^layer_normalization_2: parameters \? \(unknown\)/);
    assert.equal(engine.counts.workersStarted, 1, 'the first hover ran to its end in the same worker');
    const none = await engine.hover('a', { fileName: 'm.json', text, offset: text.indexOf('"dense_3"') });
    assert.ok(none?.ok && none.hit === undefined, 'a layer before it is counted');
    const plain = await engine.hover('b', { fileName: 'm.json', text: resnet, offset: 500 });
    assert.ok(plain?.ok && plain.hit === undefined, 'a model without unknown layers has nothing to say');
  });

  it('the graph snapshot comes as the UTF-8 JSON of the snapshot the host would build', async () => {
    engine = new LensEngine({ workerFile: workerFile(), workerAbove: 0, debounceMs: 0 });
    for (const text of [resnet, withUnknownLayer()]) {
      const r = await engine.graph('a', { fileName: 'm.json', text, options: DEFAULT_OPTIONS });
      assert.ok(r?.ok);
      assert.ok(r.graph instanceof Uint8Array);
      assert.equal(new TextDecoder().decode(r.graph), JSON.stringify(graphSnapshot(open(text), DEFAULT_OPTIONS)));
    }
    const broken = await engine.graph('a', { fileName: 'm.json', text: resnet.slice(0, 5000), options: DEFAULT_OPTIONS });
    assert.ok(broken && !broken.ok);
    assert.match(broken.error.message, /malformed JSON/);
  });

  it('a byte-order mark crosses to the worker and keeps the lenses on their lines', async () => {
    engine = new LensEngine({ workerFile: workerFile(), workerAbove: 0, debounceMs: 0 });
    const r = await engine.request('a', job(`\ufeff${resnet}`));
    assert.deepEqual(lenses(r), lenses(runLensJob(job(`\ufeff${resnet}`))));
    assert.ok(r?.ok && r.lenses.count === 99);
  });

  it('the Residuals view gets its rows from the worker, and each site\'s variants when it opens, as the host would make them', async () => {
    engine = new LensEngine({ workerFile: workerFile(), workerAbove: 0, debounceMs: 0 });
    const m = open(resnet);
    const r = await engine.residuals('a', { fileName: 'm.json', text: resnet, options: DEFAULT_OPTIONS });
    assert.ok(r?.ok);
    assert.deepEqual(r.tree, residualTree(m, DEFAULT_OPTIONS, false));
    assert.deepEqual([r.name, r.sites, r.unknownLayers, r.container], [m.doc.graph.name, 16, 0, 'plain']);
    const full = residualTree(m, DEFAULT_OPTIONS).flatMap((t) => (t.kind === 'stage' ? t.sites : []));
    assert.equal(full.length, 16);
    assert.ok(r.tree.every((t) => t.kind !== 'stage' || t.sites.every((x) => x.variants.length === 0)), 'rows come without their variants');
    // Two rows opened at once: both get their variants (one site's request does not supersede another's).
    const [a, b] = await Promise.all(full.slice(0, 2).map((x) => engine.variants('a', { fileName: 'm.json', text: resnet, options: DEFAULT_OPTIONS, layer: x.siteId })));
    assert.ok(a?.ok && b?.ok);
    assert.deepEqual(a.variants, full[0]!.variants);
    assert.deepEqual(b.variants, full[1]!.variants);
    const gone = await engine.variants('a', { fileName: 'm.json', text: resnet, options: DEFAULT_OPTIONS, layer: 'no such site' });
    assert.ok(gone?.ok && gone.variants.length === 0);
  });

  it('an apply is planned in the worker: its edits written into the text give the variant, as the host\'s plan would', async () => {
    engine = new LensEngine({ workerFile: workerFile(), workerAbove: 0, debounceMs: 0 });
    const choice = { variant: 'rw' as const, options: DEFAULT_OPTIONS };
    const r = await engine.plan('a', { fileName: 'm.json', text: resnet, choice, siteIds: ['add_1', 'add_2'] });
    assert.ok(r?.ok && r.plan.kind === 'edits');
    assert.deepEqual(r.plan, planChoice(open(resnet), choice, ['add_1', 'add_2']));
    assert.match(r.plan.what, /^RW on 2 residuals: \+\d+ \(/);
    const after = open(applyEdits(resnet, r.plan.edits));
    assert.deepEqual(after.sites.filter((s) => s.current.variant === 'rw').map((s) => s.id), ['add_1', 'add_2']);
    // Again on the written text: nothing to do; an unknown residual is named; a model in a JSON string gets its whole new text.
    const same = await engine.plan('a', { fileName: 'm.json', text: applyEdits(resnet, r.plan.edits), choice, siteIds: ['add_1'] });
    assert.ok(same?.ok && same.plan.kind === 'same');
    const unknown = await engine.plan('a', { fileName: 'm.json', text: resnet, choice, siteIds: ['add_1', 'nope'] });
    assert.ok(unknown?.ok && unknown.plan.kind === 'unknown');
    assert.deepEqual(unknown.plan.siteIds, ['nope']);
    const inString = JSON.stringify(resnet);
    const s = await engine.plan('b', { fileName: 'm.json', text: inString, choice });
    assert.ok(s?.ok && s.plan.kind === 'edits' && s.plan.container === 'json-string');
    assert.ok(open(s.plan.text!).sites.every((x) => x.current.variant === 'rw'));
  });

  it('a text sent in slices arrives whole, a surrogate pair cut by a slice boundary included', async () => {
    // The model's own name (the first lens's title shows it).
    const named = resnet.replace('"name": "model_1"', '"name": "model_1 😀 ünï"');
    assert.notEqual(named, resnet);
    const high = named.indexOf('😀');
    // The first slice would end between the pair's two halves.
    engine = new LensEngine({ workerFile: workerFile(), workerAbove: 0, debounceMs: 0, encodeChars: high + 1 });
    const r = await engine.request('a', job(named));
    assert.deepEqual(lenses(r), lenses(runLensJob(job(named))));
    const small = new LensEngine({ workerFile: workerFile(), workerAbove: 0, debounceMs: 0, encodeChars: 997 });
    try {
      const g = await small.graph('a', { fileName: 'm.json', text: named, options: DEFAULT_OPTIONS });
      assert.ok(g?.ok);
      assert.equal(new TextDecoder().decode(g.graph), JSON.stringify(graphSnapshot(open(named), DEFAULT_OPTIONS)));
      assert.match(new TextDecoder().decode(g.graph), /model_1 😀 ünï/);
      assert.ok(r?.ok && decodeLenses(r.lenses)[0]!.title.startsWith('model_1 😀 ünï: '));
    } finally {
      small.dispose();
    }
  });

  it('documents do not supersede each other', async () => {
    engine = new LensEngine({ workerFile: workerFile(), workerAbove: 0, debounceMs: 0 });
    const [a, b] = await Promise.all([engine.request('a', job(resnet)), engine.request('b', job(synthModelText({ layers: 300, block: 'conv' })))]);
    assert.ok(a?.ok && b?.ok);
    assert.equal(b.sites, 47);
  });
});
