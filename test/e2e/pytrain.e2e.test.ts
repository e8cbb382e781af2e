/**
 * Compare Variants and Train on a PyTorch .py model in code-server: nanoGPT's model.py (shared/fixtures/pytorch,
 * small configuration) with a `# laurel:` comment naming the model, the input and a text file of the workspace as
 * data. Compare asks once to run the file, measures it, offers the variants priced from the measurement, and
 * trains plain, RW and RW+LR with PyTorch from rewritten copies into the training panel: curves for each, then
 * the comparison table; the file itself stays as it was. Train then runs the file as it is. Screenshots:
 * test-artifacts/e2e/pytrain-NN-*.png.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { repoRoot } from './codeServer';
import type { Session } from './codeServer';
import { codeServerSuite, norm, quickOpen, runCommand, trainingEnded, webviewFrame } from './ui';

const comment = '# laurel: model=GPT(GPTConfig(n_layer=2, n_head=2, n_embd=64, block_size=32, vocab_size=256, dropout=0.0)) input=torch.randint(0, 256, (1, 32)) data=text:corpus.txt:limit=320\n';
const source = readFileSync(join(repoRoot, '..', 'shared', 'fixtures', 'pytorch', 'nanogpt_model.py'), 'utf8') + comment;
// 20 KB of English prose: the repository's README. Three epochs of 9 steps at lr 3e-3: curves that move apart.
const corpus = readFileSync(join(repoRoot, 'README.md'), 'utf8').slice(0, 20_000);
const settings = JSON.stringify({ 'laurel.training.epochs': 3, 'laurel.training.learningRate': 0.003 });

describe('Compare Variants and Train on a PyTorch .py model in code-server', function () {
  this.timeout(420_000);
  let session: Session;
  let page: Page;
  const shot = codeServerSuite('pytrain-', { 'model.py': source, 'corpus.txt': corpus, '.vscode/settings.json': settings }, (s) => {
    session = s;
    page = s.page;
  });

  it('Compare: measures once allowed, offers the variants priced over plain, trains plain, RW and RW+LR into the panel', async () => {
    await quickOpen(page, 'model.py');
    await runCommand(page, 'LAuReL: Compare Variants');
    // Training runs the file in Python: the same one-time consent as measuring.
    await page.locator('.monaco-dialog-box .monaco-button', { hasText: 'Allow' }).click({ timeout: 30_000 });
    // Measured (one forward pass), then the variants with what each adds to nanoGPT's 118,528 parameters.
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'RW+LR' }).first().waitFor({ timeout: 120_000 });
    await shot('pick');
    const rows = (await page.$$eval('.quick-input-list .monaco-list-row', (els) => els.map((e) => e.textContent ?? ''))).map(norm);
    assert.ok(rows.some((r) => /^RW\b.*\+8 \(0\.0067%\) params over plain on 2 residual lines \(4 calls\)/.test(r)), rows.join('\n'));
    assert.ok(rows.some((r) => /RW\+LR.*\+8,200 \(6\.92%\) params over plain/.test(r)), rows.join('\n'));
    await page.keyboard.press('Enter');
    // Seeds and test set: the first choice, one seed without a test set, as before.
    await page.locator('.quick-input-list .monaco-list-row', { hasText: '1 seed' }).first().waitFor({ timeout: 20_000 });
    await page.keyboard.press('Enter');

    // The data is the comment's text file: no picker; the panel streams the three runs.
    const panel = await webviewFrame(page, '#app .header', 90_000);
    await panel.locator('.job-title', { hasText: 'Comparing 3 variants of model.py' }).waitFor({ timeout: 30_000 });
    await panel.locator('.chart-loss canvas').first().waitFor({ timeout: 120_000 });
    await shot('training');
    await trainingEnded(page, panel);
    await shot('compare-done');

    // The comparison table: plain first (the baseline), then the two variants with their exact parameter counts.
    const results = panel.locator('table.results tbody tr');
    assert.equal(await results.count(), 3);
    await results.last().scrollIntoViewIfNeeded();
    await shot('compare-table');
    const table = await Promise.all([0, 1, 2].map(async (i) => (await results.nth(i).locator('td').allTextContents()).map(norm)));
    assert.deepEqual(table.map((r) => r[0]), ['plain', 'all=rw', 'all=rw+lr']);
    assert.deepEqual(table.map((r) => r[1]), ['118,528', '118,536', '126,728']);
    for (const r of table) assert.equal(r[r.length - 1], 'completed', r.join(' | '));
    // One loss curve per run (validation and step series aside).
    assert.equal((await panel.locator('.chart-loss .u-legend .u-series').allTextContents()).filter((t) => !/validation|step/.test(t)).length, 3);
    assert.match(norm(await panel.locator('.backend').textContent()), /pytorch/i);
    // The variants were trained from copies: the file is as it was.
    assert.equal(readFileSync(join(session.workspace, 'model.py'), 'utf8'), source);
  });

  it('Train: the file as it is, on the same data, into a new job of the panel', async () => {
    await page.locator('.tab', { hasText: 'model.py' }).first().click();
    await runCommand(page, 'LAuReL: Train');
    const panel = await webviewFrame(page, '#app .header', 60_000);
    await panel.locator('.job-title', { hasText: 'Training model.py' }).waitFor({ timeout: 60_000 });
    await trainingEnded(page, panel);
    await shot('train-done');
    const toasts = norm(await page.locator('.notifications-toasts').textContent());
    assert.match(toasts, /model\.py completed: loss \d/, toasts);
    const cells = (await panel.locator('table.results tbody tr').first().locator('td').allTextContents()).map(norm);
    assert.equal(cells[0], 'model.py');
    assert.equal(cells[1], '118,528');
    assert.equal(cells[cells.length - 1], 'completed');
  });
});
