/**
 * The extension in a real VS Code (code-server 4.100.3 + chromium): CodeLens on a model file, a click that
 * switches a residual to LAuReL, undo, and Show Summary. Run with `npm run test:e2e` (scripts/e2e.sh).
 * Screenshots of every step go to test-artifacts/e2e/.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { repoRoot, startSession } from './codeServer';
import type { Session } from './codeServer';

const artifacts = join(repoRoot, 'test-artifacts', 'e2e');
const model = readFileSync(join(repoRoot, 'examples', 'resnet-mini.json'), 'utf8');
const lineOf = (needle: string): number => model.slice(0, model.indexOf(needle)).split('\n').length;

const norm = (s: string | null): string => (s ?? '').replace(/\u00a0/g, ' ');

async function lensTexts(page: Page): Promise<string[]> {
  return (await page.$$eval('.codelens-decoration', (els) => els.map((e) => e.textContent ?? ''))).map(norm);
}

/** The lines the active editor shows (Monaco renders only the visible ones). */
async function visibleText(page: Page): Promise<string> {
  return norm(await page.locator('.editor-group-container.active .view-lines').first().textContent());
}

async function runCommand(page: Page, title: string): Promise<void> {
  await page.keyboard.press('F1');
  await page.waitForSelector('.quick-input-widget', { state: 'visible' });
  await page.keyboard.type(title);
  // Click the row with exactly this title: fuzzy matching may rank another command first.
  const exact = new RegExp(`^${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  await page.locator('.quick-input-list .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: exact }) }).first().click({ timeout: 10_000 });
}

describe('LAuReL Studio in code-server', function () {
  this.timeout(240_000);
  let session: Session;
  let page: Page;
  let step = 0;
  const shot = async (name: string): Promise<void> => {
    await page.screenshot({ path: join(artifacts, `${String(++step).padStart(2, '0')}-${name}.png`) });
  };

  before(async () => {
    mkdirSync(artifacts, { recursive: true });
    // A damaged copy: a doubled comma inside stem_conv's config.
    session = await startSession({ 'resnet-mini.json': model, 'broken-model.json': model.replace('"filters": 16,', '"filters": 16,,') });
    page = session.page;
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && page) await shot(`failed-${this.currentTest.title.slice(0, 40).replace(/\W+/g, '-')}`);
  });

  after(async () => {
    await session?.close();
  });

  it('opens a model file and shows the model and residual lenses', async () => {
    await page.waitForSelector('.explorer-folders-view, .monaco-workbench .part.sidebar', { timeout: 60_000 });
    await page.keyboard.press('Control+P');
    await page.waitForSelector('.quick-input-widget', { state: 'visible' });
    await page.keyboard.type('resnet-mini.json');
    await page.waitForSelector('.quick-input-list .monaco-list-row', { timeout: 20_000 });
    await page.keyboard.press('Enter');
    await page.waitForSelector('.codelens-decoration', { timeout: 60_000 });
    await shot('opened');
    const lenses = await lensTexts(page);
    assert.ok(lenses.some((t) => t.includes('resnet_mini: 43,418 params (42,938 trainable, 480 non-trainable) · 4 residuals · all plain')), lenses.join('\n'));
  });

  it('a variant lens turns one residual into a LaurelResidual, and undo takes it back', async () => {
    await page.keyboard.press('Control+G');
    await page.keyboard.type(String(lineOf('"name": "block1_add"')));
    await page.keyboard.press('Enter');
    const lens = page.locator('.codelens-decoration', { hasText: 'residual block1_add' });
    await lens.waitFor({ timeout: 20_000 });
    const texts = await lensTexts(page);
    const line = texts.find((t) => t.includes('residual block1_add'))!;
    assert.match(line, /residual block1_add · D=16 · now plain/);
    assert.match(line, /RW \+2/);
    assert.match(line, /RW\+LR r=16 \+514 \(1\.18%\)/);
    assert.match(line, /Gemma3n r=16 \+528/);
    await shot('residual-lenses');
    assert.ok(!(await visibleText(page)).includes('LaurelResidual'));

    await lens.locator('a', { hasText: 'RW+LR r=16' }).click();
    await page.locator('.view-line', { hasText: 'LaurelResidual' }).first().waitFor({ timeout: 20_000 });
    await page.locator('.codelens-decoration', { hasText: 'now RW+LR r=16' }).waitFor({ timeout: 20_000 });
    await shot('applied-rw-lr');
    assert.ok((await visibleText(page)).includes('"class_name": "LaurelResidual"'));
    assert.equal(await page.locator('.tab.active.dirty').count(), 1, 'the edit leaves the document dirty');
    assert.match(norm(await page.locator('.part.statusbar').textContent()), /LAuReL: RW\+LR on 1 residual: \+514 \(1\.18%\) params/);

    // The lens click leaves the focus in the editor, where Ctrl+Z undoes the WorkspaceEdit as one step.
    await page.keyboard.press('Control+Z');
    await page.locator('.view-line', { hasText: 'LaurelResidual' }).first().waitFor({ state: 'hidden', timeout: 20_000 });
    await page.locator('.codelens-decoration', { hasText: 'residual block1_add · D=16 · now plain' }).waitFor({ timeout: 20_000 });
    await shot('undone');
    assert.equal(await page.locator('.tab.active.dirty').count(), 0, 'undo back to the saved text is clean again');
  });

  it('Show Summary from the command palette opens the Keras-style table', async () => {
    await runCommand(page, 'LAuReL: Show Summary');
    await page.locator('.tab', { hasText: 'LAuReL summary' }).waitFor({ timeout: 20_000 });
    await page.locator('.view-lines', { hasText: /Total.params/ }).first().waitFor({ timeout: 20_000 });
    await shot('summary');
    const text = norm(await page.locator('.view-lines', { hasText: /Total.params/ }).first().textContent());
    assert.match(text, /Model: "resnet_mini"/);
    assert.match(text, /Total params: 43,418/);
  });

  it('Apply Variant to All Residuals lists each variant with its total delta', async () => {
    await page.locator('.tab', { hasText: 'resnet-mini.json' }).first().click();
    await runCommand(page, 'LAuReL: Apply Variant to All Residuals');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'RW+LR r=16' }).first().waitFor({ timeout: 20_000 });
    await shot('apply-all-pick');
    const rows = (await page.$$eval('.quick-input-list .monaco-list-row', (els) => els.map((e) => e.textContent ?? ''))).map(norm);
    assert.ok(rows.some((r) => r.includes('+3,080 (7.09%) params on 4 residuals')), rows.join('\n'));
    await page.keyboard.type('Learned weights');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'RW' }).first().waitFor();
    await page.keyboard.press('Enter');
    await page.locator('.part.statusbar', { hasText: /LAuReL: RW on 4 residuals: \+8 \(0\.018%\) params/ }).waitFor({ timeout: 20_000 });
    await page.keyboard.press('Control+Home');
    await page.locator('.codelens-decoration', { hasText: 'LAuReL on 4/4 +8' }).waitFor({ timeout: 20_000 });
    await shot('applied-rw-all');
    assert.ok((await lensTexts(page)).some((t) => t.includes('Revert all to plain')));
  });

  it('Train saves the edited model, trains it in the trainer process and reports the run', async function () {
    this.timeout(300_000);
    await page.locator('.tab', { hasText: 'resnet-mini.json' }).first().click();
    await runCommand(page, 'LAuReL: Train');
    // The document is dirty (RW on every residual): the trainer reads the file, so it asks to save first.
    const save = page.locator('.notification-toast a.monaco-button, .notification-toast .monaco-button', { hasText: 'Save and Train' }).first();
    await save.waitFor({ timeout: 20_000 });
    await shot('train-save-prompt');
    await save.click();
    const done = page.locator('.notification-toast', { hasText: /LAuReL: .* (completed|cancelled|diverged)/ }).first();
    const failed = page.locator('.notification-toast', { hasText: 'training failed' }).first();
    await Promise.race([done.waitFor({ timeout: 240_000 }), failed.waitFor({ timeout: 240_000 })]);
    await shot('trained');
    const text = norm(await page.locator('.notifications-toasts').textContent());
    assert.doesNotMatch(text, /training failed/, text);
    assert.match(text, /resnet-mini\.json completed: loss \d/);
    assert.equal(await page.locator('.tab.dirty', { hasText: 'resnet-mini.json' }).count(), 0, 'saved before training');
  });

  it('a model file that does not read gets a located diagnostic instead of lenses', async () => {
    await page.keyboard.press('Control+P');
    await page.waitForSelector('.quick-input-widget', { state: 'visible' });
    await page.keyboard.type('broken-model.json');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'broken-model.json' }).first().waitFor({ timeout: 20_000 });
    await page.keyboard.press('Enter');
    await page.locator('.tab.active', { hasText: 'broken-model.json' }).waitFor({ timeout: 20_000 });
    await page.locator('.editor-group-container.active .squiggly-error').first().waitFor({ timeout: 30_000 });
    await shot('broken-diagnostic');
    assert.equal(await page.locator('.editor-group-container.active .codelens-decoration', { hasText: 'params' }).count(), 0);
    const errorLine = model.slice(0, model.indexOf('"filters": 16,')).split('\n').length;
    await page.keyboard.press('Control+Shift+M');
    const row = page.locator('.markers-panel .monaco-list-row', { hasText: 'LAuReL' }).first();
    await row.waitFor({ timeout: 20_000 });
    await shot('broken-problems');
    assert.match(norm(await row.textContent()), new RegExp(`\\[Ln ${errorLine}, Col \\d+\\]`));
  });
});
