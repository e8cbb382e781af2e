import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_OPTIONS } from '../../src/core/laurel/variants';
import type { VariantChoice } from '../../src/core/laurel/variants';
import { openModel } from '../../src/core/model';
import { graphSnapshot } from '../../src/extension/graphSnapshot';
import { buildLenses, COMMANDS } from '../../src/extension/lensSpecs';
import { TextPositions } from '../../src/extension/textPositions';
import { deltaText, percent } from '../../src/report/figures';
import { menuDeltaText } from '../../webview/format';
import { fixturePath } from './fixturePath';

const root = join(__dirname, '..', '..', '..');

describe('figures: one way to write a percentage and a delta', () => {
  it('two significant digits below 1%, two decimals below 10%, one above; a floor; unknown is ?', () => {
    const cases: [number | null, string][] = [
      [0, '0%'],
      [0.00003, '<0.0001%'],
      [-0.00003, '-<0.0001%'],
      [0.0037, '0.0037%'],
      [0.03, '0.030%'],
      [0.18, '0.18%'],
      [0.59, '0.59%'],
      [0.999, '1.0%'],
      [1.179, '1.18%'],
      [9.994, '9.99%'],
      [12.46, '12.5%'],
      [-2.36, '-2.36%'],
      [null, '?'],
      [Number.NaN, '?'],
    ];
    for (const [p, text] of cases) assert.equal(percent(p), text, String(p));
  });

  it('deltas carry a sign, exact thousands and the share of the base (none without a base)', () => {
    assert.equal(deltaText(8192, 27_000_000), '+8,192 (0.030%)');
    assert.equal(deltaText(2, 27_000_000), '+2 (<0.0001%)');
    assert.equal(deltaText(-514, 43_418 - 514), '−514 (1.20%)');
    assert.equal(deltaText(483_328, 25_636_712), '+483,328 (1.89%)'); // laurel-method §4.1, ResNet-50 LR r=16
    assert.equal(deltaText(5, 0), '+5');
  });

  // The lens prices each site with its history (PA); the graph's menu prices the same site and choice for
  // its live rank/k. Both must print the same text for every site and variant of real models.
  for (const [name, text] of [
    ['resnet-mini (examples)', () => readFileSync(join(root, 'examples', 'resnet-mini.json'), 'utf8')],
    ['ResNet-50 (TF.js, tensorspace)', () => JSON.stringify(JSON.parse(readFileSync(fixturePath('tfjs-legacy-resnet50-tensorspace.json'), 'utf8')), null, 2)],
    ['ResNet1D (.keras config)', () => JSON.stringify(JSON.parse(readFileSync(fixturePath('keras3-resnet1d-dotkeras-config.json'), 'utf8')), null, 2)],
  ] as [string, () => string][]) {
    it(`lens and graph menu write the same price on every site of ${name}`, () => {
      const t = text();
      const m = openModel('m.json', new TextEncoder().encode(t));
      const positions = new TextPositions(t, m.doc.text);
      const lenses = buildLenses(m, DEFAULT_OPTIONS, (offset) => positions.position(offset).line);
      const g = graphSnapshot(m, DEFAULT_OPTIONS);
      let compared = 0;
      for (const lens of lenses) {
        if (lens.command !== COMMANDS.applyVariantToSites || (lens.args[0] as string[]).length !== 1) continue;
        const [[id], choice] = lens.args as [string[], VariantChoice];
        const site = g.sites.find((s) => s.id === id)!;
        if (site.width === null || choice.variant === 'plain') continue;
        const menu = menuDeltaText([site], choice, g.planDelta.baseParams);
        assert.ok(lens.title.endsWith(` ${menu}`), `${id} ${choice.variant}: lens '${lens.title}', menu '${menu}'`);
        compared++;
      }
      assert.ok(compared >= 4 * m.sites.length, `${compared} lens/menu pairs compared`);
    });
  }
});
