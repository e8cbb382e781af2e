/**
 * Compare Variants over 3 seeds and 3 epochs in code-server: the training panel's curves show per plan the mean
 * over the seeds with a ± 1 std band across the epochs (screenshots to look at), Export report.md writes the report
 * with its SVG curves beside it, and the Markdown preview shows them. resnet-mini on 128 synthetic samples, batch 16,
 * so the 9 runs take about a minute or two. Screenshots: test-artifacts/e2e/bands-NN-*.png.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { repoRoot } from './codeServer';
import type { Session } from './codeServer';
import { artifacts, codeServerSuite, layoutCommand, norm, quickOpen, runCommand, webviewFrame } from './ui';

const model = readFileSync(join(repoRoot, 'examples', 'resnet-mini.json'), 'utf8');
const settings = JSON.stringify({ 'laurel.training.epochs': 3, 'laurel.training.batchSize': 16, 'laurel.training.sampleLimit': 128, 'laurel.training.learningRate': 0.003, 'laurel.dataset': 'synthetic' });

describe('Compare over seeds and epochs in code-server: bands and the report', function () {
  this.timeout(600_000);
  let session: Session;
  let page: Page;
  const shot = codeServerSuite('bands-', { 'resnet-mini.json': model, '.vscode/settings.json': settings }, (s) => {
    session = s;
    page = s.page;
  });

  it('3 seeds × 3 epochs: per plan a mean curve with a band in the panel; Export report.md writes the SVG curves beside it', async () => {
    await quickOpen(page, 'resnet-mini.json');
    await page.waitForSelector('.codelens-decoration', { timeout: 60_000 });
    await runCommand(page, 'LAuReL: Compare Variants');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'RW+LR' }).first().waitFor({ timeout: 20_000 });
    await page.keyboard.press('Enter');
    const threeSeeds = page.locator('.quick-input-list .monaco-list-row', { hasText: '3 seeds, held-out test set' }).first();
    await threeSeeds.waitFor({ timeout: 20_000 });
    await threeSeeds.click();
    const panel = await webviewFrame(page, '#app .header', 60_000);
    await panel.locator('.job-title', { hasText: 'over seeds 1, 2, 3' }).waitFor({ timeout: 30_000 });
    const failed = page.locator('.notification-toast', { hasText: 'training failed' }).first();
    await Promise.race([panel.locator('#app[data-state="completed"] .table-section.final').waitFor({ timeout: 480_000 }), failed.waitFor({ timeout: 480_000 })]);
    assert.doesNotMatch(norm(await page.locator('.notifications-toasts').textContent()), /training failed/);
    await layoutCommand(page, 'View: Hide Panel');
    // The training panel opens in a group beside the model: that group, maximized.
    await page.locator('.tab', { hasText: 'LAuReL Training' }).first().click();
    await layoutCommand(page, 'View: Toggle Maximize Editor Group');
    await page.waitForTimeout(800);
    await shot('panel');
    await panel.locator('.charts').screenshot({ path: join(artifacts, 'bands-curves.png') });

    // Per plan one training and one validation mean over the 3 seeds, every epoch end a point; the band edges unlisted.
    for (const chart of ['.chart-loss', '.chart-acc']) {
      const legend = (await panel.locator(`${chart} .u-legend .u-series:not([hidden])`).allTextContents()).map(norm);
      assert.equal(legend.filter((t) => /mean of 3 seeds$/.test(t)).length, 6, legend.join(' | '));
      assert.equal(legend.filter((t) => /std$/.test(t)).length, 0, legend.join(' | '));
      // x counts epochs (the points are epoch ends, as in report.md's figures).
      assert.equal(await panel.locator(chart).getAttribute('data-x'), 'epoch');
    }

    // Export report.md under another name: the figures are named after it and lie beside it.
    await panel.locator('vscode-button.export-report').click();
    const deadline = Date.now() + 20_000;
    let proposed = '';
    while (!(proposed = await page.inputValue('.quick-input-widget input').catch(() => '')).endsWith('report.md')) {
      if (Date.now() > deadline) assert.fail(`the save dialog proposed '${proposed}', expected …/report.md`);
      await page.waitForTimeout(200);
    }
    const runDir = proposed.slice(0, -'report.md'.length);
    await page.fill('.quick-input-widget input', `${runDir}bands.md`);
    await page.keyboard.press('Enter');
    const toast = page.locator('.notification-toast', { hasText: /report saved to .*bands\.md with its figures bands-loss\.svg, bands-accuracy\.svg/ });
    await toast.waitFor({ timeout: 20_000 });
    const runs = join(session.workspace, 'runs');
    const dir = join(runs, readdirSync(runs).find((d) => d.startsWith('resnet-mini-'))!);
    for (const f of ['report.md', 'report-loss.svg', 'report-accuracy.svg', 'bands.md', 'bands-loss.svg', 'bands-accuracy.svg']) assert.ok(existsSync(join(dir, f)), `${f} in ${dir}`);
    const md = readFileSync(join(dir, 'bands.md'), 'utf8');
    assert.match(md, /!\[loss per epoch: per plan mean over 3 seeds, ± 1 std band\]\(bands-loss\.svg\)/);
    const svg = readFileSync(join(dir, 'bands-loss.svg'), 'utf8');
    // 2 panels × 3 plans: each mean through 3 epoch ends, each with its band.
    const means = [...svg.matchAll(/<path class="mean" data-plan="\d" d="([^"]+)"/g)].map((m) => m[1]!);
    assert.equal(means.length, 6);
    for (const d of means) assert.equal(d.split('L').length, 3, d);
    assert.equal((svg.match(/<path class="band"/g) ?? []).length, 6);

    // The report as a reader sees it: VS Code's Markdown preview with the curves.
    // The notification's own action opens it in VS Code's Markdown preview.
    await toast.locator('.monaco-button', { hasText: 'Open Preview' }).click();
    const preview = await webviewFrame(page, 'img[src*="bands-loss.svg"]', 30_000);
    await preview.locator('img[src*="bands-accuracy.svg"]').scrollIntoViewIfNeeded();
    await page.waitForTimeout(800);
    await shot('report-preview');
    const loaded = await preview.locator('img[src*="bands-loss.svg"]').evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth);
    assert.ok(loaded > 0, 'the preview loaded the loss figure');
  });
});
