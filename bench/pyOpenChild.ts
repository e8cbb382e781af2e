/**
 * A `.py` file's first open in a fresh process (nothing compiled by the JIT yet, as in an editor that opens
 * its first Python model): `node dist/benchPyOpen.js FILE lenses|parse` prints {ms}: the static lenses, or
 * the bare @lezer/python parse of the whole text (the baseline).
 */
import { readFileSync } from 'node:fs';
import { parser } from '@lezer/python';
import { DEFAULT_OPTIONS } from '../src/core/laurel/variants';
import { openPyModel } from '../src/core/pysource/pyModel';
import { buildPyLenses } from '../src/extension/pyLensSpecs';

const [file, what] = process.argv.slice(2);
if (!file || (what !== 'lenses' && what !== 'parse')) throw new Error('usage: benchPyOpen FILE lenses|parse');
const text = readFileSync(file, 'utf8');
const t0 = performance.now();
const n = what === 'lenses' ? buildPyLenses(openPyModel(file, text), { kind: 'none', trusted: true }, DEFAULT_OPTIONS).length : parser.parse(text).length;
console.log(JSON.stringify({ ms: performance.now() - t0, n }));
