import assert from 'node:assert/strict';
import { fillBlocks, runStamp } from '../../bench/readme';
import { memoryLatency, randomCycle } from '../../bench/memoryLatency';

// `npm run bench -- --readme` replaces only its own blocks of README.md, and all or nothing.
describe('bench --readme: README blocks filled with the run\'s tables', () => {
  const readme = ['# Title', '', 'prose before', '<!-- bench:export -->', 'old table', '<!-- /bench:export -->', 'prose between', '<!-- bench:pysource -->', '<!-- /bench:pysource -->', 'prose after', ''].join('\n');
  const table = { header: ['model', 'ms'], rows: [['resnet|mini', '1.5']], right: new Set([1]) };

  it('replaces each block with the stamp and its tables as Markdown, and nothing else', () => {
    const out = fillBlocks(readme, new Map([['export', [table, table]], ['pysource', [table]]]), 'stamp');
    const block = ['Run: stamp.', '', '| model | ms |', '| --- | ---: |', '| resnet\\|mini | 1.5 |'].join('\n');
    const twice = `${block}\n\n| model | ms |\n| --- | ---: |\n| resnet\\|mini | 1.5 |`;
    assert.equal(out, readme.replace('old table\n', `${twice}\n`).replace('<!-- bench:pysource -->\n', `<!-- bench:pysource -->\n${block}\n`));
    // A second run replaces the first one's tables.
    assert.equal(fillBlocks(out, new Map([['export', [table, table]], ['pysource', [table]]]), 'stamp'), out);
  });

  it('a block the README lacks refuses the whole update', () => {
    assert.throws(() => fillBlocks(readme, new Map([['export', [table]], ['lens', [table]]]), 'stamp'), /README\.md has no <!-- bench:lens --> … <!-- \/bench:lens --> block: nothing written/);
    assert.throws(() => fillBlocks('<!-- /bench:export --> <!-- bench:export -->', new Map([['export', [table]]]), 's'), /no <!-- bench:export -->/);
  });
});

describe('bench: the machine in the stamp', () => {
  it('links every cache line of the buffer into one cycle, one line to a read', () => {
    const lines = 1000;
    const next = randomCycle(lines, 7);
    const seen = new Set<number>();
    let p = 0;
    for (let i = 0; i < lines; i++) {
      assert.equal(p % 16, 0, 'a read lands on the first slot of a line');
      seen.add(p);
      p = next[p]!;
    }
    assert.equal(seen.size, lines, 'the walk visits every line before it repeats');
    assert.equal(p, 0, 'and comes back to the start after the last');
  });

  it('says the latency at the start and the end of the run', () => {
    const measured = memoryLatency([0.0625]);
    assert.match(`${measured.what}: ${measured.ns}`, /^memory latency \(dependent random reads through 0\.0625 MiB\): [\d.]+ ns a read$/);
    const stamp = runStamp('`npm run bench`', new Date('2026-12-02T16:00:00Z'), { what: measured.what, start: measured.ns, end: '9.5 ns a read' });
    assert.match(stamp, /^`npm run bench`, 2026-12-02 16:00 UTC, \d+ cores, load average [\d.]+ at the start, [\d.]+ at the end; memory latency \(dependent random reads through 0\.0625 MiB\): [\d.]+ ns a read at the start, 9\.5 ns a read at the end$/);
  });
});
