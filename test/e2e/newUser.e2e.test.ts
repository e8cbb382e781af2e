/**
 * What a new user meets (issue 15), in code-server: the LAuReL Residuals view on a one-line model file, the
 * .keras custom editor (apply, undo, save, revert), the warning on a layer of unknown class, and Ctrl+Z
 * pressed inside the graph. Screenshots: test-artifacts/e2e/new-user-*.png.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { strFromU8, unzipSync, zipSync } from 'fflate';
import type { Page } from 'playwright-core';
import { repoRoot } from './codeServer';
import type { Session } from './codeServer';
import { codeServerSuite, contextMenu, norm, quickOpen, runCommand, webviewFrame } from './ui';

const fixtures = join(repoRoot, '..', 'shared', 'fixtures', 'models');
// Keras writes to_json() on one line: so does this copy of the example.
const oneLine = JSON.stringify(JSON.parse(readFileSync(join(repoRoot, 'examples', 'resnet-mini.json'), 'utf8')));
// A .keras archive around the real Keras 3 ResNet-1D config (as Keras 3 saves it: metadata, config, weights).
const kerasConfig = readFileSync(join(fixtures, 'keras3-resnet1d-dotkeras-config.json'));
const mtime = new Date(2024, 10, 1, 10, 0, 0);
const archive = Buffer.from(
  zipSync(
    {
      'metadata.json': [new TextEncoder().encode('{"keras_version": "3.6.0", "date_saved": "2024-11-01@10:00:00"}'), { mtime }],
      'config.json': [new Uint8Array(kerasConfig), { mtime }],
      'model.weights.h5': [new Uint8Array([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]), { mtime, level: 0 }],
    },
    { level: 6 },
  ),
);
// The Keras 3 transformer with one attention layer replaced by a project's own class.
const transformer = JSON.parse(readFileSync(join(fixtures, 'keras3-transformer-encoder-opsAdd-dotkeras-config.json'), 'utf8')) as { config: { layers: { class_name: string; module?: string; config: { name: string } }[] } };
const custom = transformer.config.layers.find((l) => l.config.name === 'multi_head_attention_1')!;
custom.class_name = 'MyEncoderBlock';
custom.module = 'my_project.layers';

const configOf = (bytes: Uint8Array): string => strFromU8(unzipSync(bytes)['config.json']!);

describe('What a new user meets (issue 15)', function () {
  this.timeout(240_000);
  let session: Session;
  let page: Page;
  const shot = codeServerSuite('new-user-', { 'mini-oneline.json': oneLine, 'custom-layer.json': JSON.stringify(transformer) }, (s) => {
    session = s;
    page = s.page;
    writeFileSync(join(s.workspace, 'resnet1d.keras'), archive);
  });
  const residualsPane = () => page.locator('.pane', { has: page.locator('.pane-header', { hasText: 'LAuReL Residuals' }) });
  const treeRow = (text: string | RegExp) => residualsPane().locator('.monaco-list-row', { hasText: text }).first();
  /** In the open variant pick: filter to the row whose detail has `text`, then Enter (a click can land on a row that moved). */
  const chooseVariant = async (text: string): Promise<void> => {
    await page.locator('.quick-input-list .monaco-list-row').first().waitFor({ timeout: 20_000 });
    await page.keyboard.type(text);
    await page.locator('.quick-input-list .monaco-list-row', { hasText: text }).first().waitFor({ timeout: 10_000 });
    await page.waitForTimeout(200);
    await page.keyboard.press('Enter');
  };
  /** The Explorer may show the view collapsed under the folder: expand it. */
  const expandResiduals = async (): Promise<void> => {
    const header = residualsPane().locator('.pane-header');
    await header.waitFor({ timeout: 30_000 });
    if ((await header.getAttribute('aria-expanded')) !== 'true') await header.click();
    await residualsPane().locator('.pane-body').waitFor({ timeout: 10_000 });
  };

  it('the Residuals view lists a one-line file\'s residuals; a click selects the layer and focuses it in the graph; a context action applies', async () => {
    await page.waitForSelector('.explorer-folders-view, .monaco-workbench .part.sidebar', { timeout: 60_000 });
    // Opened from the Explorer, as a user would (the first Quick Open can come before the file index is ready).
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'mini-oneline.json' }).first().dblclick({ timeout: 30_000 });
    await page.locator('.tab.active', { hasText: 'mini-oneline.json' }).waitFor({ timeout: 20_000 });
    await expandResiduals();
    await treeRow('stage 1').waitFor({ timeout: 30_000 });
    await treeRow('block1_add').waitFor({ timeout: 30_000 });
    await shot('residuals-view');
    const rows = (await residualsPane().locator('.monaco-list-row').allTextContents()).map(norm);
    assert.ok(rows.some((r) => /block1_add.*identity · D=16 · plain/.test(r)), rows.join('\n'));
    assert.ok(rows.some((r) => /stage 2.*\(\?, 14, 14, 32\) · 2 residuals/.test(r)) || rows.some((r) => /stage 2/.test(r)), rows.join('\n'));

    // Click: the layer object is selected on the one line, and the graph opens focused on it.
    await treeRow('block2_add').click();
    const frame = await webviewFrame(page, '.residual[aria-label^="Residual block2_add:"]');
    await frame.locator('.node').first().waitFor({ timeout: 30_000 });
    await page.locator('.editor-group-container .selected-text').first().waitFor({ timeout: 20_000 });
    await shot('residual-revealed');
    const status = norm(await page.locator('.part.statusbar').textContent());
    assert.match(status, /Ln 1, Col \d+ \(\d+ selected\)/, status);

    // Children: each variant with its cost; D=16 flags the capped rank.
    await treeRow('block1_add').locator('.monaco-tl-twistie').click();
    await treeRow(/RW\+LR r=8/).waitFor({ timeout: 10_000 });
    const variants = (await residualsPane().locator('.monaco-list-row').allTextContents()).map(norm);
    assert.ok(variants.some((r) => /^RW\+LR r=8\s*\+258/.test(r.trim())), variants.join('\n'));
    // The capped rank is flagged once, by the row's warning icon.
    assert.equal(await treeRow(/RW\+LR r=8/).locator('.codicon-warning').count(), 1);
    assert.ok(variants.some((r) => /^RW\s*\+2/.test(r.trim())), variants.join('\n'));
    await shot('residual-variants');

    // Context menu on a site: Apply Variant… → RW.
    await contextMenu(page, treeRow('block1_add'), 'Apply Variant…', page.locator('.quick-input-list .monaco-list-row', { hasText: 'Learned weights' }).first());
    await chooseVariant('Learned weights');
    await treeRow(/block1_add.*RW$/).waitFor({ timeout: 20_000 });
    await page.locator('.tab.dirty', { hasText: 'mini-oneline.json' }).waitFor({ timeout: 20_000 });
    await shot('residual-applied');
  });

  it('Ctrl+Z pressed inside the graph undoes the file; Ctrl+Shift+Z redoes it', async () => {
    const frame = await webviewFrame(page, '.residual.switched');
    // Focus the graph (a click on its summary), then the keys.
    await frame.locator('.summary').click();
    await page.keyboard.press('Control+Z');
    await frame.locator('.residual.switched').first().waitFor({ state: 'detached', timeout: 20_000 });
    await page.locator('.tab.dirty', { hasText: 'mini-oneline.json' }).waitFor({ state: 'detached', timeout: 20_000 });
    await shot('graph-undo');
    await frame.locator('.summary').click();
    await page.keyboard.press('Control+Shift+Z');
    await frame.locator('.residual.switched').first().waitFor({ timeout: 20_000 });
    await shot('graph-redo');
    // Inside the graph again: the redo's reveal brings the panel forward, not always the keyboard into its page.
    await frame.locator('.summary').click();
    await page.keyboard.press('Control+Z');
    await frame.locator('.residual.switched').first().waitFor({ state: 'detached', timeout: 20_000 });

    // A click on a box opens its properties: the layer's config, as Netron's sidebar shows it.
    await frame.locator('.node', { hasText: 'stem_conv' }).first().click();
    const props = frame.locator('.props:not([hidden])');
    await props.waitFor({ timeout: 10_000 });
    await shot('graph-properties');
    const text = norm(await props.textContent());
    assert.match(text, /stem_conv.*Conv2D/);
    assert.match(text, /kernel_size\s*\[3,3\]/);
    assert.match(text, /params\s*144/);
    await page.keyboard.press('Escape');
    await props.waitFor({ state: 'detached', timeout: 5_000 }).catch(() => undefined);
    await runCommand(page, 'View: Close All Editors');
  });

  it('a layer of unknown class gets a warning naming class and layer, and the lens counts it', async () => {
    await quickOpen(page, 'custom-layer.json');
    await page.locator('.codelens-decoration', { hasText: 'unknown layer' }).first().waitFor({ timeout: 30_000 });
    const lens = norm(await page.locator('.codelens-decoration').first().textContent());
    assert.match(lens, /⚠ 1 unknown layer: multi_head_attention_1 \(MyEncoderBlock\)/);
    await page.keyboard.press('Control+Shift+M');
    const row = page.locator('.markers-panel .monaco-list-row', { hasText: 'MyEncoderBlock' }).first();
    await row.waitFor({ timeout: 20_000 });
    await shot('unknown-layer-warning');
    assert.match(norm(await row.textContent()), /Layer 'multi_head_attention_1' has class 'MyEncoderBlock'/);
    assert.ok(await page.locator('.markers-panel .monaco-list-row .codicon-warning').count() >= 1, 'a warning, not an error');
    await runCommand(page, 'View: Close All Editors');
    await runCommand(page, 'View: Hide Panel');
  });

  it('.keras opens in the custom editor: apply from the view, undo, save (atomic), revert all back to the original bytes, Revert File', async () => {
    const file = join(session.workspace, 'resnet1d.keras');
    await quickOpen(page, 'resnet1d.keras');
    const frame = await webviewFrame(page, '.residual', 60_000);
    await frame.locator('.summary .totals').waitFor({ timeout: 30_000 });
    await expandResiduals();
    await treeRow('stage 1').waitFor({ timeout: 30_000 });
    await shot('keras-editor');
    const sites = await frame.locator('.residual').count();
    assert.ok(sites > 0);

    // Apply to all from the view's title, RW.
    await residualsPane().hover();
    await residualsPane().locator('.action-label[aria-label^="Apply Variant to All Residuals"]').click();
    await chooseVariant('Learned weights');
    await frame.locator('.residual.switched').nth(sites - 1).waitFor({ timeout: 20_000 });
    await page.locator('.tab.dirty', { hasText: 'resnet1d.keras' }).waitFor({ timeout: 20_000 });
    assert.deepEqual(readFileSync(file), archive, 'nothing written before save');
    await shot('keras-applied');

    // Undo from inside the custom editor.
    await frame.locator('.summary').click();
    await page.keyboard.press('Control+Z');
    await frame.locator('.residual.switched').first().waitFor({ state: 'detached', timeout: 20_000 });
    await page.locator('.tab.dirty', { hasText: 'resnet1d.keras' }).waitFor({ state: 'detached', timeout: 20_000 });

    // Redo and save: the archive on disk now holds LaurelResidual layers.
    await page.keyboard.press('Control+Shift+Z');
    await frame.locator('.residual.switched').nth(sites - 1).waitFor({ timeout: 20_000 });
    await page.keyboard.press('Control+S');
    await page.locator('.tab.dirty', { hasText: 'resnet1d.keras' }).waitFor({ state: 'detached', timeout: 20_000 });
    const saved = readFileSync(file);
    assert.equal((configOf(saved).match(/"LaurelResidual"/g) ?? []).length, sites);
    await shot('keras-saved');

    // Revert all to plain and save: the original archive, byte for byte.
    await residualsPane().hover();
    await residualsPane().locator('.action-label[aria-label^="Revert All to Plain"]').click();
    await frame.locator('.residual.switched').first().waitFor({ state: 'detached', timeout: 20_000 });
    await frame.locator('.summary').click();
    await page.keyboard.press('Control+S');
    await page.locator('.tab.dirty', { hasText: 'resnet1d.keras' }).waitFor({ state: 'detached', timeout: 20_000 });
    assert.equal(configOf(readFileSync(file)), kerasConfig.toString('utf8'), 'config.json as it was');
    assert.ok(readFileSync(file).equals(archive), 'the archive as it was, byte for byte');

    // An unsaved change, then File: Revert File: the bytes on disk again, nothing written.
    await residualsPane().hover();
    await residualsPane().locator('.action-label[aria-label^="Apply Variant to All Residuals"]').click();
    await chooseVariant('Learned weights');
    await page.locator('.tab.dirty', { hasText: 'resnet1d.keras' }).waitFor({ timeout: 20_000 });
    await runCommand(page, 'File: Revert File');
    await page.locator('.tab.dirty', { hasText: 'resnet1d.keras' }).waitFor({ state: 'detached', timeout: 20_000 });
    await frame.locator('.residual.switched').first().waitFor({ state: 'detached', timeout: 20_000 });
    assert.ok(readFileSync(file).equals(archive));
    await shot('keras-reverted');
  });
  it('the extension page shows the VS Code README with images that load offline, and the icon', async () => {
    // The Extensions view from the activity bar (a key could land in the graph webview that has the focus).
    await page.locator('.activitybar .action-item a[aria-label^="Extensions"]').first().click({ timeout: 20_000 });
    await page.locator('.extensions-viewlet').waitFor({ timeout: 20_000 });
    await page.waitForTimeout(1_000);
    await page.keyboard.type('@installed LAuReL');
    await page.locator('.extension-list-item', { hasText: 'LAuReL Studio' }).first().click({ timeout: 30_000 });
    const readme = await webviewFrame(page, 'img[alt^="CodeLens above"]', 60_000);
    await readme.locator('h2', { hasText: 'Start here' }).waitFor({ timeout: 30_000 });
    await page.waitForTimeout(1_000);
    await shot('extension-page');
    // naturalWidth is 0 for an image that did not load (this machine has no internet).
    const widths = await readme.$$eval('img', (els) => els.map((e) => (e as unknown as { naturalWidth: number }).naturalWidth));
    assert.ok(widths.length >= 4 && widths.every((w) => w > 0), `image widths ${widths.join(', ')}`);
    const icon = page.locator('.extension-editor .header .icon-container img.icon');
    assert.ok((await icon.evaluate((e) => (e as unknown as { naturalWidth: number }).naturalWidth)) > 0, 'the icon loads');
  });
});
