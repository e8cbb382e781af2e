/**
 * Restricted Mode (an untrusted workspace): the extension runs and shows what it can without running anything
 * (a Keras file's lenses and graph-free figures, a .py file's static lenses), while Train and Measure wait for
 * trust. Screenshots: test-artifacts/e2e/restricted-*.png.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { repoRoot } from './codeServer';
import { codeServerSuite, lensTexts, quickOpen, runCommand } from './ui';

const files = {
  'resnet-mini.json': readFileSync(join(repoRoot, 'examples', 'resnet-mini.json'), 'utf8'),
  'model.py': readFileSync(join(repoRoot, '..', 'shared', 'fixtures', 'pytorch', 'nanogpt_model.py'), 'utf8'),
};

describe('LAuReL Studio in Restricted Mode (untrusted workspace)', function () {
  this.timeout(240_000);
  let page: Page;
  const shot = codeServerSuite('restricted-', files, (s) => (page = s.page), { restricted: true });

  it('a Keras file gets its figures lens; Train asks for trust and starts nothing', async () => {
    await quickOpen(page, 'resnet-mini.json');
    await page.locator('.codelens-decoration', { hasText: 'resnet_mini: 43,418 params' }).first().waitFor({ timeout: 60_000 });
    await runCommand(page, 'LAuReL: Train');
    await page.locator('.notification-toast', { hasText: 'trust this workspace first' }).first().waitFor({ timeout: 20_000 });
    await shot('train-refused');
    assert.equal(await page.locator('.tab', { hasText: 'LAuReL Training' }).count(), 0);
  });

  it('a .py file gets its static lenses, which say that measuring waits for trust', async () => {
    await quickOpen(page, 'model.py');
    await page.locator('.codelens-decoration', { hasText: 'trust the workspace first' }).first().waitFor({ timeout: 60_000 });
    await shot('py-static');
    const texts = await lensTexts(page);
    assert.ok(!texts.some((t) => /^Measure$/.test(t.trim())), texts.join('\n'));
  });
});
