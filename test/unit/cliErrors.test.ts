import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { cliErrorExit, UsageError, variantOptions } from '../../src/cli/cliOptions';

const root = resolve(__dirname, '../../..');
const cli = join(root, 'bin', 'laurel.js');

function laurel(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: root });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** The usage line each command family prints after an option parseArgs refused. */
const USAGES = { keras: /laurel inspect FILE \[--plan SPEC\]/, py: /laurel inspect MODEL\.py/, train: /laurel train FILE \[--plan SPEC\]/ };

describe('laurel command line: one error path for every command', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    if (!existsSync(join(root, 'dist', 'cli.js'))) spawnSync(process.execPath, ['esbuild.mjs'], { cwd: root, stdio: 'inherit' });
    dir = mkdtempSync(join(tmpdir(), 'laurel-clierr-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('an unknown or malformed option exits 2 with the message and that command family\'s usage', () => {
    const model = join(root, 'examples', 'resnet-mini.json');
    const cases: [string[], RegExp, RegExp][] = [
      [['inspect', model, '--bogus'], /Unknown option '--bogus'/, USAGES.keras],
      [['apply', model, '--plan'], /Option '--plan <value>' argument missing/, USAGES.keras],
      [['inspect', join(dir, 'm.py'), '--bogus'], /Unknown option '--bogus'/, USAGES.py],
      [['train', model, '--bogus'], /Unknown option '--bogus'/, USAGES.train],
      [['compare', model, '--json'], /Unknown option '--json'/, USAGES.train],
    ];
    for (const [args, message, usage] of cases) {
      const r = laurel(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, message);
      assert.match(r.err, usage, `${args.join(' ')} prints its usage`);
      assert.doesNotMatch(r.err, /\n\s+at /, 'no stack');
      assert.equal(r.out, '');
    }
  });

  it('a command line that parses but means nothing exits 2 with the message alone', () => {
    const model = join(root, 'examples', 'resnet-mini.json');
    for (const [args, message] of [
      [['inspect', model, 'extra'], /unexpected arguments: extra/],
      [['inspect', model, '--rank', '0'], /--rank must be a positive integer, got '0'/],
      [['train', model, '--epochs', 'x'], /--epochs must be a positive integer, got 'x'/],
    ] as [string[], RegExp][]) {
      const r = laurel(...args);
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, message);
      assert.doesNotMatch(r.err, /laurel inspect FILE|laurel train FILE/, 'no usage after a specific message');
    }
  });

  it('a missing file or a folder exits 1 naming the path, for Keras files, .py sources and training alike', () => {
    const folder = join(dir, 'folder.json');
    mkdirSync(folder);
    mkdirSync(join(dir, 'folder.py'));
    for (const [args, path, words] of [
      [['inspect', join(dir, 'missing.json')], join(dir, 'missing.json'), 'no such file or directory \\(ENOENT, open\\)'],
      [['apply', join(dir, 'missing.json'), '--plan', 'all=rw'], join(dir, 'missing.json'), 'no such file or directory'],
      [['inspect', folder], folder, 'illegal operation on a directory \\(EISDIR, read\\)'],
      [['inspect', join(dir, 'missing.py')], join(dir, 'missing.py'), 'no such file or directory'],
      [['inspect', join(dir, 'folder.py')], join(dir, 'folder.py'), 'illegal operation on a directory'],
      [['train', join(dir, 'missing.json')], join(dir, 'missing.json'), 'no such file or directory'],
      [['train', join(dir, 'missing.py')], join(dir, 'missing.py'), 'no such file or directory'],
      [['compare', folder, '--plans', 'plain;rw'], folder, 'illegal operation on a directory'],
    ] as [string[], string, string][]) {
      const r = laurel(...args);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, new RegExp(`^laurel: ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ${words}`), args.join(' '));
      assert.doesNotMatch(r.err, /\n\s+at /, 'no stack');
    }
  });

  it('a located model or plan error exits 1 with its location, for inspect and train alike', () => {
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"class_name": "Functional", "config": {"layers": [');
    for (const command of ['inspect', 'train']) {
      const r = laurel(command, broken);
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, /^laurel: .*broken\.json:1:\d+/);
    }
    const model = join(root, 'examples', 'resnet-mini.json');
    for (const args of [['inspect', model, '--plan', 'nosuch=rw'], ['train', model, '--plan', 'nosuch=rw']]) {
      const r = laurel(...args);
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, /^laurel: no residual site matches 'nosuch'/);
    }
  });

  it('anything else is a bug: rethrown (its stack printed), never dressed as a usage or file error', () => {
    const quiet = console.error;
    console.error = () => undefined;
    try {
      // A TypeError thrown while reading options, and an error with an errno-like code but no syscall.
      assert.throws(() => cliErrorExit(new TypeError("Cannot read properties of undefined (reading 'rank')"), 'usage'), TypeError);
      assert.throws(() => cliErrorExit(Object.assign(new Error('EOPNOTSUPP-ish'), { code: 'EBUG' }), 'usage'), /EOPNOTSUPP-ish/);
      assert.throws(() => cliErrorExit('a string', 'usage'));
      assert.equal(cliErrorExit(new UsageError('x'), 'usage'), 2);
      let parseError: unknown;
      try {
        variantOptions({ rank: '-1' });
      } catch (e) {
        parseError = e;
      }
      assert.equal(cliErrorExit(parseError, 'usage'), 2);
    } finally {
      console.error = quiet;
    }
  });
});
