import { readFileSync } from 'node:fs';
import { parser } from '@lezer/python';
const gpt = readFileSync('/work/shared/fixtures/pytorch/nanogpt_model.py', 'utf8');
const copies: string[] = [];
for (let i = 0; copies.join('').split('\n').length < 2000; i++) copies.push(gpt.replace(/\b(LayerNorm|CausalSelfAttention|MLP|Block|GPTConfig|GPT)\b/g, `$1_${i}`));
const big = copies.join('\n').split('\n').slice(0, 2000).join('\n');
const out = [];
for (let r = 0; r < 60; r++) { const t0 = performance.now(); parser.parse(big); out.push((performance.now() - t0).toFixed(0)); }
console.log(out.join(' '));
