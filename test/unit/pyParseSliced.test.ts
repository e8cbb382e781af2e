import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PyParseCache } from '../../src/core/pysource/pyParseCache';
import { parsePyText, parsePyTextSliced } from '../../src/core/pysource/pyRanges';
import { parsePySource } from '../../src/core/pysource/pyStatic';
import { pytorchFixture } from './fixturePath';

// The .py lenses parse a new version in slices (the extension host runs other tasks between them): the tree
// must be the one parse() gives, whatever the slice, and an edit during a pause must not lose the newer tree.
describe('sliced parse of .py sources', () => {
  const gpt = readFileSync(pytorchFixture('nanogpt_model.py'), 'utf8');
  const big = Array.from({ length: 6 }, () => gpt).join('\n');

  it('gives the same tree and findings as one parse, pausing between slices', async () => {
    let pauses = 0;
    const pause = async (): Promise<void> => {
      pauses++;
      await new Promise((r) => setImmediate(r));
    };
    const sliced = await parsePyTextSliced(big, undefined, 0, pause);
    assert.equal(sliced.toString(), parsePyText(big).toString());
    assert.ok(pauses > 10, `${pauses} pauses with a 0 ms slice`);
    assert.deepEqual(parsePySource(big, sliced).classes.map((c) => [c.name, c.line, c.adds.length]), parsePySource(big).classes.map((c) => [c.name, c.line, c.adds.length]));
  });

  it('PyParseCache: a sliced parse is reused by parse(); an edit parsed while it paused stays the newest tree', async () => {
    const cache = new PyParseCache();
    const tree = await cache.parseSliced(gpt, 1, () => new Promise((r) => setImmediate(r)));
    assert.equal(cache.parse(gpt), tree, 'the same text is not parsed again');
    const edited = gpt.replace('x = x + self.attn(self.ln_1(x))', 'x = x + 2 * self.attn(self.ln_1(x))');
    assert.notEqual(edited, gpt);
    const older = `${gpt}\n# older\n`;
    // The older version pauses at every slice; the edited one is parsed at once in the meantime.
    const pending = cache.parseSliced(older, 0, () => new Promise((r) => setImmediate(r)));
    const newest = cache.parse(edited);
    const olderTree = await pending;
    assert.equal(olderTree.toString(), parsePyText(older).toString());
    assert.equal(newest.toString(), parsePyText(edited).toString());
    assert.equal(cache.parse(older), olderTree);
  });
});
