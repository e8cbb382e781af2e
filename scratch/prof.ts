import { readFileSync } from 'node:fs';
import { parser } from '@lezer/python';
import { DEFAULT_OPTIONS } from '../src/core/laurel/variants';
import { openPyModel, openPyModels } from '../src/core/pysource/pyModel';
import { parsePySource } from '../src/core/pysource/pyStatic';
import { buildPyLenses } from '../src/extension/pyLensSpecs';
const gpt = readFileSync('/work/shared/fixtures/pytorch/nanogpt_model.py', 'utf8');
const copies: string[] = [];
for (let i = 0; copies.join('').split('\n').length < 2000; i++) copies.push(gpt.replace(/\b(LayerNorm|CausalSelfAttention|MLP|Block|GPTConfig|GPT)\b/g, `$1_${i}`));
const big = copies.join('\n').split('\n').slice(0, 2000).join('\n');
const T: Record<string, number[]> = { parse: [], statics: [], open: [], lenses: [], total: [] };
for (let r = 0; r < 25; r++) {
  const t0 = performance.now();
  const tree = parser.parse(big);
  const t1 = performance.now();
  const st = parsePySource(big, tree);
  const t2 = performance.now();
  const m = openPyModels('big.py', big, [], st);
  const t3 = performance.now();
  buildPyLenses(m, { kind: 'none', trusted: true }, DEFAULT_OPTIONS);
  const t4 = performance.now();
  if (r < 3) continue;
  T.parse!.push(t1 - t0); T.statics!.push(t2 - t1); T.open!.push(t3 - t2); T.lenses!.push(t4 - t3); T.total!.push(t4 - t0);
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
for (const [k, v] of Object.entries(T)) console.log(k, Math.min(...v).toFixed(1), med(v).toFixed(1));
console.log(big.length);
