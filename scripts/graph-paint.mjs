// First paint of the graph view on large synthetic models, in headless Chromium (playwright-core), for the
// README's figures (not shipped, not a test): the webview bundle on a page with the panel's CSP, a fake host
// that answers `ready` with the model's snapshot, and the time from that answer to the first frame after the
// boxes are drawn. Also the longest main-thread task meanwhile (ELK runs in a worker). Rounds interleave
// the cases; min and median per case.
//
//   node scripts/graph-paint.mjs [rounds]        (CHROMIUM, default /usr/bin/chromium)
import * as esbuild from 'esbuild';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const { chromium } = require('playwright-core');
const rounds = Number(process.argv[2] ?? 3);
/** SHOTS=folder: screenshots of each model folded and after the unfold. */
const shots = process.env.SHOTS;

const hostCode = await esbuild.build({
  stdin: { contents: "export { graphSnapshot } from './src/extension/graphSnapshot'; export { openModel } from './src/core/model'; export { synthModelText } from './bench/synthModels';", resolveDir: root, loader: 'ts' },
  bundle: true, platform: 'node', format: 'cjs', write: false, mainFields: ['module', 'main'], loader: { '.py': 'text' },
});
const host = { exports: {} };
new Function('module', 'exports', 'require', hostCode.outputFiles[0].text)(host, host.exports, require);
const { graphSnapshot, openModel, synthModelText } = host.exports;
const mainJs = readFileSync(join(root, 'dist', 'webview', 'main.js'), 'utf8'); // node esbuild.mjs first
const css = readFileSync(join(root, 'media', 'graph.css'), 'utf8');

let port = 0;
const page = (state) => {
  const nonce = randomBytes(16).toString('base64');
  const self = `http://127.0.0.1:${port}`;
  const csp = `default-src 'none'; script-src 'nonce-${nonce}'; style-src ${self} 'nonce-${nonce}'; img-src ${self} data:; font-src ${self}; connect-src 'none'; worker-src blob:`;
  return `<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}"><meta property="csp-nonce" content="${nonce}">
<link rel="stylesheet" href="/graph.css"><title>paint</title></head><body class="vscode-dark"><div id="app"></div>
<script nonce="${nonce}">
  let st = ${JSON.stringify(state)};
  window.__long = 0;
  new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__long = Math.max(window.__long, e.duration); }).observe({ type: 'longtask', buffered: false });
  window.acquireVsCodeApi = () => ({ postMessage: (m) => window.__host && window.__host(m), getState: () => st, setState: (s) => { st = s; } });
</script><script nonce="${nonce}" src="/main.js"></script></body></html>`;
};
let pageState = {};
const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  const send = (type, body) => res.writeHead(200, { 'content-type': type }).end(body);
  if (url.pathname === '/') return send('text/html', page(pageState));
  if (url.pathname === '/main.js') return send('text/javascript', mainJs);
  if (url.pathname === '/graph.css') return send('text/css', css);
  res.writeHead(404).end();
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
port = server.address().port;
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });

const snapshots = new Map();
const snap = (layers) => {
  if (!snapshots.has(layers)) snapshots.set(layers, graphSnapshot(openModel('synth.json', new TextEncoder().encode(synthModelText({ layers, block: 'conv' })))));
  return snapshots.get(layers);
};

/** ms from the snapshot's arrival to the first frame after drawing; boxes drawn; longest main-thread task. */
async function paint(layers, state) {
  pageState = state;
  const p = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = [];
  p.on('pageerror', (e) => errors.push(String(e)));
  const graph = snap(layers);
  await p.exposeBinding('__host', async ({ page: pg }, msg) => {
    // The host posts UTF-8 JSON bytes, which VS Code hands to the page as a transferred buffer: encoded before the clock starts.
    if (msg.type === 'ready') {
      await pg.evaluate((m) => {
        const bytes = new TextEncoder().encode(m.graph);
        window.__t0 = performance.now();
        window.postMessage({ ...m, graph: bytes }, '*', [bytes.buffer]);
      }, { type: 'snapshot', graph: JSON.stringify(graph), version: 1, resource: 'file:///synth.json' });
    }
  });
  await p.goto(`http://127.0.0.1:${port}/`);
  await p.waitForSelector('body[data-layout-ms]', { timeout: 300_000 });
  const r = await p.evaluate(() => new Promise((ok) => requestAnimationFrame(() => ok({ ms: performance.now() - window.__t0, boxes: document.querySelectorAll('.node').length, longTask: window.__long }))));
  if (shots) await p.screenshot({ path: join(shots, `graph-paint-${layers}-folded.png`) });
  // Unfold the first folded box: the time to its repaint, and what was laid out again.
  const run = await p.evaluate(() => {
    const el = document.querySelector('rect.folded')?.parentElement;
    if (!el) return undefined;
    delete document.body.dataset.layoutMs;
    window.__t1 = performance.now();
    el.dispatchEvent(new MouseEvent('dblclick', { bubbles: true }));
    return el.dataset.id;
  });
  if (run) {
    await p.waitForSelector('body[data-layout-ms]', { timeout: 300_000 });
    Object.assign(r, await p.evaluate(() => new Promise((ok) => requestAnimationFrame(() => ok({ unfoldMs: performance.now() - window.__t1, unfoldBoxes: document.querySelectorAll('.node').length, status: document.querySelector('.status')?.textContent })))));
    if (shots) await p.screenshot({ path: join(shots, `graph-paint-${layers}-unfolded.png`) });
  }
  await p.close();
  if (errors.length) throw new Error(errors.join('\n'));
  return r;
}

const cases = [
  { name: '2,000 layers, opened (folded)', layers: 2000, state: {} },
  { name: '20,000 layers, opened (folded)', layers: 20000, state: {} },
];
const times = cases.map(() => []);
let info = [];
for (let r = 0; r < rounds; r++) {
  for (let i = 0; i < cases.length; i++) {
    const c = cases[(i + r) % cases.length];
    const k = cases.indexOf(c);
    const x = await paint(c.layers, c.state);
    times[k].push(x);
    info[k] = x;
  }
  console.log(`round ${r + 1}/${rounds}`);
}
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
for (let k = 0; k < cases.length; k++) {
  const ms = times[k].map((t) => t.ms);
  const lt = times[k].map((t) => t.longTask);
  const un = times[k].map((t) => t.unfoldMs).filter((x) => x !== undefined);
  console.log(`${cases[k].name.padEnd(32)} ${String(info[k].boxes).padStart(4)} boxes  first paint ${Math.round(Math.min(...ms))} / ${Math.round(med(ms))} ms (min / median)  longest main-thread task ${Math.round(Math.min(...lt))} / ${Math.round(med(lt))} ms`);
  if (un.length) console.log(`${''.padEnd(32)} unfold one box: ${info[k].unfoldBoxes} boxes in ${Math.round(Math.min(...un))} / ${Math.round(med(un))} ms (${info[k].status})`);
}
await browser.close();
server.close();
