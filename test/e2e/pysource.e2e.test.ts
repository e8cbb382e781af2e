/**
 * A PyTorch model from its Python source in code-server: nanoGPT's model.py (shared/fixtures/pytorch) opens with
 * static lenses, Measure runs one forward pass (the workspace allows it once), a lens switches line 104 to
 * RW+LR as one edit, Ctrl+Z takes it back. Screenshots: test-artifacts/e2e/py-*.png.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { repoRoot } from './codeServer';
import { codeServerSuite, goToLine as goToLineIn, lensTexts, quickOpen, visibleText } from './ui';

// The small configuration of issue 8, named by the file's own laurel comment (appended: lines 104/105 stay).
const source =
  readFileSync(join(repoRoot, '..', 'shared', 'fixtures', 'pytorch', 'nanogpt_model.py'), 'utf8') +
  '# laurel: model = GPT(GPTConfig(n_layer=2, n_head=2, n_embd=64, block_size=32, vocab_size=100)); input = torch.randint(0, 100, (1, 16))\n';

describe('LAuReL Studio on a PyTorch .py model in code-server', function () {
  this.timeout(240_000);
  let page: Page;
  const shot = codeServerSuite('py-', { 'model.py': source }, (s) => {
    page = s.page;
  });

  const goToLine = (n: number): Promise<void> => goToLineIn(page, n);

  it('static lenses at once, exact ones after Measure (asked once)', async () => {
    await quickOpen(page, 'model.py');
    await goToLine(100);
    await page.locator('.codelens-decoration', { hasText: 'residual (not measured yet)' }).first().waitFor({ timeout: 60_000 });
    await shot('static');
    await goToLine(94);
    await page.locator('.codelens-decoration a:visible', { hasText: /^Measure$/ }).first().click();
    await page.locator('.monaco-dialog-box .monaco-button', { hasText: 'Allow' }).click({ timeout: 20_000 });
    await goToLine(100);
    await page.locator('.codelens-decoration', { hasText: 'residual · D=64 · ×2 · identity · now plain' }).first().waitFor({ timeout: 120_000 });
    await shot('measured');
    const texts = await lensTexts(page);
    assert.ok(texts.some((t) => /RW\+LR r=16 \+4,100 \(3\.78%\)/.test(t)), texts.join('\n'));
    assert.ok(texts.some((t) => t.includes('×2 · 49,984 params each')), texts.join('\n'));
  });

  it('RW+LR on line 104 is one edit (module call, __init__ line, import); undo brings the add back', async () => {
    const lens = page.locator('.codelens-decoration', { hasText: 'residual · D=64 · ×2 · identity · now plain' }).first();
    const edited = page.locator('.view-line', { hasText: 'x = self.laurel_attn(self.attn(self.ln_1(x)), x)' });
    // A lens row redrawn while the click lands (the lenses refresh once the measurement is in) loses the click:
    // click again, as a user would.
    for (let attempt = 1; ; attempt++) {
      await lens.locator('a', { hasText: 'RW+LR r=16' }).click();
      try {
        await edited.waitFor({ timeout: 10_000 });
        break;
      } catch (e) {
        if (attempt >= 3) throw e;
      }
    }
    assert.equal(await page.locator('.tab.active.dirty').count(), 1, 'the edit leaves the document dirty');
    // Re-measured after the apply (an explicit action, not a keystroke): the lens shows the new variant.
    await page.locator('.codelens-decoration', { hasText: 'now RW+LR r=16' }).first().waitFor({ timeout: 120_000 });
    const text = await visibleText(page);
    assert.ok(text.includes('self.laurel_attn = LaurelResidual(variant="rw+lr", rank=16)'), text);
    await shot('applied');

    await page.keyboard.press('Control+Z');
    await page.locator('.view-line', { hasText: 'x = x + self.attn(self.ln_1(x))' }).waitFor({ timeout: 20_000 });
    // The old text's measurement is cached: both lines plain again, the Block count back, without a new run.
    await page.locator('.codelens-decoration', { hasText: 'now RW+LR' }).first().waitFor({ state: 'detached', timeout: 20_000 });
    await page.locator('.codelens-decoration', { hasText: '×2 · 49,984 params each' }).first().waitFor({ timeout: 20_000 });
    assert.equal(await page.locator('.codelens-decoration', { hasText: 'residual · D=64 · ×2 · identity · now plain' }).count(), 2);
    assert.ok(!(await visibleText(page)).includes('laurel_attn'));
    assert.equal(await page.locator('.tab.active.dirty').count(), 0, 'undo back to the saved text is clean again');
    await shot('undone');
  });
});
