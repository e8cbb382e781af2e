import assert from 'node:assert/strict';
import { fillBlocks } from '../../bench/readme';

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
