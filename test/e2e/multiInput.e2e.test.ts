/**
 * Train on a model with two inputs in code-server: tfjs-examples' seq2seq (an encoder LSTM whose states are the
 * decoder LSTM's initial_state). The data picker offers synthetic data naming both inputs (and no IDX / CSV file of
 * the workspace, which give one x); the run streams into the training panel and completes with the model's 747,628
 * parameters. 64 synthetic samples, batch 16, one epoch. Screenshots: test-artifacts/e2e/multi-NN-*.png.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { repoRoot } from './codeServer';
import { codeServerSuite, norm, quickOpen, runCommand, trainingEnded, webviewFrame } from './ui';

const SEQ2SEQ = 'tfjs-seq2seq-lstm-initial-state-tfjs-examples.json';
const model = readFileSync(join(repoRoot, 'test', 'fixtures', 'models', SEQ2SEQ), 'utf8');
const settings = JSON.stringify({ 'laurel.training.epochs': 1, 'laurel.training.batchSize': 16, 'laurel.training.sampleLimit': 64, 'laurel.training.learningRate': 0.01 });

describe('Train a model with two inputs (seq2seq) in code-server', function () {
  this.timeout(420_000);
  let page: Page;
  const shot = codeServerSuite('multi-', { [SEQ2SEQ]: model, 'data.csv': 'a,b,label\n1,2,0\n3,4,1\n', '.vscode/settings.json': settings }, (s) => {
    page = s.page;
  });

  it('the picker names both inputs and offers no one-x file; synthetic data train to the end in the panel', async () => {
    await quickOpen(page, SEQ2SEQ);
    await page.waitForSelector('.codelens-decoration', { timeout: 60_000 });
    await runCommand(page, 'LAuReL: Train');
    const synthetic = page.locator('.quick-input-list .monaco-list-row', { has: page.locator('.label-name', { hasText: /^synthetic$/ }) }).first();
    await synthetic.waitFor({ timeout: 30_000 });
    await shot('pick');
    const rows = (await page.$$eval('.quick-input-list .monaco-list-row', (els) => els.map((e) => e.textContent ?? ''))).map(norm);
    assert.ok(rows.some((r) => r.includes("one array per input: 'input_1' (None, None, 81), 'input_2' (None, None, 108)")), rows.join('\n'));
    assert.ok(!rows.some((r) => r.includes('data.csv')), rows.join('\n'));
    await synthetic.click();

    const panel = await webviewFrame(page, '#app .header', 60_000);
    await panel.locator('.chart-loss canvas').first().waitFor({ timeout: 120_000 });
    await trainingEnded(page, panel);
    await shot('done');
    const cells = (await panel.locator('table.results tbody tr').first().locator('td').allTextContents()).map(norm);
    assert.equal(cells[0], SEQ2SEQ);
    assert.equal(cells[1], '747,628', cells.join(' | '));
    assert.match(cells[3]!, /^\d+\.\d{4}$/, 'a finite final loss');
    assert.equal(cells[cells.length - 1], 'completed');
  });
});
