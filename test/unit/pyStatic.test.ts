import * as assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parser } from '@lezer/python';
import { PyParseCache } from '../../src/core/pysource/pyParseCache';
import { parsePySource } from '../../src/core/pysource/pyStatic';
import { parsePyText, pyParseRanges } from '../../src/core/pysource/pyRanges';
import { openPyModel } from '../../src/core/pysource/pyModel';
import { DEFAULT_OPTIONS } from '../../src/core/laurel/variants';
import { buildPyLenses } from '../../src/extension/pyLensSpecs';
import { pytorchFixture } from './fixturePath';

const read = (f: string): string => readFileSync(pytorchFixture(f), 'utf8');
const json = (v: unknown): string => JSON.stringify(v, (_, x: unknown) => (x instanceof Set ? [...x] : x));
const candidates = (text: string): { cls: string; line: number; code: string; shortcut: string }[] =>
  parsePySource(text).classes.flatMap((c) => c.adds.filter((a) => a.candidate).map((a) => ({ cls: c.name, line: a.line, code: a.expr.text, shortcut: (a.shortcutGuess === 0 ? a.left : a.right).text })));

describe('.py static finder (@lezer/python)', () => {
  it('nanoGPT: the two residual lines of Block, not tok_emb + pos_emb', () => {
    const s = parsePySource(read('nanogpt_model.py'));
    assert.deepEqual(s.classes.map((c) => c.name), ['LayerNorm', 'CausalSelfAttention', 'MLP', 'Block', 'GPT']);
    assert.deepEqual(candidates(read('nanogpt_model.py')), [
      { cls: 'Block', line: 104, code: 'x + self.attn(self.ln_1(x))', shortcut: 'x' },
      { cls: 'Block', line: 105, code: 'x + self.mlp(self.ln_2(x))', shortcut: 'x' },
    ]);
    const gpt = s.classes.find((c) => c.name === 'GPT')!;
    const add179 = gpt.adds.find((a) => a.line === 179)!;
    assert.equal(add179.form, 'nested');
    assert.equal(add179.candidate, false);
    const block = s.classes.find((c) => c.name === 'Block')!;
    assert.equal(block.noArgInit, false);
    assert.equal(block.initInsert?.indent, '        ');
    assert.equal(s.importAt, read('nanogpt_model.py').indexOf('class LayerNorm') - 1);
  });

  it('ResNet: `out += self.shortcut(x)` in BasicBlock (37) and Bottleneck (68), the shortcut call guessed as the shortcut', () => {
    assert.deepEqual(candidates(read('cifar_resnet.py')), [
      { cls: 'BasicBlock', line: 37, code: 'out += self.shortcut(x)', shortcut: 'self.shortcut(x)' },
      { cls: 'Bottleneck', line: 68, code: 'out += self.shortcut(x)', shortcut: 'self.shortcut(x)' },
    ]);
    const basic = parsePySource(read('cifar_resnet.py')).classes[0]!;
    assert.equal(basic.adds[0]!.form, 'augassign');
    assert.equal(basic.adds[0]!.replace.text, 'out += self.shortcut(x)');
    assert.equal(basic.adds[0]!.nameHint, 'out');
  });

  it('fast neural style: `out = out + residual` where both come from x', () => {
    const t = read('fast_neural_style_transformer_net.py');
    assert.deepEqual(candidates(t), [{ cls: 'ResidualBlock', line: 75, code: 'out + residual', shortcut: 'residual' }]);
    const net = parsePySource(t).classes.find((c) => c.name === 'TransformerNet')!;
    assert.equal(net.noArgInit, true);
    assert.equal(parsePySource(t).classes.find((c) => c.name === 'ResidualBlock')!.noArgInit, false);
  });

  it('forms: return a + f(a), a = b + c from one input, masks and constants are not candidates', () => {
    const src = [
      'import torch',
      'from torch import nn',
      'class Base(nn.Module):',
      '    pass',
      'class Net(Base):',
      '    def __init__(self, d=4):',
      '        super().__init__()',
      '        self.f = nn.Linear(d, d)',
      '    def forward(self, x, mask=None):',
      '        h = self.f(x)',
      '        y = h + x',
      '        z = y + mask',
      '        w = y + torch.zeros(3)',
      '        b, t = x.size()',
      '        pos = torch.arange(0, t)',
      '        q = y + pos',
      '        return y + self.f(y)',
    ].join('\n');
    const s = parsePySource(src);
    assert.deepEqual(s.classes.map((c) => c.name), ['Base', 'Net']);
    assert.deepEqual(candidates(src).map((c) => [c.line, c.code, c.shortcut]), [
      [11, 'h + x', 'x'],
      [17, 'y + self.f(y)', 'y'],
    ]);
    assert.equal(s.classes[1]!.noArgInit, true);
  });

  it('a laurel comment names the model and the input', () => {
    const s = parsePySource('import torch\n# laurel: model = Net(3); input = torch.randn(1, 3)\n');
    assert.deepEqual(s.comment, { line: 2, model: 'Net(3)', input: 'torch.randn(1, 3)' });
  });

  it('lenses without a measurement: untrusted, running, no torch (how to get it), a located failure (Measure again)', () => {
    const m = openPyModel('net.py', read('fast_neural_style_transformer_net.py'));
    const at = (state: Parameters<typeof buildPyLenses>[1], line: number): string[] => buildPyLenses(m, state, DEFAULT_OPTIONS).filter((l) => l.line === line - 1).map((l) => l.title + (l.command ? ' [command]' : ''));
    assert.deepEqual(at({ kind: 'none', trusted: false }, 4), ['nn.Module · not measured (measuring runs the file: trust the workspace first)']);
    assert.deepEqual(at({ kind: 'running' }, 4), ['$(sync~spin) measuring (one forward pass)…']);
    assert.deepEqual(at({ kind: 'failed', error: { phase: 'torch', message: 'no Python with torch found', line: null } }, 4), [
      'exact figures need a Python with torch: set laurel.pythonPath, or install python3-torch / pip install torch',
      'Measure again [command]',
    ]);
    assert.deepEqual(at({ kind: 'failed', error: { phase: 'import', message: "ModuleNotFoundError: No module named 'einops'", line: 3 } }, 57), [
      "not measured: ModuleNotFoundError: No module named 'einops'",
      'Measure again [command]',
    ]);
    assert.deepEqual(at({ kind: 'none', trusted: true }, 75), ['residual (not measured yet)']);
    assert.equal(buildPyLenses(m, { kind: 'none', trusted: true }, DEFAULT_OPTIONS).filter((l) => l.line === 43).length, 0, 'ConvLayer has no candidate and is not the first class: no lens');
  });
  it('an incremental reparse (PyParseCache) gives the tree of a fresh parse and the findings of a full parse after every edit that leaves valid Python', () => {
    const cache = new PyParseCache();
    const base = read('nanogpt_model.py') + read('cifar_resnet.py');
    // Seeded rounds as a user types: a random edit that may break the text (not compared: lezer's error recovery
    // may repair a broken text differently from a fresh parse), then the text mended with a comment added at the
    // end of a random line (valid Python: the incremental tree and findings must equal a full parse's).
    let seed = 7;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const pieces = ['x', ' ', '\n', '        x = x + self.f(x)\n', '(', ')', 'class A(nn.Module):\n    pass\n', '"""', '\t'];
    const ends = [...base.matchAll(/\n/g)].map((m) => m.index!);
    for (let i = 0; i < 40; i++) {
      const at = rand(base.length);
      cache.parse(i % 2 ? base.slice(0, at) + base.slice(at + rand(40)) : base.slice(0, at) + pieces[rand(pieces.length)]! + base.slice(at));
      // Mended, then typed on while valid (the second reuses the first's tree).
      const [e1, e2] = [ends[rand(ends.length)]!, ends[rand(ends.length)]!].sort((a, b) => a - b);
      const mended = `${base.slice(0, e1)}  # edit ${i}${base.slice(e1)}`;
      const typed = `${base.slice(0, e1)}  # edit ${i}${base.slice(e1, e2)}  # and ${i}${base.slice(e2)}`;
      // Valid edits that change what is parsed (pyRanges): a method renamed to forward (read now) and back.
      const defs = [...typed.matchAll(/def (\w+)\(self/g)];
      const d = defs[rand(defs.length)]!;
      const renamed = `${typed.slice(0, d.index)}def forward(self${typed.slice(d.index! + d[0].length)}`;
      for (const text of [mended, typed, renamed, typed]) {
        const tree = cache.parse(text);
        assert.equal(tree.toString(), parsePyText(text).toString(), `round ${i}`);
        assert.equal(json(parsePySource(text, tree)), json(parsePySource(text, parser.parse(text))), `round ${i}`);
      }
    }
  });

  it('only the head, the classes and their __init__ / forward are parsed (pyRanges), with the findings of a full parse', () => {
    const t = read('nanogpt_model.py');
    const ranges = pyParseRanges(t)!;
    const parsed = ranges.map((r) => t.slice(r.from, r.to)).join('');
    assert.ok(parsed.length < 0.5 * t.length, `${parsed.length} of ${t.length} characters`);
    assert.ok(!/def (generate|configure_optimizers|from_pretrained|_init_weights)\b/.test(parsed));
    assert.match(parsed, /^"""\nFull definition/);
    assert.equal((parsed.match(/def forward\(/g) ?? []).length, 5);
    // torch's own modules (when Debian's python3-torch is here) and the fixtures: the same findings either way.
    const torchDir = '/usr/lib/python3/dist-packages/torch/nn/modules';
    const files = [...['nanogpt_model.py', 'cifar_resnet.py', 'fast_neural_style_transformer_net.py'].map(pytorchFixture), ...(existsSync(torchDir) ? readdirSync(torchDir).filter((f) => f.endsWith('.py')).map((f) => join(torchDir, f)) : [])];
    let classes = 0;
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      const full = parsePySource(text, parser.parse(text));
      classes += full.classes.length;
      assert.equal(json(parsePySource(text, parsePyText(text))), json(full), f);
    }
    assert.ok(classes >= 11, `${classes} module classes compared`);
  });

  it('what hides a statement from the scan: strings over lines, brackets, continuations, comments, decorators, tabs, CRLF', () => {
    const src = [
      'import torch',
      'from torch import nn',
      'x = """',
      'class Fake(nn.Module):',
      '    def forward(self, x): return x + self.f(x)',
      '"""',
      '@dataclass',
      'class Cfg:',
      '    n: int = 3',
      'def helper(a,',
      'b):',
      '    return a + b',
      'class Net(nn.Module):',
      "    '''doc with def forward(self, y): and class X:'''",
      '    def __init__(self, d=4, s="a\\"b", t=(1,',
      '2)):',
      '        super().__init__()',
      '        self.f = nn.Linear(d, d)',
      '    @torch.no_grad()',
      '    def generate(self, x):',
      '        return x + self.f(x)',
      '# a comment at column 0 inside the class',
      '    async def other(self): pass',
      '    def forward(self, x):',
      '        h = x + \\',
      '            self.f(x)',
      '        h2 = h + self.f(h)',
      '        return h2',
      'if __name__ == "__main__":',
      '    print(Net()(torch.zeros(1, 4)))',
      'class Tabbed(nn.Module):',
      '\tdef forward(self, x):',
      '\t\treturn x + self.g(x)',
      '\tdef extra(self):',
      '\t\treturn 1',
      '',
    ].join('\n');
    for (const text of [src, src.replace(/\n/g, '\r\n')]) {
      const full = parsePySource(text, parser.parse(text));
      assert.equal(json(parsePySource(text)), json(full));
      assert.deepEqual(full.classes.map((c) => c.name), ['Net', 'Tabbed']);
      const parsed = pyParseRanges(text)!.map((r) => text.slice(r.from, r.to)).join('');
      assert.ok(!/helper|generate|other|__main__|extra/.test(parsed), parsed);
      assert.ok(/Fake/.test(parsed) && /class Cfg/.test(parsed), 'the string before the classes and the dataclass header are read');
    }
    assert.deepEqual(candidates(src).map((c) => c.line), [25, 27, 33]);
  });
});
