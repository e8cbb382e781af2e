import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ModelError } from '../../src/core/errors';
import { mulberry32 } from '../../src/core/random';
import { inspectReport, openModel, planModel, plannedBytes } from '../../src/core/model';
import { fixturePath } from './fixturePath';


const FILES = [
  'tfjs-browser-saved-lenet-tensorspace.json',
  'tfjs-official-e2e-sequential-embedding-gru.json',
  'keras3-resnet1d-dotkeras-config.json',
  'keras3-transformer-encoder-opsAdd-dotkeras-config.json',
  'keras-resnet18-custom-doubleencoded.json',
  'keras1-resnet50-kerasjs.json',
  'tfjs-legacy-resnet50-tensorspace.json',
  'tfjs-graphmodel-mobilenetv2-nsfwjs.json',
];

const TOKENS = ['null', '-1', '0', '1e9', '"x"', '[]', '{}', 'true', '[null]', '"Add"', '"Conv2D"', '"input_1"'];

/** One damaged copy of a model text: cut, flipped, spliced or with a value swapped for another. */
function mutate(text: string, r: () => number): string {
  const at = Math.floor(r() * text.length);
  switch (Math.floor(r() * 6)) {
    case 0:
      return text.slice(0, at);
    case 1:
      return text.slice(0, at) + String.fromCharCode(32 + Math.floor(r() * 95)) + text.slice(at + 1);
    case 2:
      return text.slice(0, at) + text.slice(Math.min(text.length, at + 1 + Math.floor(r() * 200)));
    case 3: {
      const from = Math.floor(r() * text.length);
      return text.slice(0, at) + text.slice(from, from + Math.floor(r() * 300)) + text.slice(at);
    }
    default: {
      // Swap a JSON value (number, string, literal) near `at` for another token: keeps the text parseable often.
      const re = /-?\d+(\.\d+)?(e-?\d+)?|"(?:[^"\\]|\\.)*"|true|false|null/g;
      re.lastIndex = at;
      const m = re.exec(text);
      if (!m) return text.slice(0, at);
      return text.slice(0, m.index) + TOKENS[Math.floor(r() * TOKENS.length)] + text.slice(m.index + m[0].length);
    }
  }
}

/** The layers array of a parsed model JSON, whatever the container and layout. */
function layersOf(json: Record<string, any>): unknown[] | undefined {
  const model = json.modelTopology?.model_config ?? json.modelTopology ?? json;
  return Array.isArray(model.config) ? model.config : model.config?.layers;
}

function check(file: string, bytes: Uint8Array): 'read' | 'error' {
  try {
    const m = openModel(file, bytes);
    inspectReport(m, { spec: 'all=rw+lr', cost: planModel(m, 'all=rw+lr').cost });
    plannedBytes(m, planModel(m, 'all=pa:k=2'));
    return 'read';
  } catch (e) {
    if (!(e instanceof ModelError)) throw new Error(`${file}: ${e instanceof Error ? e.stack : String(e)}`);
    assert.ok(e.message.startsWith(file), `error names the file: ${e.message}`);
    assert.ok(e.where.path !== undefined || e.where.line !== undefined, `error is located: ${e.message}`);
    return 'error';
  }
}

describe('fuzz: damaged model files read or fail with a located error', function () {
  this.timeout(300_000);
  const r = mulberry32(20261127);
  const encoder = new TextEncoder();

  for (const file of FILES) {
    it(`${file}: 400 truncated and mutated copies`, () => {
      const text = readFileSync(fixturePath(file), 'utf8');
      const tally = { read: 0, error: 0 };
      for (let i = 0; i < 400; i++) tally[check(file, encoder.encode(mutate(text, r)))]++;
      assert.equal(tally.read + tally.error, 400);
      // Both paths are exercised: damaged copies that still read went through analysis, plans and edits.
      assert.ok(tally.error > 40, `errors: ${tally.error}`);
      if (!file.includes('graphmodel')) assert.ok(tally.read > 0, `reads: ${tally.read}`);
    });
  }

  it('shuffled layer lists read to the same model (the reader sorts the graph itself)', () => {
    for (const file of FILES.filter((f) => !f.includes('graphmodel') && !f.includes('sequential') && !f.includes('double'))) {
      const text = readFileSync(fixturePath(file), 'utf8');
      const base = openModel(file, encoder.encode(text));
      for (let i = 0; i < 25; i++) {
        const json = JSON.parse(text);
        const layers = layersOf(json)!;
        for (let j = layers.length - 1; j > 0; j--) {
          const k = Math.floor(r() * (j + 1));
          [layers[j], layers[k]] = [layers[k], layers[j]];
        }
        const m = openModel(file, encoder.encode(JSON.stringify(json)));
        assert.deepEqual(m.params, base.params, file);
        assert.deepEqual(m.sites.map((s) => [s.id, s.shortcutKind, s.width]).sort(), base.sites.map((s) => [s.id, s.shortcutKind, s.width]).sort(), file);
      }
    }
  });

  it('a removed layer gives a located error naming the missing inbound layer', () => {
    const file = 'tfjs-legacy-resnet50-tensorspace.json';
    const text = readFileSync(fixturePath(file), 'utf8');
    for (let i = 0; i < 30; i++) {
      const json = JSON.parse(text);
      const layers = layersOf(json)!;
      const [removed] = layers.splice(1 + Math.floor(r() * (layers.length - 2)), 1) as { name: string }[];
      assert.throws(
        () => openModel(file, encoder.encode(JSON.stringify(json))),
        (e: unknown) => e instanceof ModelError && e.message.includes(removed!.name),
      );
    }
  });
});
