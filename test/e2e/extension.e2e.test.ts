/**
 * The extension in a real VS Code (code-server 4.100.3 + chromium): CodeLens on a model file, a click that
 * switches a residual to LAuReL, undo, the graph view's edge menu, Show Summary, training from the editor into
 * the training panel, and the graph of ResNet-50. Run with `npm run test:e2e` (scripts/e2e.sh).
 * Screenshots of every step go to test-artifacts/e2e/.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { repoRoot } from './codeServer';
import type { Session } from './codeServer';
import { artifacts, clickResidualEdge, codeServerSuite, goToLine, layoutCommand, lensTexts, norm, quickOpen, runCommand, visibleText, webviewFrame } from './ui';

const model = readFileSync(join(repoRoot, 'examples', 'resnet-mini.json'), 'utf8');
const RESNET50 = 'tfjs-legacy-resnet50-tensorspace.json';
const resnet50 = readFileSync(join(repoRoot, '..', 'shared', 'fixtures', 'models', RESNET50), 'utf8');
const lineOf = (needle: string): number => model.slice(0, model.indexOf(needle)).split('\n').length;

describe('LAuReL Studio in code-server', function () {
  this.timeout(240_000);
  let session: Session;
  let page: Page;
  const shot = codeServerSuite('', { 'resnet-mini.json': model, 'broken-model.json': model.replace('"filters": 16,', '"filters": 16,,'), [RESNET50]: resnet50 }, (s) => {
    session = s;
    page = s.page;
  });

  it('opens a model file and shows the model and residual lenses', async () => {
    await page.waitForSelector('.explorer-folders-view, .monaco-workbench .part.sidebar', { timeout: 60_000 });
    await quickOpen(page, 'resnet-mini.json');
    await page.waitForSelector('.codelens-decoration', { timeout: 60_000 });
    await shot('opened');
    const lenses = await lensTexts(page);
    assert.ok(lenses.some((t) => t.includes('resnet_mini: 43,418 params (42,938 trainable, 480 non-trainable) · 4 residuals · all plain')), lenses.join('\n'));
  });

  it('a variant lens turns one residual into a LaurelResidual, and undo takes it back', async () => {
    await goToLine(page, lineOf('"name": "block1_add"'));
    const lens = page.locator('.codelens-decoration', { hasText: 'residual block1_add' });
    await lens.waitFor({ timeout: 20_000 });
    const texts = await lensTexts(page);
    const line = texts.find((t) => t.includes('residual block1_add'))!;
    assert.match(line, /residual block1_add · D=16 · now plain/);
    assert.match(line, /RW \+2/);
    // D=16: the settings' r=16 is not low-rank there, so the lenses offer r=8 (⌊D/2⌋), flagged.
    assert.match(line, /⚠ RW\+LR r=8 \+258 \(0\.59%\)/);
    assert.match(line, /⚠ Gemma3n r=8 \+272/);
    await shot('residual-lenses');
    assert.ok(!(await visibleText(page)).includes('LaurelResidual'));

    await lens.locator('a', { hasText: 'RW+LR r=8' }).click();
    await page.locator('.view-line', { hasText: 'LaurelResidual' }).first().waitFor({ timeout: 20_000 });
    await page.locator('.codelens-decoration', { hasText: 'now RW+LR r=8' }).waitFor({ timeout: 20_000 });
    await shot('applied-rw-lr');
    assert.ok((await visibleText(page)).includes('"class_name": "LaurelResidual"'));
    assert.equal(await page.locator('.tab.active.dirty').count(), 1, 'the edit leaves the document dirty');
    assert.match(norm(await page.locator('.part.statusbar').textContent()), /LAuReL: RW\+LR on 1 residual: \+258 \(0\.59%\) params/);

    // The lens click leaves the focus in the editor, where Ctrl+Z undoes the WorkspaceEdit as one step.
    await page.keyboard.press('Control+Z');
    await page.locator('.view-line', { hasText: 'LaurelResidual' }).first().waitFor({ state: 'hidden', timeout: 20_000 });
    await page.locator('.codelens-decoration', { hasText: 'residual block1_add · D=16 · now plain' }).waitFor({ timeout: 20_000 });
    await shot('undone');
    assert.equal(await page.locator('.tab.active.dirty').count(), 0, 'undo back to the saved text is clean again');
  });

  it('the graph view: a click on a residual edge, a variant from its menu, Apply; Ctrl+Z in the editor redraws it', async () => {
    await runCommand(page, 'LAuReL: Open Graph');
    const edge = '.residual[aria-label^="Residual block1_add:"]';
    const frame = await webviewFrame(page, edge);
    await frame.locator('.node').first().waitFor({ timeout: 30_000 });
    await shot('graph-opened');
    assert.equal(await frame.locator('.residual.switched').count(), 0);

    await clickResidualEdge(page, frame, edge);
    const menu = frame.locator('.menu:not([hidden])');
    await menu.waitFor({ timeout: 10_000 });
    assert.match(await menu.locator('.menu-title').textContent() ?? '', /block1_add/);
    await menu.locator('.menu-row', { has: frame.locator('input[value="rw+lr"]') }).click();
    await shot('graph-menu');
    await menu.locator('vscode-button', { hasText: /^Apply/ }).click();
    await frame.locator(`${edge}.switched`).waitFor({ timeout: 20_000 });
    await page.locator('.tab.dirty', { hasText: 'resnet-mini.json' }).waitFor({ timeout: 20_000 });

    // The editor (first group) now holds the LaurelResidual; bring its lines into view.
    // Its tab is the first 'resnet-mini.json' (the graph's tab comes after); a click focuses the editor.
    await page.locator('.tab', { hasText: 'resnet-mini.json' }).first().click();
    await goToLine(page, lineOf('"name": "block1_add"'));
    await page.locator('.view-line', { hasText: 'LaurelResidual' }).first().waitFor({ timeout: 20_000 });
    await shot('graph-applied');
    assert.equal(await frame.locator('.residual.switched').count(), 1);
    assert.match(await frame.locator(`${edge} .variant-label`).textContent() ?? '', /RW\+LR/);

    await page.keyboard.press('Control+Z');
    await page.locator('.view-line', { hasText: 'LaurelResidual' }).first().waitFor({ state: 'hidden', timeout: 20_000 });
    await frame.locator('.residual.switched').first().waitFor({ state: 'detached', timeout: 20_000 });
    await shot('graph-undone');
    assert.equal(await frame.locator('.residual').count(), 4);
    assert.equal(await page.locator('.tab.dirty', { hasText: 'resnet-mini.json' }).count(), 0);

    // Close the graph so the next steps see the editor alone.
    await page.locator('.tab', { hasText: 'Graph: resnet-mini.json' }).click();
    await runCommand(page, 'View: Close Editor');
    await page.locator('.tab', { hasText: 'Graph: resnet-mini.json' }).waitFor({ state: 'detached', timeout: 10_000 });
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
    assert.ok(rows.some((r) => r.includes('+2,568 (5.91%) params on 4 residuals')), rows.join('\n'));
    await page.keyboard.type('Learned weights');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'RW' }).first().waitFor();
    await page.keyboard.press('Enter');
    await page.locator('.part.statusbar', { hasText: /LAuReL: RW on 4 residuals: \+8 \(0\.018%\) params/ }).waitFor({ timeout: 20_000 });
    await page.keyboard.press('Control+Home');
    await page.locator('.codelens-decoration', { hasText: 'LAuReL on 4/4 +8' }).waitFor({ timeout: 20_000 });
    await shot('applied-rw-all');
    assert.ok((await lensTexts(page)).some((t) => t.includes('Revert all to plain')));
  });

  it('Export Model writes a PyTorch module of the model with its current variants', async () => {
    await page.locator('.tab', { hasText: 'resnet-mini.json' }).first().click();
    await runCommand(page, 'LAuReL: Export Model (PyTorch, TF.js, Keras JSON)');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'PyTorch module' }).first().click({ timeout: 20_000 });
    // code-server's save dialog is a quick input holding the proposed path: accept it.
    const deadline = Date.now() + 20_000;
    let proposed = '';
    while (!(proposed = await page.inputValue('.quick-input-widget input').catch(() => '')).endsWith('resnet-mini.py')) {
      if (Date.now() > deadline) assert.fail(`the save dialog proposed '${proposed}', expected …/resnet-mini.py`);
      await page.waitForTimeout(200);
    }
    await shot('export-save');
    await page.keyboard.press('Enter');
    await page.locator('.notification-toast', { hasText: /exported resnet-mini\.py/ }).waitFor({ timeout: 20_000 });
    await shot('exported');
    const code = readFileSync(join(session.workspace, 'resnet-mini.py'), 'utf8');
    assert.match(code, /class LaurelResidual\(nn\.Module\)/);
    // The previous step put RW on every residual: the module builds four RW LAuReL layers.
    assert.equal((code.match(/= LaurelResidual\(\d+, "rw"/g) ?? []).length, 4);
  });

  it('Train saves the edited model, asks for data, and streams the run into the training panel', async function () {
    this.timeout(300_000);
    await page.locator('.tab', { hasText: 'resnet-mini.json' }).first().click();
    await runCommand(page, 'LAuReL: Train');
    // The document is dirty (RW on every residual): the trainer reads the file, so it asks to save first.
    const save = page.locator('.notification-toast a.monaco-button, .notification-toast .monaco-button', { hasText: 'Save and Train' }).first();
    await save.waitFor({ timeout: 20_000 });
    await shot('train-save-prompt');
    await save.click();
    // No dataset is remembered for this model yet: the picker.
    const synthetic = page.locator('.quick-input-list .monaco-list-row', { has: page.locator('.label-name', { hasText: /^synthetic$/ }) }).first();
    await synthetic.waitFor({ timeout: 20_000 });
    await shot('train-dataset-pick');
    const rows = (await page.$$eval('.quick-input-list .monaco-list-row', (els) => els.map((e) => e.textContent ?? ''))).map(norm);
    assert.ok(rows.some((r) => r.startsWith('Browse')), rows.join('\n'));
    await synthetic.click();

    const panel = await webviewFrame(page, '#app .header', 60_000);
    await page.locator('.tab', { hasText: 'LAuReL Training' }).waitFor({ timeout: 20_000 });
    await panel.locator('.chart-loss canvas').first().waitFor({ timeout: 120_000 });
    await shot('training-curve');
    const failed = page.locator('.notification-toast', { hasText: 'training failed' }).first();
    await Promise.race([panel.locator('#app[data-state="completed"] .table-section.final').waitFor({ timeout: 240_000 }), failed.waitFor({ timeout: 240_000 })]);
    await page.waitForTimeout(500);
    await shot('training-done');
    const toasts = norm(await page.locator('.notifications-toasts').textContent());
    assert.doesNotMatch(toasts, /training failed/, toasts);
    assert.match(toasts, /resnet-mini\.json completed: loss \d/);
    assert.equal(await page.locator('.tab.dirty', { hasText: 'resnet-mini.json' }).count(), 0, 'saved before training');

    // The panel: a curve with data, the backend and why, and the final table with the run.
    const points = await panel.locator('.chart-loss .u-legend').textContent();
    assert.ok(points && /resnet-mini\.json/.test(points), String(points));
    assert.match(norm(await panel.locator('.backend').textContent()), /Backend (wasm|cpu|tensorflow)/);
    const row = panel.locator('table.results tbody tr').first();
    const cells = (await row.locator('td').allTextContents()).map(norm);
    assert.equal(cells[0], 'resnet-mini.json');
    assert.match(cells[1]!, /^43,4\d\d$/, cells.join(' | '));
    assert.match(cells[3]!, /^\d+\.\d{4}$/, 'final loss');
    assert.equal(cells[cells.length - 1], 'completed');
    assert.equal(await panel.locator('#app .badge').textContent(), 'completed');
    assert.equal(await panel.locator('vscode-button.cancel').isHidden(), true, 'no Cancel once done');
  });

  it('Compare Variants overlays plain, RW and RW+LR in the panel and ends with the comparison table', async function () {
    this.timeout(300_000);
    await page.locator('.tab', { hasText: 'resnet-mini.json' }).first().click();
    await runCommand(page, 'LAuReL: Compare Variants');
    // RW and RW+LR are picked by default; the dataset is remembered from Train, so no picker follows.
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'RW+LR' }).first().waitFor({ timeout: 20_000 });
    await shot('compare-pick');
    await page.keyboard.press('Enter');
    // Then the seeds: three, with a held-out test set (mean ± std bands, statistics, test columns).
    const threeSeeds = page.locator('.quick-input-list .monaco-list-row', { hasText: '3 seeds, held-out test set' }).first();
    await threeSeeds.waitFor({ timeout: 20_000 });
    await threeSeeds.click();
    const panel = await webviewFrame(page, '#app .header', 60_000);
    await panel.locator('.job-title', { hasText: 'Comparing 3 variants' }).waitFor({ timeout: 30_000 });
    const failed = page.locator('.notification-toast', { hasText: 'training failed' }).first();
    await Promise.race([panel.locator('#app[data-state="completed"] .table-section.final').waitFor({ timeout: 280_000 }), failed.waitFor({ timeout: 280_000 })]);
    await page.waitForTimeout(500);
    await shot('compare-done');
    const rows = panel.locator('table.results tbody tr');
    assert.equal(await rows.count(), 9);
    const names = (await rows.locator('td.name').allTextContents()).map(norm);
    assert.equal(names[0], 'plain · seed 1');
    assert.match(names[2]!, /^all=rw\+lr.* · seed 1$/);
    assert.match(names[8]!, / · seed 3$/);
    const head = (await panel.locator('table.results thead th').allTextContents()).map(norm);
    for (const h of ['val acc', 'best val acc', 'test loss', 'test acc', 'MACs/ex']) assert.ok(head.includes(h), head.join(' | '));
    // The curves: per plan the mean over the 3 seeds (a band around it), not 9 curves.
    const legend = (await panel.locator('.chart-loss .u-legend .u-series').allTextContents()).map(norm);
    assert.equal(legend.filter((t) => /mean of 3 seeds$/.test(t) && !/validation/.test(t)).length, 3, legend.join(' | '));
    assert.match(norm(await panel.locator('.seed-summary .verdicts').textContent()), /vs plain: [+−]\d+\.\d\d pts test accuracy, 95% CI \[/);
    assert.equal(await panel.locator('vscode-button.export-report').isHidden(), false);
  });

  it('a model file that does not read gets a located diagnostic instead of lenses', async () => {
    await quickOpen(page, 'broken-model.json');
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

  it('the graph of ResNet-50 (for the README)', async function () {
    this.timeout(180_000);
    await quickOpen(page, RESNET50);
    await layoutCommand(page, 'View: Hide Panel');
    await runCommand(page, 'LAuReL: Open Graph');
    const frame = await webviewFrame(page, '.residual', 120_000);
    await frame.locator('.summary .totals').waitFor({ timeout: 30_000 });
    assert.match(norm(await frame.locator('.summary .totals').textContent()), /16 residuals/);
    await layoutCommand(page, 'View: Toggle Maximize Editor Group');
    await page.waitForTimeout(500);
    await shot('graph-resnet50');
    // For the README: each block's branch folded into one box, RW+LR on all 16 residuals (the file is left unsaved).
    await frame.locator('vscode-button', { hasText: 'Collapse blocks' }).click();
    await frame.locator('.node-box.folded').first().waitFor({ timeout: 30_000 });
    await frame.locator('vscode-button[title^="Choose a variant for every residual"]').click();
    const menu = frame.locator('.menu:not([hidden])');
    await menu.waitFor({ timeout: 10_000 });
    await menu.locator('.menu-row', { has: frame.locator('input[value="rw+lr"]') }).click();
    await menu.locator('vscode-button', { hasText: /^Apply/ }).click();
    await frame.locator('.residual.switched').nth(15).waitFor({ timeout: 30_000 });
    await page.waitForTimeout(1000);
    await shot('graph-resnet50-rw-lr');
    assert.match(norm(await frame.locator('.summary').textContent()), /LAuReL on 16/);
    const outer = await (await frame.frameElement()).ownerFrame();
    const iframe = outer ? await outer.frameElement() : undefined;
    if (iframe) await iframe.screenshot({ path: join(artifacts, 'graph-resnet50-view.png') });
    await frame.locator('vscode-button[title^="Fit"]').click();
    await page.waitForTimeout(1000);
    await shot('graph-resnet50-overview');
  });

  it('Open Training Runs brings the saved comparison back, and the panel survives a reload of the window', async function () {
    this.timeout(240_000);
    // The focus is in the graph webview (as after any click there): commands must still reach the palette.
    await (await webviewFrame(page, '.residual')).locator('.summary').click();
    await runCommand(page, 'View: Toggle Maximize Editor Group');
    await runCommand(page, 'LAuReL: Open Training Runs…');
    const comparison = page.locator('.quick-input-list .monaco-list-row', { hasText: 'Comparison of resnet-mini.json' }).first();
    await comparison.waitFor({ timeout: 30_000 });
    const rows = (await page.$$eval('.quick-input-list .monaco-list-row', (els) => els.map((e) => e.textContent ?? ''))).map(norm);
    // The comparison and the Train run; the comparison's own three runs are listed through it.
    assert.ok(rows.some((r) => r.includes('Run of resnet-mini.json')), rows.join('\n'));
    assert.equal(rows.filter((r) => /^\s*Run /.test(r) || r.includes('Run of')).length, 1, rows.join('\n'));
    await shot('open-runs-pick');
    await comparison.click(); // a multi-select list: the click ticks it
    await page.keyboard.press('Enter');
    let panel = await webviewFrame(page, '.job-title', 60_000);
    await panel.locator('.job-title', { hasText: /^Comparison of resnet-mini\.json.*\(from disk\)$/ }).waitFor({ timeout: 30_000 });
    assert.equal(await panel.locator('table.results tbody tr').count(), 3);
    assert.equal(await panel.locator('#app .badge').textContent(), 'completed');
    await panel.locator('.chart-loss canvas').first().waitFor({ timeout: 30_000 });
    await shot('open-runs-panel');

    // A reload of the window (the browser's, here): the panel comes back with its history.
    await page.reload();
    await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
    await page.locator('.tab', { hasText: 'LAuReL Training' }).first().click({ timeout: 60_000 });
    panel = await webviewFrame(page, '.job-title', 60_000);
    await panel.locator('.job-title', { hasText: /\(from disk\)$/ }).waitFor({ timeout: 30_000 });
    assert.equal(await panel.locator('table.results tbody tr').count(), 3);
    const jobs = (await panel.locator('select.job-picker option').allTextContents()).map(norm);
    assert.ok(jobs.some((j) => /Comparing 3 variants/.test(j)) && jobs.some((j) => /Training resnet-mini\.json/.test(j)), jobs.join(' | '));
    await shot('training-panel-after-reload');
  });
});
