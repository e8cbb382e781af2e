/**
 * The commands whose quick picks and edits the analysis worker now answers (commandFacts.ts): Apply Variant
 * to Residual at Cursor (on a residual, and away from one: the list to pick from) and Format Model File on a
 * one-line model, with undo. Run with `npm run test:e2e` (scripts/e2e.sh); screenshots in test-artifacts/e2e/.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { repoRoot } from './codeServer';
import { codeServerSuite, contextMenu, goToLine, norm, runCommand } from './ui';

const model = readFileSync(join(repoRoot, 'examples', 'resnet-mini.json'), 'utf8');
const oneLine = JSON.stringify(JSON.parse(model));
const lineOf = (needle: string): number => model.slice(0, model.indexOf(needle)).split('\n').length;

describe('Commands answered by the analysis worker', function () {
  this.timeout(240_000);
  let page: Page;
  const shot = codeServerSuite('commands-', { 'resnet-mini.json': model, 'mini-oneline.json': oneLine }, (s) => {
    page = s.page;
  });
  const rows = async (): Promise<string[]> => (await page.$$eval('.quick-input-list .monaco-list-row', (els) => els.map((e) => e.textContent ?? ''))).map(norm);
  /** The editor's context menu on the line holding `text` (the click puts the cursor there), then the command, until `then` shows. */
  // The palette hides the command (its `when` needs the editor's focus): the context menu is where a user finds it.
  const atCursor = (text: string, then: string): Promise<void> =>
    contextMenu(page, page.locator('.view-line', { hasText: text }).first(), 'Apply Variant to Residual at Cursor', page.locator('.quick-input-list .monaco-list-row', { hasText: then }).first());
  const open = async (file: string): Promise<void> => {
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: file }).first().dblclick({ timeout: 60_000 });
    await page.locator('.tab.active', { hasText: file }).waitFor({ timeout: 20_000 });
  };

  it('Apply Variant to Residual at Cursor: the residual under the cursor, priced for it alone', async () => {
    await page.waitForSelector('.explorer-folders-view, .monaco-workbench .part.sidebar', { timeout: 60_000 });
    await open('resnet-mini.json');
    await goToLine(page, lineOf('"name": "block1_add"'));
    await page.locator('.codelens-decoration', { hasText: 'residual block1_add' }).first().waitFor({ timeout: 30_000 });
    await atCursor('"name": "block1_add"', 'Learned weights');
    await shot('at-cursor-pick');
    const picks = await rows();
    assert.ok(picks.some((r) => /RW\s*\+2 \(0\.0046%\) params on 1 residual/.test(r)), picks.join('\n'));
    assert.match(norm(await page.locator('.quick-input-widget').textContent()), /LAuReL variant for block1_add/);
    await page.keyboard.type('Learned weights');
    await page.keyboard.press('Enter');
    await page.locator('.part.statusbar', { hasText: /LAuReL: RW on 1 residual: \+2 \(0\.0046%\) params/ }).waitFor({ timeout: 20_000 });
  });

  it('away from a residual it lists them (with what each holds now), then prices the one picked', async () => {
    await page.keyboard.press('Control+Home');
    await atCursor('"class_name": "Functional"', 'block2_add');
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: 'block2_add' }).first();
    await shot('at-cursor-residuals');
    assert.equal(await page.getAttribute('.quick-input-widget input', 'placeholder'), 'The cursor is not inside a residual merge layer: pick one');
    const sites = await rows();
    assert.ok(sites.some((r) => /block1_add.*D=16 · now RW/.test(r)), sites.join('\n'));
    assert.ok(sites.some((r) => /block3_add.*D=32 · now plain.*projection/.test(r)), sites.join('\n'));
    await row.click();
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'on 1 residual' }).first().waitFor({ timeout: 20_000 });
    assert.match(norm(await page.locator('.quick-input-widget').textContent()), /LAuReL variant for block2_add/);
    await page.keyboard.type('Learned weights');
    await page.keyboard.press('Enter');
    await page.locator('.part.statusbar', { hasText: /LAuReL: RW on 1 residual/ }).waitFor({ timeout: 20_000 });
    await page.keyboard.press('Control+Home');
    await page.locator('.codelens-decoration', { hasText: 'LAuReL on 2/4' }).first().waitFor({ timeout: 20_000 });
    await shot('at-cursor-applied');
  });

  it('Format Model File puts a one-line model one value per line; undo takes it back', async () => {
    await open('mini-oneline.json');
    await runCommand(page, 'LAuReL: Format Model File');
    await page.locator('.view-line', { hasText: /"class_name":\s"Functional",/ }).first().waitFor({ timeout: 20_000 });
    await shot('formatted');
    assert.ok((await page.locator('.view-line').count()) > 20);
    assert.equal(await page.locator('.tab.active.dirty').count(), 1);
    await page.keyboard.press('Control+Z');
    await page.locator('.tab.active.dirty').waitFor({ state: 'detached', timeout: 20_000 });
    assert.equal(await page.locator('.view-line').count(), 1, 'one line again');
  });
});
