/**
 * Starts code-server (installed by scripts/setup-e2e.sh) with the packaged extension in a throwaway
 * profile, and drives it with Debian's chromium through playwright-core (shared/docs/testing-in-vscode.md).
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';

export const repoRoot = join(__dirname, '..', '..', '..');
const cache = process.env['LAUREL_E2E_CACHE'] ?? join(repoRoot, '.e2e-cache');
const codeServerBin = join(cache, 'node_modules', '.bin', 'code-server');
export const vsixPath = process.env['LAUREL_E2E_VSIX'] ?? join(cache, 'laurel-studio.vsix');

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitForHttp(url: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const r = await fetch(url);
      if (r.status < 500) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > end) throw new Error(`code-server did not answer at ${url} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export interface Session {
  page: Page;
  workspace: string;
  close(): Promise<void>;
}

export interface SessionOptions {
  /** Workspace trust on and this workspace not trusted (Restricted Mode, no startup prompt). */
  restricted?: boolean;
}

/** A fresh profile with the VSIX installed, a workspace holding `files`, and a browser page on it. */
export async function startSession(files: Record<string, string>, options: SessionOptions = {}): Promise<Session> {
  const dir = mkdtempSync(join(tmpdir(), 'laurel-e2e-'));
  const userData = join(dir, 'user-data');
  const extensions = join(dir, 'extensions');
  const workspace = join(dir, 'workspace');
  mkdirSync(join(userData, 'User'), { recursive: true });
  mkdirSync(workspace, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(workspace, name)), { recursive: true }); // '.vscode/settings.json' and the like
    writeFileSync(join(workspace, name), text);
  }
  // Without these the trust dialog, the welcome page and the chat side bar cover the editor.
  const settings = {
    'security.workspace.trust.enabled': options.restricted === true,
    'security.workspace.trust.startupPrompt': 'never',
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'extensions.autoCheckUpdates': false,
    'extensions.ignoreRecommendations': true,
    'telemetry.telemetryLevel': 'off',
    'chat.commandCenter.enabled': false,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    'editor.minimap.enabled': false,
    // The dirty state after an applied variant is part of what is tested.
    'files.autoSave': 'off',
    // The dataset picker is part of what is tested (laurel.dataset stays empty); a few hundred samples keep training short.
    'laurel.training.sampleLimit': 256,
    'window.commandCenter': false,
  };
  writeFileSync(join(userData, 'User', 'settings.json'), JSON.stringify(settings, null, 2));
  execFileSync(codeServerBin, ['--install-extension', vsixPath, '--extensions-dir', extensions, '--user-data-dir', userData], { stdio: 'pipe' });

  const port = await freePort();
  const server: ChildProcess = spawn(
    codeServerBin,
    ['--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check', ...(options.restricted ? [] : ['--disable-workspace-trust']), '--user-data-dir', userData, '--extensions-dir', extensions, workspace],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let log = '';
  server.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  server.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  let browser: Browser | undefined;
  const close = async (): Promise<void> => {
    await browser?.close().catch(() => undefined);
    // code-server starts a file-watcher child: end the whole process group we started, by its id.
    if (server.pid) {
      try {
        process.kill(-server.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };
  try {
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, 60_000);
    browser = await chromium.launch({
      executablePath: process.env['LAUREL_E2E_CHROMIUM'] ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`);
    await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
    return { page, workspace, close };
  } catch (e) {
    await close();
    throw new Error(`${e instanceof Error ? e.message : String(e)}\ncode-server log:\n${log.slice(-4000)}`);
  }
}
