import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../../src/core/errors';
import { PlanError } from '../../src/core/laurel/planSpec';
import { mulberry32 } from '../../src/core/random';
import { inspectReport, openModel, planModel, plannedBytes } from '../../src/core/model';
import type { OpenModel } from '../../src/core/model';
import { buildModel, UnsupportedModelError } from '../../src/laurel/buildModel';
import { examplePath, fixturePath } from './fixturePath';
import { HOSTILE_CONFIGS } from './hostileCorpus';

// The CI fuzz run: a few hundred mutations of count-relevant values in real files (sizes, kernel and
// pooling settings, flags, rates, input shapes, inbound references). Each must read with a total that
// TensorFlow.js confirms, or give a located problem or error. Counted: crashes (any other exception),
// hangs (a case over HANG_MS) and silent wrong results (a total tfjs does not confirm, or a file read
// without a problem that tfjs refuses to build). All three must be zero.

type Json = Record<string, any>;
const HANG_MS = 10_000;
const PER_FILE = 80;

/** tfjs reads these files itself (an independent count); the Keras 3 file goes through buildModel. */
const FILES: { label: string; path: () => string; tfjsReads: boolean }[] = [
  { label: 'resnet-mini.json', path: () => examplePath('resnet-mini.json'), tfjsReads: true },
  { label: 'tfjs-browser-saved-lenet-tensorspace.json', path: () => fixturePath('tfjs-browser-saved-lenet-tensorspace.json'), tfjsReads: true },
  { label: 'tfjs-official-e2e-sequential-embedding-gru.json', path: () => fixturePath('tfjs-official-e2e-sequential-embedding-gru.json'), tfjsReads: true },
  { label: 'keras3-resnet1d-dotkeras-config.json', path: () => fixturePath('keras3-resnet1d-dotkeras-config.json'), tfjsReads: false },
];

const COUNT_KEYS = ['units', 'filters', 'kernel_size', 'strides', 'pool_size', 'output_dim', 'input_dim', 'depth_multiplier', 'dilation_rate', 'use_bias', 'center', 'scale', 'padding', 'axis', 'rate', 'momentum', 'epsilon', 'return_sequences', 'data_format'];
const BAD = [...new Set(HOSTILE_CONFIGS.filter((c) => c.expect === 'problem').map((c) => c.json))];

function layersOf(json: Json): Json[] {
  const model = json['modelTopology']?.['model_config'] ?? json['modelTopology'] ?? json;
  return Array.isArray(model.config) ? model.config : model.config.layers;
}

/** Every [name, node, tensor] reference in a layer's inbound nodes (Keras 2 lists, Keras 3 keras_history). */
function refsOf(layer: Json): unknown[][] {
  const out: unknown[][] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) {
      if (typeof v[0] === 'string' && typeof v[1] === 'number' && typeof v[2] === 'number') out.push(v);
      else v.forEach(walk);
    } else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(layer['inbound_nodes']);
  return out;
}

/** One mutation of a count-relevant value; returns the new text and what was done. Raw JSON text stays raw. */
function mutate(json: Json, r: () => number): { text: string; what: string } {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  const layers = layersOf(json);
  const layer = pick(layers);
  const cfg = layer['config'] as Json;
  const name = String(cfg['name'] ?? layer['name']);
  let raw: string | undefined;
  let what: string;
  const kind = r();
  const refs = refsOf(layer);
  if (kind < 0.15 && refs.length) {
    const ref = pick(refs);
    const at = 1 + Math.floor(r() * 2);
    ref[at] = pick([0, 1, 2, 99]);
    what = `${name}: inbound ${at === 1 ? 'node' : 'tensor'} index ${ref[at]}`;
  } else if (kind < 0.25 && refs.length) {
    const ref = pick(refs);
    ref[0] = String(pick(layers)['config']['name'] ?? pick(layers)['name']);
    what = `${name}: inbound layer ${ref[0]}`;
  } else if (kind < 0.35 && ('batch_input_shape' in cfg || 'batch_shape' in cfg)) {
    const key = 'batch_input_shape' in cfg ? 'batch_input_shape' : 'batch_shape';
    const shape = cfg[key] as (number | null)[];
    const i = 1 + Math.floor(r() * (shape.length - 1));
    shape[i] = pick([1, 2, 3, 7, 31, 0, null]);
    what = `${name}: ${key}[${i}] = ${shape[i]}`;
  } else {
    const keys = COUNT_KEYS.filter((k) => k in cfg);
    if (!keys.length) return mutate(json, r);
    const key = pick(keys);
    const old = cfg[key];
    const choice = r();
    if (choice < 0.35) {
      raw = pick(BAD);
      what = `${name}.${key} = ${raw}`;
    } else if (choice < 0.45) {
      delete cfg[key];
      what = `${name}.${key} deleted`;
    } else {
      const small = (): number => 1 + Math.floor(r() * 8);
      cfg[key] = typeof old === 'boolean' ? !old : typeof old === 'number' && !Number.isInteger(old) ? Number((r() * 0.9).toFixed(3)) : Array.isArray(old) ? old.map(small) : typeof old === 'string' ? pick(['same', 'valid', 'channels_first', 'x']) : small();
      what = `${name}.${key} = ${JSON.stringify(cfg[key])}`;
    }
    if (raw !== undefined) cfg[key] = '@@RAW@@';
  }
  const text = JSON.stringify(json);
  return { text: raw === undefined ? text : text.replace('"@@RAW@@"', raw), what };
}

/** tfjs's own countParams() for the mutated file, or why tfjs would not build it. */
async function tfjsCount(file: (typeof FILES)[number], text: string, m: OpenModel): Promise<number | string | UnsupportedModelError> {
  let model: tf.LayersModel | undefined;
  try {
    if (file.tfjsReads) {
      const json = JSON.parse(text) as Json;
      model = await tf.models.modelFromJSON({ modelTopology: json['modelTopology'] ?? json } as tf.io.ModelJSON);
    } else model = await buildModel(m);
    return model.countParams();
  } catch (e) {
    // buildModel's own refusal (a class or setting tfjs lacks, named) is no verdict on the count.
    if (e instanceof UnsupportedModelError) return e;
    return e instanceof Error ? e.message : String(e);
  } finally {
    model?.dispose();
  }
}

describe('fuzz with an oracle: count-relevant mutations of real files', function () {
  this.timeout(900_000);
  // A fixed seed keeps CI reproducible; LAUREL_FUZZ_SEED explores other mutations (a failure names each case).
  const r = mulberry32(Number(process.env['LAUREL_FUZZ_SEED'] ?? 20261201));
  const tally = { cases: 0, read: 0, problem: 0, error: 0, tfjsLacks: 0, crashes: [] as string[], hangs: [] as string[], silentWrong: [] as string[] };

  for (const file of FILES) {
    it(`${file.label}: ${PER_FILE} mutations read with a total tfjs confirms, or fail located`, async () => {
      const original = readFileSync(file.path(), 'utf8');
      for (let i = 0; i < PER_FILE; i++) {
        const { text, what } = mutate(JSON.parse(original) as Json, r);
        const label = `${file.label}: ${what}`;
        tally.cases++;
        const t0 = Date.now();
        let m: OpenModel | undefined;
        try {
          m = openModel(file.path(), new TextEncoder().encode(text));
          inspectReport(m);
          if (m.sites.length) plannedBytes(m, planModel(m, 'all=rw+lr:r=2'));
        } catch (e) {
          const located = e instanceof ModelError ? e.where.line !== undefined || e.where.path !== undefined : e instanceof PlanError;
          if (!located) tally.crashes.push(`${label}: ${e instanceof Error ? e.stack : String(e)}`);
          else tally.error++;
          m = undefined;
        }
        if (Date.now() - t0 > HANG_MS) tally.hangs.push(`${label}: ${Date.now() - t0} ms`);
        if (!m) continue;
        if (m.analysis.problems.length || m.analysis.unknownLayers.length) {
          tally.problem++;
          continue;
        }
        tally.read++;
        const count = await tfjsCount(file, text, m);
        if (count instanceof UnsupportedModelError) {
          tally.tfjsLacks++;
          continue;
        }
        if (count !== m.params.total) tally.silentWrong.push(`${label}: total ${m.params.total}, tfjs ${typeof count === 'number' ? count : `refuses: ${count.slice(0, 160)}`}`);
      }
    });
  }

  it('no crash, no hang, no silent wrong result; every outcome occurs', () => {
    console.log(`      ${tally.cases} cases: ${tally.read} read (${tally.tfjsLacks} of them with a setting tfjs lacks, named), ${tally.problem} located problems, ${tally.error} located errors`);
    assert.deepEqual(tally.crashes, []);
    assert.deepEqual(tally.hangs, []);
    assert.deepEqual(tally.silentWrong, []);
    assert.equal(tally.cases, FILES.length * PER_FILE);
    assert.ok(tally.read > 20 && tally.problem > 20 && tally.error > 5, JSON.stringify({ ...tally, crashes: tally.crashes.length }));
  });
});
