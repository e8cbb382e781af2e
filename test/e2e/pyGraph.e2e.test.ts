/**
 * The graph of a PyTorch .py model in code-server: Open Graph on nanoGPT's model.py measures it (the workspace
 * allows it once), draws the Blocks folded; a Block unfolds on double-click, a click on a box reveals its line
 * in the editor, the cursor's line highlights its boxes, a residual edge's menu applies RW to line 104 (the
 * lens's source edit), the graph redraws after the next measurement, and Ctrl+Z in the graph takes it back.
 * Screenshots: test-artifacts/e2e/pygraph-*.png.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { repoRoot } from './codeServer';
import type { Session } from './codeServer';
import { artifacts, clickResidualEdge, codeServerSuite, goToLine, layoutCommand, norm, quickOpen, runCommand, webviewFrame } from './ui';

// The small configuration of issue 8, named by the file's own laurel comment (appended: lines 104/105 stay).
const source =
  readFileSync(join(repoRoot, '..', 'shared', 'fixtures', 'pytorch', 'nanogpt_model.py'), 'utf8') +
  '# laurel: model = GPT(GPTConfig(n_layer=2, n_head=2, n_embd=64, block_size=32, vocab_size=100)); input = torch.randint(0, 100, (1, 16))\n';
const resnet = `${readFileSync(join(repoRoot, '..', 'shared', 'fixtures', 'pytorch', 'cifar_resnet.py'), 'utf8')}# laurel: model = ResNet18(); input = torch.randn(1, 3, 32, 32)\n`;
// Two models of one file (one class, ResNet): each has its own graph, opened from its lens.
const resnets = `${readFileSync(join(repoRoot, '..', 'shared', 'fixtures', 'pytorch', 'cifar_resnet.py'), 'utf8')}# laurel: model = ResNet18(); input = torch.randn(1, 3, 32, 32)\n# laurel: model = ResNet34()\n`;

describe('the graph of a PyTorch .py model in code-server', function () {
  this.timeout(240_000);
  let session: Session;
  let page: Page;
  let frame: Frame;
  const shot = codeServerSuite('pygraph-', { 'model.py': source, 'resnet.py': resnet, 'resnets.py': resnets }, (s) => {
    session = s;
    page = s.page;
  });
  const box = (id: string): ReturnType<Frame['locator']> => frame.locator(`g[data-id="${id}"]`);
  /** The editor's cursor line (its line number is marked; the status bar hides it while the graph has the focus). */
  const cursorLine = async (): Promise<number> => Number(norm(await page.locator('.editor-group-container .line-numbers.active-line-number').first().textContent({ timeout: 5_000 }).catch(() => '0')));

  it('Open Graph measures the file (asked once) and draws nanoGPT with its two Blocks folded', async () => {
    await quickOpen(page, 'model.py');
    await layoutCommand(page, 'View: Hide Panel');
    await runCommand(page, 'LAuReL: Open Graph');
    await page.locator('.monaco-dialog-box .monaco-button', { hasText: 'Allow' }).click({ timeout: 20_000 });
    frame = await webviewFrame(page, '.node', 120_000);
    await frame.locator('.node-box.folded').nth(1).waitFor({ timeout: 60_000 });
    await page.waitForTimeout(500);
    await shot('folded');
    const totals = norm(await frame.locator('.summary .totals').textContent());
    assert.match(totals, /^108,544 params \(108,544 trainable, 0 non-trainable\) · \d+ ops · 4 residuals on 2 lines$/, totals);
    assert.equal(await frame.locator('.residual').count(), 0, 'the residual merges are inside the folded Blocks');
    assert.match(norm(await box('m:transformer.h.0').textContent()), /transformer\.h\.0.*Block · 49,984 params.*\(1, 16, 64\) · residual L104, L105/);
  });

  it('a double-click unfolds a Block; a click on a box reveals its line; the cursor line highlights its boxes', async () => {
    await box('m:transformer.h.0').dblclick();
    await frame.locator('.residual').nth(1).waitFor({ timeout: 30_000 });
    assert.equal(await frame.locator('.residual').count(), 2, 'L104 and L105 of the first Block');
    assert.equal(await frame.locator('g.group[data-id="m:transformer.h.0"]').count(), 1);
    await box('m:transformer.h.0.ln_2').click();
    for (const deadline = Date.now() + 20_000; (await cursorLine()) !== 105; ) {
      if (Date.now() > deadline) assert.fail(`the editor's cursor is on line ${await cursorLine()}, not 105`);
      await page.waitForTimeout(200);
    }
    // The editor's cursor on line 105 marks that line's boxes: ln_2, the MLP group and the add, in the open Block;
    // the folded second Block holds line 105 too.
    await frame.locator('.line-match').nth(3).waitFor({ timeout: 20_000 });
    const marked = await frame.locator('.line-match').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));
    assert.deepEqual(marked.sort(), ['m:transformer.h.0.ln_2', 'm:transformer.h.0.mlp', 'm:transformer.h.1', 'op:transformer.h.0:add:105'].sort());
    await shot('unfolded-line-105');
    await frame.locator('.props .props-close').click();
  });

  it('RW on the residual edge of line 104 is the lens\'s source edit; the graph redraws; Ctrl+Z in the graph undoes it', async () => {
    await clickResidualEdge(page, frame, '.residual[data-site="L104"]');
    const menu = frame.locator('.menu:not([hidden])');
    await menu.waitFor({ timeout: 10_000 });
    assert.match(norm(await menu.locator('.menu-title').textContent()), /L104: x = x \+ self\.attn\(self\.ln_1\(x\)\) · identity · D=64 · ×2 · now plain/);
    // Both instances priced: RW+LR r=16 at D=64 twice is the lens's +4,100 (3.78%).
    assert.match(norm(await menu.locator('.menu-row', { has: frame.locator('input[value="rw+lr"]') }).textContent()), /\+4,100 \(3\.78%\)/);
    await shot('menu');
    await menu.locator('.menu-row', { has: frame.locator('input[value="rw"]') }).click();
    await menu.locator('vscode-button', { hasText: /^Apply/ }).click();
    // The edit lands in the editor (dirty), laurel_residual.py beside the file; then the next measurement redraws.
    await page.locator('.tab.dirty', { hasText: 'model.py' }).waitFor({ timeout: 20_000 });
    assert.ok(existsSync(join(session.workspace, 'laurel_residual.py')));
    await frame.locator('.residual.switched[data-site="L109"]').first().waitFor({ timeout: 120_000 });
    assert.match(norm(await frame.locator('.summary .delta').textContent()), /LAuReL on 1: \+4 /);
    assert.match(norm(await box('m:transformer.h.0.laurel_attn').textContent()), /LaurelResidual · 2 params/);
    await page.waitForTimeout(500);
    await shot('applied-rw');
    // The graph panel alone (for the README).
    const outer = await (await frame.frameElement()).ownerFrame();
    const iframe = outer ? await outer.frameElement() : undefined;
    if (iframe) await iframe.screenshot({ path: join(artifacts, 'pygraph-view.png') });

    await frame.locator('.summary').click();
    await page.keyboard.press('Control+Z');
    await frame.locator('.residual.switched').first().waitFor({ state: 'detached', timeout: 30_000 });
    await frame.locator('.residual[data-site="L104"]').first().waitFor({ timeout: 30_000 });
    await page.locator('.tab.dirty', { hasText: 'model.py' }).waitFor({ state: 'detached', timeout: 20_000 });
    assert.match(norm(await frame.locator('.summary .delta').textContent()), /all residuals plain/);
    await page.waitForTimeout(500);
    await shot('undone');
  });

  it('an edit says the graph is of the measured text; a save measures and redraws; Apply to all switches every line', async () => {
    await page.locator('.tab', { hasText: 'model.py' }).first().click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type('# edited\n');
    await frame.locator('.banner', { hasText: 'model.py changed since it was measured: the graph redraws after the next measurement' }).waitFor({ timeout: 20_000 });
    assert.ok((await frame.locator('.node').count()) > 0, 'the last graph stays drawn under the message');
    await shot('edited');
    await page.keyboard.press('Control+S');
    await frame.locator('.banner').waitFor({ state: 'hidden', timeout: 120_000 });
    await page.locator('.tab.dirty', { hasText: 'model.py' }).waitFor({ state: 'detached', timeout: 20_000 });

    await frame.locator('vscode-button[title^="Choose a variant for every residual"]').click();
    const menu = frame.locator('.menu:not([hidden])');
    await menu.waitFor({ timeout: 10_000 });
    // Two lines, four instances: RW+LR r=16 is 4 × 2,050.
    assert.match(norm(await menu.locator('.menu-row', { has: frame.locator('input[value="rw+lr"]') }).textContent()), /\+8,200 \(7\.55%\)/);
    await menu.locator('.menu-row', { has: frame.locator('input[value="rw+lr"]') }).click();
    await menu.locator('vscode-button', { hasText: /^Apply/ }).click();
    await frame.locator('.summary .delta', { hasText: /LAuReL on 2: \+8,200/ }).waitFor({ timeout: 120_000 });
    assert.equal(await frame.locator('.residual.switched').count(), 2, 'both residual edges of the open Block');
    await page.waitForTimeout(500);
    await shot('applied-all');
    await frame.locator('.summary').click();
    await page.keyboard.press('Control+Z');
    await frame.locator('.summary .delta', { hasText: 'all residuals plain' }).waitFor({ timeout: 30_000 });
    await page.locator('.tab.dirty', { hasText: 'model.py' }).waitFor({ state: 'detached', timeout: 20_000 });
  });

  it('ResNet18 (pytorch-cifar): its stages open with the eight BasicBlocks folded; Unfold all shows the eight shortcut edges of line 37', async () => {
    await quickOpen(page, 'resnet.py');
    await runCommand(page, 'LAuReL: Open Graph');
    const f = await webviewFrame(page, 'g[data-id="m:layer1"]', 120_000);
    await f.locator('.node-box.folded').nth(7).waitFor({ timeout: 30_000 });
    assert.match(norm(await f.locator('.summary .totals').textContent()), /^11\.2M params .* · 8 residuals on 1 line$/);
    assert.equal(await f.locator('.node-box.folded').count(), 8);
    await page.waitForTimeout(500);
    await shot('resnet18-folded');
    await f.locator('vscode-button', { hasText: 'Unfold all' }).click();
    await f.locator('.residual').nth(7).waitFor({ timeout: 30_000 });
    assert.equal(await f.locator('.residual[data-site="L37"]').count(), 8);
    await page.waitForTimeout(500);
    await shot('resnet18-unfolded');
  });

  it('a file with two models: the lens "Graph of ResNet34()" draws ResNet34, 16 shortcut edges on line 37', async () => {
    await quickOpen(page, 'resnets.py');
    await goToLine(page, 73);
    const lens = page.locator('.codelens-decoration a', { hasText: 'Graph of ResNet34()' });
    await lens.waitFor({ timeout: 120_000 });
    await lens.click();
    const f = await webviewFrame(page, '.summary .totals:has-text("21.3M params")', 120_000);
    await f.locator('vscode-button', { hasText: 'Unfold all' }).click();
    await f.locator('.residual').nth(15).waitFor({ timeout: 30_000 });
    assert.equal(await f.locator('.residual[data-site="L37"]').count(), 16);
    assert.match(norm(await f.locator('.summary').textContent()), /ResNet34\(\)/);
    await page.waitForTimeout(500);
    await shot('resnet34-of-two');
  });
});
