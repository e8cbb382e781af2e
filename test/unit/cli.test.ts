import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fixturePath } from './fixturePath';

const root = resolve(__dirname, '../../..');
const cli = join(root, 'bin', 'laurel.js');

function laurel(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: root });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

describe('laurel command line', function () {
  this.timeout(60_000);
  before(() => {
    if (!existsSync(join(root, 'dist', 'cli.js'))) spawnSync(process.execPath, ['esbuild.mjs'], { cwd: root, stdio: 'inherit' });
  });

  it('train --help and compare --help print the usage, exit 0', () => {
    for (const command of ['train', 'compare']) {
      for (const flag of ['--help', '-h']) {
        const r = laurel(command, flag);
        assert.equal(r.code, 0, r.err);
        assert.equal(r.err, '');
        assert.match(r.out, /laurel train FILE/);
        assert.match(r.out, /laurel compare FILE --plans/);
        assert.match(r.out, /OPTIONS: --epochs N/);
      }
    }
  });

  it('compare --seeds: a list of distinct integers, compare only, not with --seed', () => {
    const model = join(root, 'examples', 'resnet-mini.json');
    const cases: [string[], RegExp][] = [
      [['compare', model, '--plans', 'plain;rw', '--seeds', '1,1'], /--seeds repeats a seed: '1,1'/],
      [['compare', model, '--plans', 'plain;rw', '--seeds', '1,x'], /--seeds must be integers separated by commas, got '1,x'/],
      [['compare', model, '--plans', 'plain;rw', '--seeds', '1,2', '--seed', '3'], /give --seed N or --seeds LIST, not both/],
      [['train', model, '--seeds', '1,2'], /--seeds is for 'compare'/],
    ];
    for (const [args, message] of cases) {
      const r = laurel(...args);
      assert.equal(r.code, 2, r.out + r.err);
      assert.match(r.err, message);
    }
  });

  it('the optimiser and test-set options are checked before anything trains', () => {
    const model = join(root, 'examples', 'resnet-mini.json');
    const cases: [string[], RegExp][] = [
      [['train', model, '--schedule', 'linear'], /--schedule must be constant or cosine, got 'linear'/],
      [['train', model, '--warmup', '5'], /--warmup is for --schedule cosine/],
      [['train', model, '--weight-decay', '0.1'], /--weight-decay and --no-decay are for --optimizer adamw/],
      [['train', model, '--optimizer', 'adamw', '--no-decay', 'bias,gamma'], /--no-decay takes bias,norm,laurel or none, got 'gamma'/],
      [['train', model, '--clip-norm', '0'], /--clip-norm must be a positive number, got '0'/],
      [['train', model, '--test-split', '1.5'], /--test-split must be in \(0, 1\), got '1.5'/],
      [['train', model, '--test-split', '0.2', '--test-data', 'synthetic'], /give --test-data SPEC or --test-split X, not both/],
    ];
    for (const [args, message] of cases) {
      const r = laurel(...args);
      assert.equal(r.code, 2, r.out + r.err);
      assert.match(r.err, message);
    }
  });

  it('inspect prints a Keras-style summary with thousands separators and the residual table', () => {
    const r = laurel('inspect', fixturePath('tfjs-legacy-resnet50-tensorspace.json'));
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /Total params: 25,636,712/);
    assert.match(r.out, /Non-trainable params: 53,120/);
    assert.match(r.out, /res2a_branch2a \(Conv2D\)\s+\(None, 55, 55, 64\)\s+4,160/);
    assert.match(r.out, /Residual sites: 16 \(12 identity, 4 projection\)/);
  });

  it('inspect --json --plan reports format, counts, residuals and the plan', () => {
    const r = laurel('inspect', fixturePath('keras-resnet18-custom-doubleencoded.json'), '--json', '--plan', 'all=rw+lr:r=16');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.format, 'keras-json');
    assert.equal(j.layers, 80);
    assert.deepEqual(Object.keys(j.params).sort(), ['nonTrainable', 'total', 'trainable']);
    assert.equal(j.params.total, j.params.trainable + j.params.nonTrainable);
    assert.deepEqual(j.unknownLayers, []);
    assert.equal(j.residuals.length, 8);
    for (const s of j.residuals) {
      for (const k of ['id', 'merge', 'branch', 'shortcut', 'shortcutKind', 'width']) assert.ok(k in s, k);
    }
    const widthSum = j.residuals.reduce((a: number, s: { width: number }) => a + s.width, 0);
    assert.equal(j.plan.spec, 'all=rw+lr:r=16');
    assert.equal(j.plan.addedParams, 8 * 2 + 2 * 16 * widthSum);
    assert.equal(j.plan.sites.length, 8);
    assert.ok(Math.abs(j.plan.percent - (j.plan.addedParams / j.params.total) * 100) < 1e-9);
  });

  it('apply writes the edited model, and apply plain gives back the original bytes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'laurel-cli-'));
    const file = join(dir, 'resnet.json');
    copyFileSync(fixturePath('tfjs-legacy-resnet50-tensorspace.json'), file);
    const original = readFileSync(file);
    let r = laurel('apply', file, '--plan', 'add_1=lr:r=8,add_16=rw');
    assert.equal(r.code, 0, r.err);
    const edited = readFileSync(file, 'utf8');
    assert.equal((edited.match(/"LaurelResidual"/g) ?? []).length, 2);
    r = laurel('inspect', file, '--json');
    assert.deepEqual(JSON.parse(r.out).residuals.filter((s: { variant: string }) => s.variant !== 'plain').map((s: { variant: string }) => s.variant).sort(), ['lr', 'rw']);
    r = laurel('apply', file, '--plan', 'plain');
    assert.equal(r.code, 0, r.err);
    assert.ok(readFileSync(file).equals(original));
    assert.deepEqual(readdirSync(dir), ['resnet.json'], 'no temporary file left behind');
  });

  it('apply -o leaves the source alone', () => {
    const dir = mkdtempSync(join(tmpdir(), 'laurel-cli-'));
    const out = join(dir, 'out.json');
    const src = join(root, 'examples', 'resnet-mini.json');
    const before = readFileSync(src);
    const r = laurel('apply', src, '--plan', 'all=gemma:r=4', '-o', out);
    assert.equal(r.code, 0, r.err);
    assert.ok(readFileSync(src).equals(before));
    assert.match(readFileSync(out, 'utf8'), /"variant": "gemma"/);
  });

  it('bad input: located errors, non-zero exit, nothing written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'laurel-cli-'));
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"class_name": "Functional", "config": {"layers": [');
    let r = laurel('inspect', broken);
    assert.equal(r.code, 1);
    assert.match(r.err, /broken\.json:1:\d+/);

    r = laurel('inspect', fixturePath('tfjs-graphmodel-mobilenetv2-nsfwjs.json'));
    assert.equal(r.code, 1);
    assert.match(r.err, /graph model/i);

    const file = join(dir, 'mini.json');
    copyFileSync(join(root, 'examples', 'resnet-mini.json'), file);
    const before = readFileSync(file);
    r = laurel('apply', file, '--plan', 'nosuch_add=rw');
    assert.equal(r.code, 1);
    assert.match(r.err, /no residual site matches 'nosuch_add'; the sites are block1_add, block2_add, block3_add, block4_add/);
    r = laurel('apply', file, '--plan', 'all=lora');
    assert.match(r.err, /unknown variant 'lora'/);
    assert.ok(readFileSync(file).equals(before));

    r = laurel('inspect', join(dir, 'missing.json'));
    assert.equal(r.code, 1);
    assert.match(r.err, /ENOENT/);
    r = laurel('frobnicate', file);
    assert.equal(r.code, 2);
  });

  it('a shape mismatch is reported at the merge, with both shapes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'laurel-cli-'));
    const file = join(dir, 'mismatch.json');
    const json = JSON.parse(readFileSync(join(root, 'examples', 'resnet-mini.json'), 'utf8'));
    // block3 downsamples to 32 channels; dropping its projection makes the add join 16 and 32 channels.
    const add = json.config.layers.find((l: { name: string }) => l.name === 'block3_add');
    add.inbound_nodes[0][1][0] = 'block2_out';
    writeFileSync(file, JSON.stringify(json, null, 2));
    const r = laurel('inspect', file);
    assert.equal(r.code, 1);
    assert.match(r.out, /Problem: .*mismatch\.json:\d+:\d+ at \$\.config\.layers\[\d+\]: layer 'block3_add' \(Add\): .*\[null,14,14,32\].*\[null,28,28,16\]/);
  });
});
