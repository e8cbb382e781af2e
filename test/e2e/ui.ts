/** What the end-to-end tests do in VS Code as a user would: the palette, Quick Open, lenses, webviews. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Frame, Locator, Page } from 'playwright-core';
import { repoRoot, startSession } from './codeServer';
import type { Session, SessionOptions } from './codeServer';

export const artifacts = join(repoRoot, 'test-artifacts', 'e2e');

/**
 * The hooks every e2e suite shares, registered in the calling describe(): a code-server session on `files`
 * (`ready` gets it once started), a screenshot of each failed test, and the session closed after. Returns
 * `shot`, which writes test-artifacts/e2e/PREFIXNN-name.png (NN counts the suite's screenshots).
 */
export function codeServerSuite(prefix: string, files: Record<string, string>, ready: (session: Session) => void, options: SessionOptions = {}): (name: string) => Promise<void> {
  let session: Session | undefined;
  let step = 0;
  const shot = async (name: string): Promise<void> => {
    await session?.page.screenshot({ path: join(artifacts, `${prefix}${String(++step).padStart(2, '0')}-${name}.png`) });
  };
  before(async () => {
    mkdirSync(artifacts, { recursive: true });
    session = await startSession(files, options);
    ready(session);
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await shot(`failed-${this.currentTest.title.slice(0, 40).replace(/\W+/g, '-')}`);
  });
  after(async () => {
    await session?.close();
  });
  return shot;
}

export const norm = (s: string | null): string => (s ?? '').replace(/\u00a0/g, ' ');

export async function lensTexts(page: Page): Promise<string[]> {
  return (await page.$$eval('.codelens-decoration', (els) => els.map((e) => e.textContent ?? ''))).map(norm);
}

/** The lines the active editor shows (Monaco renders only the visible ones). */
export async function visibleText(page: Page): Promise<string> {
  return norm(await page.locator('.editor-group-container.active .view-lines').first().textContent());
}

/** Opens a quick input with `key` and waits until its box has the keyboard focus (typed keys then land there). */
export async function openQuickInput(page: Page, key: string): Promise<void> {
  // A quick input still open (or fading out) from before would take the key instead.
  if (await page.locator('.quick-input-widget').isVisible()) {
    await page.keyboard.press('Escape');
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 5_000 });
  }
  const focused = (): Promise<unknown> => page.waitForFunction("!!document.activeElement?.closest('.quick-input-widget')", null, { timeout: 5_000 }); // runs in the page (no DOM typings here)
  await page.keyboard.press(key);
  try {
    await focused();
  } catch {
    // The focus was inside a webview (a click in the graph), which keeps the key: give it back to the workbench.
    console.log(`      (${key} went to a webview: focusing the workbench)`);
    await page.locator('.part.sidebar .composite.title').first().click();
    await page.keyboard.press(key);
    await focused();
  }
}

/**
 * Runs a command from the palette as a user would. A command whose `when` clause depends on the active editor
 * appears once VS Code has updated its context keys (asynchronously, after an editor opens): so the palette is
 * tried again, up to three times, before the test fails.
 */
export async function runCommand(page: Page, title: string): Promise<void> {
  // Click the row with exactly this title: fuzzy matching may rank another command first.
  const exact = new RegExp(`^${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  for (let attempt = 1; ; attempt++) {
    await openQuickInput(page, 'F1');
    await page.keyboard.type(title);
    const row = page.locator('.quick-input-list .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: exact }) }).first();
    try {
      await row.click({ timeout: attempt < 3 ? 5_000 : 10_000 });
      return;
    } catch (e) {
      if (attempt >= 3) throw e;
      await page.keyboard.press('Escape');
      await page.waitForTimeout(1_000);
    }
  }
}

/** A layout command for a screenshot: titles move between VS Code versions, so a missing one is skipped. */
export async function layoutCommand(page: Page, title: string): Promise<void> {
  try {
    await runCommand(page, title);
  } catch {
    await page.keyboard.press('Escape');
  }
}

/**
 * The content frame of the webview that shows `selector`. A webview is two iframes deep (iframe.webview, then
 * iframe#active-frame); with the graph and the training panel open there are several, so look in each.
 */
export async function webviewFrame(page: Page, selector: string, timeout = 60_000): Promise<Frame> {
  const end = Date.now() + timeout;
  for (;;) {
    for (const f of page.frames()) {
      if (f.name() !== 'active-frame' && !f.url().includes('fake.html')) continue;
      try {
        if ((await f.locator(selector).count()) > 0) return f;
      } catch {
        // the frame went away while we looked
      }
    }
    if (Date.now() > end) throw new Error(`no webview shows ${selector} after ${timeout} ms`);
    await page.waitForTimeout(250);
  }
}

/**
 * Right-click `target`, then the context menu's `label`, until `then` shows (tried 3 times: a right-click while
 * the lines move opens no menu, and a click that lands while the menu is still animating in is dropped).
 */
export async function contextMenu(page: Page, target: Locator, label: string, then: Locator): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await target.click({ button: 'right' });
      const item = page.locator('.context-view .action-label', { hasText: label }).first();
      await item.waitFor({ timeout: 5_000 });
      await page.waitForTimeout(300);
      await item.click();
      await then.waitFor({ timeout: 5_000 });
      return;
    } catch (e) {
      if (attempt >= 3) throw e;
      await page.keyboard.press('Escape');
    }
  }
}

/** Waits for the training panel's job to end (its final table) and fails on a 'training failed' notification. */
export async function trainingEnded(page: Page, panel: Frame, timeout = 300_000): Promise<void> {
  const failed = page.locator('.notification-toast', { hasText: 'training failed' }).first();
  await Promise.race([panel.locator('#app[data-state="completed"] .table-section.final').waitFor({ timeout }), failed.waitFor({ timeout })]);
  await page.waitForTimeout(500);
  const toasts = norm(await page.locator('.notifications-toasts').textContent());
  if (/training failed/.test(toasts)) throw new Error(`training failed: ${toasts}`);
}

/** Go to Line (Ctrl+G) in the active editor: the line is revealed, so the lenses above it are on screen. */
export async function goToLine(page: Page, n: number): Promise<void> {
  await page.keyboard.press('Control+G');
  await page.keyboard.type(String(n));
  await page.keyboard.press('Enter');
}

export async function quickOpen(page: Page, file: string): Promise<void> {
  // Retried: the file index behind Quick Open can lag behind files written during the test.
  for (let attempt = 1; ; attempt++) {
    try {
      await openQuickInput(page, 'Control+P');
      await page.keyboard.type(file);
      // A click on the row, not Enter: a key can land in whatever had the focus before the list was ready.
      await page.locator('.quick-input-list .monaco-list-row', { hasText: file }).first().click({ timeout: 15_000 });
      await page.locator('.tab.active', { hasText: file }).waitFor({ timeout: 20_000 });
      return;
    } catch (e) {
      if (attempt >= 3) throw e;
      await page.keyboard.press('Escape');
      await page.waitForTimeout(1_000);
    }
  }
}

/**
 * Clicks the residual edge `edge` (a selector in `frame`) on its drawn line: the centre of an edge's box need not
 * lie on it, so the first point along the path where the page's own hit test finds this edge.
 */
export async function clickResidualEdge(page: Page, frame: Frame, edge: string): Promise<void> {
  const at = await frame.locator(`${edge} .residual-hit`).first().evaluate((el) => {
    // DOM types by hand: the test tsconfig has no DOM lib.
    type Pt = { x: number; y: number; matrixTransform(m: unknown): { x: number; y: number } };
    type Path = { getTotalLength(): number; getPointAtLength(l: number): Pt; getScreenCTM(): unknown; ownerDocument: { elementFromPoint(x: number, y: number): { closest(s: string): unknown } | null } };
    const p = el as unknown as Path;
    const len = p.getTotalLength();
    for (const f of [0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8, 0.1, 0.9]) {
      const pt = p.getPointAtLength(len * f).matrixTransform(p.getScreenCTM());
      const target = p.ownerDocument.elementFromPoint(pt.x, pt.y);
      if (target && target.closest('.residual') === (el as unknown as { parentNode: unknown }).parentNode) return { x: pt.x, y: pt.y };
    }
    return undefined;
  });
  if (!at) throw new Error(`no visible point of ${edge}`);
  // The mouse at that point of the frame's viewport (locator.click's own offsets disagree for SVG paths here).
  const frameBox = await (await frame.frameElement()).boundingBox();
  if (!frameBox) throw new Error('the graph frame has no box');
  await page.mouse.click(frameBox.x + at.x, frameBox.y + at.y);
}
