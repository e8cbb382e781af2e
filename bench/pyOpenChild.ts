/**
 * A `.py` file's first open in a fresh process (nothing compiled by the JIT yet, as in an editor that opens
 * its first Python model): `node dist/benchPyOpen.js FILE lenses|parse|sliced` prints {ms}: the static lenses,
 * the bare @lezer/python parse of the whole text (the baseline), or the lenses as the editor makes them (the
 * parse in slices, PyModelLenses.parseSliced), with {longest}: the longest synchronous stretch of that.
 */
import { readFileSync } from 'node:fs';
import { parser } from '@lezer/python';
import { DEFAULT_OPTIONS } from '../src/core/laurel/variants';
import { openPyModel, openPyModels } from '../src/core/pysource/pyModel';
import { PyParseCache } from '../src/core/pysource/pyParseCache';
import { parsePySourceSliced } from '../src/core/pysource/pyStatic';
import { buildPyLenses } from '../src/extension/pyLensSpecs';

const [file, what] = process.argv.slice(2);
if (!file || (what !== 'lenses' && what !== 'parse' && what !== 'sliced')) throw new Error('usage: benchPyOpen FILE lenses|parse|sliced');
const text = readFileSync(file, 'utf8');
const lenses = (m: ReturnType<typeof openPyModel>): number => buildPyLenses(m, { kind: 'none', trusted: true }, DEFAULT_OPTIONS).length;

async function sliced(): Promise<{ ms: number; longest: number; n: number }> {
  const t0 = performance.now();
  let resumed = t0;
  let longest = 0;
  // The editor's slice (pyLenses.ts SLICE_MS) and its pause: a turn of the event loop.
  const cache = new PyParseCache();
  const pause = async (): Promise<void> => {
    longest = Math.max(longest, performance.now() - resumed);
    await new Promise((r) => setImmediate(r));
    resumed = performance.now();
  };
  const tree = await cache.parseSliced(text, 8, pause);
  const statics = await parsePySourceSliced(text, tree, 8, pause);
  const n = lenses(openPyModels(file, text, [], statics));
  const end = performance.now();
  return { ms: end - t0, longest: Math.max(longest, end - resumed), n };
}

if (what === 'sliced') {
  void sliced().then((r) => console.log(JSON.stringify(r)));
} else {
  const t0 = performance.now();
  const n = what === 'lenses' ? lenses(openPyModel(file, text)) : parser.parse(text).length;
  console.log(JSON.stringify({ ms: performance.now() - t0, n }));
}
