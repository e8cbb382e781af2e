// Dev harness for the graph view (not shipped): serves the webview bundle on a page with the panel's CSP, a
// fake acquireVsCodeApi and VS Code theme variables, drives it in headless Chromium with playwright-core,
// and writes screenshots and exports to test-artifacts/graph-*.
//
//   node scripts/graph-preview.mjs [model.json]        (default: the ResNet-50 fixture)
//
// Needs playwright-core and a Chromium (CHROMIUM, default /usr/bin/chromium); elkjs and
// @vscode/webview-ui-toolkit as for the build.
import * as esbuild from 'esbuild';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const { chromium } = require('playwright-core');
const modelFile = resolve(process.argv[2] ?? join(root, '..', 'shared', 'fixtures', 'models', 'tfjs-legacy-resnet50-tensorspace.json'));
const inception = join(root, '..', 'shared', 'fixtures', 'models', 'tfjs-legacy-inceptionv3-tensorspace.json');
const outDir = join(root, 'test-artifacts');
mkdirSync(outDir, { recursive: true });

// The host side: the same pure code the extension uses.
const hostCode = await esbuild.build({
  stdin: {
    contents: "export { graphSnapshot } from './src/extension/graphSnapshot'; export { openModel, planModel, plannedBytes } from './src/core/model'; export { choiceSpec } from './src/core/laurel/planSpec'; export { DEFAULT_OPTIONS } from './src/core/laurel/variants';",
    resolveDir: root,
    loader: 'ts',
  },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  write: false,
  mainFields: ['module', 'main'],
});
const host = { exports: {} };
new Function('module', 'exports', 'require', hostCode.outputFiles[0].text)(host, host.exports, require);
const { graphSnapshot, openModel, planModel, plannedBytes, choiceSpec, DEFAULT_OPTIONS } = host.exports;

// The bundle esbuild.mjs writes (it inlines ELK's worker script): run `node esbuild.mjs` first.
const mainJs = readFileSync(join(root, 'dist', 'webview', 'main.js'), 'utf8');
const css = readFileSync(join(root, 'media', 'graph.css'), 'utf8');

const THEMES = {
  dark: {
    'editor-background': '#1e1e1e', foreground: '#cccccc', descriptionForeground: '#ccccccb3', 'sideBar-background': '#252526', 'panel-border': '#80808059',
    'editorWidget-background': '#252526', 'editorWidget-border': '#454545', 'editorWidget-foreground': '#cccccc', 'editorLineNumber-foreground': '#858585',
    'charts-orange': '#d18616', 'charts-green': '#89d185', 'charts-blue': '#75beff', 'charts-red': '#f14c4c', 'charts-yellow': '#cca700', 'charts-purple': '#b180d7',
    focusBorder: '#007fd4', 'list-hoverBackground': '#2a2d2e', 'list-activeSelectionBackground': '#04395e', 'list-activeSelectionForeground': '#ffffff',
    'widget-shadow': '#0000005c', 'editor-findMatchHighlightBackground': '#ea5c0055', errorForeground: '#f48771', 'button-background': '#0e639c',
    'button-foreground': '#ffffff', 'button-hoverBackground': '#1177bb', 'button-secondaryBackground': '#3a3d41', 'button-secondaryForeground': '#ffffff',
    'button-secondaryHoverBackground': '#45494e', 'input-background': '#3c3c3c', 'input-foreground': '#cccccc', 'input-placeholderForeground': '#a6a6a6',
    'settings-textInputBorder': '#3c3c3c', 'dropdown-border': '#3c3c3c',
  },
  light: {
    'editor-background': '#ffffff', foreground: '#616161', descriptionForeground: '#717171', 'sideBar-background': '#f3f3f3', 'panel-border': '#80808059',
    'editorWidget-background': '#f3f3f3', 'editorWidget-border': '#c8c8c8', 'editorWidget-foreground': '#616161', 'editorLineNumber-foreground': '#237893',
    'charts-orange': '#d18616', 'charts-green': '#388a34', 'charts-blue': '#1a85ff', 'charts-red': '#e51400', 'charts-yellow': '#bf8803', 'charts-purple': '#652d90',
    focusBorder: '#0090f1', 'list-hoverBackground': '#e8e8e8', 'list-activeSelectionBackground': '#0060c0', 'list-activeSelectionForeground': '#ffffff',
    'widget-shadow': '#00000029', 'editor-findMatchHighlightBackground': '#ea5c0055', errorForeground: '#a1260d', 'button-background': '#007acc',
    'button-foreground': '#ffffff', 'button-hoverBackground': '#0062a3', 'button-secondaryBackground': '#5f6a79', 'button-secondaryForeground': '#ffffff',
    'button-secondaryHoverBackground': '#4c5561', 'input-background': '#ffffff', 'input-foreground': '#616161', 'input-placeholderForeground': '#767676',
    'settings-textInputBorder': '#cecece', 'dropdown-border': '#cecece',
  },
  hc: {
    'editor-background': '#000000', foreground: '#ffffff', descriptionForeground: '#ffffffb3', 'sideBar-background': '#000000', contrastBorder: '#6fc3df',
    'editorWidget-background': '#0c141f', 'editorWidget-border': '#6fc3df', 'editorWidget-foreground': '#ffffff', 'editorLineNumber-foreground': '#ffffff',
    'charts-orange': '#d18616', 'charts-green': '#89d185', 'charts-blue': '#75beff', 'charts-red': '#f14c4c', 'charts-yellow': '#ffd700', 'charts-purple': '#b180d7',
    focusBorder: '#f38518', 'list-hoverBackground': '#000000', 'list-activeSelectionBackground': '#000000', errorForeground: '#f48771',
    'button-background': '#000000', 'button-foreground': '#ffffff', 'button-border': '#6fc3df', 'button-secondaryBackground': '#000000', 'button-secondaryForeground': '#ffffff',
    'input-background': '#000000', 'input-foreground': '#ffffff', 'input-border': '#6fc3df', 'settings-textInputBorder': '#6fc3df',
  },
};
const themeCss = (name) =>
  `:root{--vscode-font-family:system-ui,"Ubuntu","Droid Sans",sans-serif;--vscode-font-size:13px;--vscode-font-weight:normal;${Object.entries(THEMES[name])
    .map(([k, v]) => `--vscode-${k}:${v};`)
    .join('')}}`;

// The page the panel builds (graphPanel.ts html()), plus the fake VS Code API; cspSource is this server.
let port = 0;
const page = (theme) => {
  const nonce = randomBytes(16).toString('base64');
  const self = `http://127.0.0.1:${port}`;
  const csp = `default-src 'none'; script-src 'nonce-${nonce}'; style-src ${self} 'nonce-${nonce}'; img-src ${self} data:; font-src ${self}; connect-src 'none'; worker-src blob:`;
  return `<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}"><meta property="csp-nonce" content="${nonce}">
<link rel="stylesheet" href="/theme-${theme}.css"><link rel="stylesheet" href="/graph.css"><title>preview</title></head>
<body class="vscode-${theme === 'hc' ? 'high-contrast' : theme}"><div id="app" aria-busy="true"></div>
<script nonce="${nonce}">
  window.__sent = []; let st;
  window.acquireVsCodeApi = () => ({ postMessage: (m) => { window.__sent.push(m); window.__host && window.__host(m); }, getState: () => st, setState: (s) => { st = s; } });
</script>
<script nonce="${nonce}" src="/main.js"></script></body></html>`;
};
const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  const send = (type, body) => res.writeHead(200, { 'content-type': type }).end(body);
  if (url.pathname === '/') return send('text/html', page(url.searchParams.get('theme') ?? 'dark'));
  if (url.pathname === '/main.js') return send('text/javascript', mainJs);
  if (url.pathname === '/graph.css') return send('text/css', css);
  const t = /^\/theme-(\w+)\.css$/.exec(url.pathname);
  if (t && THEMES[t[1]]) return send('text/css', themeCss(t[1]));
  res.writeHead(404).end();
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
port = server.address().port;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const report = { file: modelFile, layoutMs: {}, messages: [], cspViolations: [], errors: [] };

/** Opens the view on a model; the fake host answers `ready` with a snapshot and applies variants for real. */
async function open(theme, file) {
  let bytes = readFileSync(file);
  let version = 0;
  const p = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  p.on('console', (m) => {
    if (m.type() === 'error') report.errors.push(m.text());
    if (/Content Security Policy/.test(m.text())) report.cspViolations.push(m.text());
  });
  p.on('pageerror', (e) => report.errors.push(String(e)));
  const snapshot = () => ({ type: 'snapshot', graph: JSON.stringify(graphSnapshot(openModel(file, bytes))), version: ++version, resource: `file://${file}` });
  await p.exposeBinding('__host', async ({ page: pg }, msg) => {
    report.messages.push(msg.type === 'exportImage' ? { type: msg.type, format: msg.format, chars: msg.data.length } : msg);
    // As VS Code delivers the host's snapshot: UTF-8 JSON bytes.
    const post = (m) => window.postMessage({ ...m, graph: new TextEncoder().encode(m.graph) }, '*');
    if (msg.type === 'ready') await pg.evaluate(post, snapshot());
    if (msg.type === 'applyVariant') {
      const m = openModel(file, bytes);
      const choice = { variant: msg.variant, options: { ...DEFAULT_OPTIONS, rank: msg.rank ?? 16, k: msg.k ?? 3 } };
      const spec = msg.siteIds.map((id) => choiceSpec(choice, id)).join(',');
      bytes = plannedBytes(m, planModel(m, spec));
      await pg.evaluate(post, snapshot());
    }
    if (msg.type === 'exportImage') {
      const data = msg.format === 'svg' ? msg.data : Buffer.from(msg.data.slice(msg.data.indexOf(',') + 1), 'base64');
      writeFileSync(join(outDir, `graph-export.${msg.format}`), data);
    }
  });
  await p.goto(`http://127.0.0.1:${port}/?theme=${theme}`);
  await p.waitForSelector('body[data-layout-ms]', { timeout: 60_000 });
  return p;
}

const shot = async (p, name) => {
  await p.waitForTimeout(150);
  await p.screenshot({ path: join(outDir, `graph-${name}.png`) });
  console.log(`test-artifacts/graph-${name}.png`);
};
/** A screen point on a residual edge's longest segment (where a user would click). */
const edgePoint = (p, site) =>
  p.evaluate((id) => {
    const path = document.querySelector(`.residual[data-site="${CSS.escape(id)}"] .residual-line`);
    const len = path.getTotalLength();
    const pt = path.getPointAtLength(len * 0.5);
    const m = path.getScreenCTM();
    return { x: pt.x * m.a + pt.y * m.c + m.e, y: pt.x * m.b + pt.y * m.d + m.f };
  }, site);

try {
  const p = await open('dark', modelFile);
  report.layoutMs.first = Number(await p.evaluate(() => document.body.dataset.layoutMs));
  await shot(p, 'dark-initial');
  await p.click('vscode-button[aria-label="Fit the whole graph in view"]');
  await shot(p, 'dark-fit');
  // A large model opens folded: a double-click unfolds the first folded box, then the first one inside it.
  for (let i = 1; i <= 2 && (await p.$('rect.folded')); i++) {
    await p.evaluate(() => {
      delete document.body.dataset.layoutMs;
      document.querySelector('rect.folded').parentElement.dispatchEvent(new MouseEvent('dblclick', { bubbles: true }));
    });
    await p.waitForSelector('body[data-layout-ms]');
    report.layoutMs[`unfold${i}`] = Number(await p.evaluate(() => document.body.dataset.layoutMs));
    await shot(p, `dark-unfolded-${i}`);
  }

  // Search centres the match.
  await p.click('vscode-text-field.search');
  await p.keyboard.type('add_1');
  await shot(p, 'dark-search');
  await p.evaluate(() => {
    document.querySelector('vscode-text-field.search').value = '';
    document.querySelector('vscode-text-field.search').dispatchEvent(new Event('input'));
  });

  // Click a residual edge: the menu opens.
  const sites = await p.evaluate(() => [...document.querySelectorAll('.residual')].map((e) => e.dataset.site));
  report.residualEdges = sites.length;
  const first = sites[0];
  // The host's "show in graph": centre on the merge of the first site.
  await p.evaluate((layer) => window.postMessage({ type: 'focusLayer', layer }, '*'), first);
  await p.waitForTimeout(100);
  const pt = await edgePoint(p, first);
  await p.mouse.click(pt.x, pt.y);
  await p.waitForSelector('.menu:not([hidden])');
  await shot(p, 'dark-menu');
  // "Whole stage" reopens the menu for the residuals of the same shape around this one.
  await p.click('.menu vscode-button[appearance="secondary"]:has-text("Whole stage")');
  await p.waitForSelector('.menu:not([hidden])');
  await shot(p, 'dark-menu-stage');
  await p.keyboard.press('Escape');
  await p.mouse.click(pt.x, pt.y);
  await p.waitForSelector('.menu:not([hidden])');

  // Pick RW+LR at rank 8 and apply: the host rewrites the file and sends a new snapshot.
  await p.check('.menu input[value="rw+lr"]');
  await p.evaluate(() => {
    const f = document.querySelectorAll('.menu vscode-text-field')[0];
    f.value = '8';
    f.dispatchEvent(new Event('input'));
  });
  await shot(p, 'dark-menu-rank8');
  await p.click('.menu vscode-button:not([appearance="secondary"])');
  await p.waitForFunction(() => document.querySelector('.residual.switched'));
  await shot(p, 'dark-switched');

  // Multi-select with Shift-click, then apply to the selection.
  for (const site of [sites[1], sites[2]]) {
    await p.evaluate((layer) => window.postMessage({ type: 'focusLayer', layer }, '*'), site);
    await p.waitForTimeout(100);
    const q = await edgePoint(p, site);
    await p.keyboard.down('Shift');
    await p.mouse.click(q.x, q.y);
    await p.keyboard.up('Shift');
  }
  await shot(p, 'dark-selection');
  report.selected = await p.evaluate(() => document.querySelectorAll('.residual.selected').length);
  await p.click('vscode-button[aria-label^="Choose a variant for the selected"]');
  await p.waitForSelector('.menu:not([hidden])');
  await shot(p, 'dark-menu-selection');
  await p.keyboard.press('Escape');

  // Keyboard: Tab reaches a residual edge, Enter opens its menu.
  await p.evaluate(() => document.activeElement?.blur());
  await p.focus('.residual');
  await p.keyboard.press('Enter');
  report.keyboardMenu = await p.evaluate(() => !document.querySelector('.menu').hidden);
  await p.keyboard.press('Escape');
  report.focusReturned = await p.evaluate(() => document.activeElement?.classList.contains('residual') ?? false);

  // Apply to all (plain) then exports.
  await p.click('vscode-button[aria-label="Choose a variant for every residual edge"]');
  await p.check('.menu input[value="gemma"]');
  await shot(p, 'dark-menu-all');
  await p.keyboard.press('Escape');
  await p.click('vscode-button[aria-label^="Fold each residual block"]');
  await p.waitForFunction(() => document.querySelector('.node-box.folded'));
  await shot(p, 'dark-collapsed');
  await p.evaluate(() => window.postMessage({ type: 'focusLayer', layer: 'add_3' }, '*'));
  await shot(p, 'dark-collapsed-zoom');
  await p.click('vscode-button[aria-label^="Fold each residual block"]');
  await p.waitForFunction(() => !document.querySelector('.node-box.folded'));
  // Shapes on the edges, near a switched residual, then off again.
  await p.click('vscode-button[aria-label^="Write each tensor"]');
  await p.waitForFunction(() => document.querySelector('.edge-label'));
  report.edgeLabels = await p.evaluate(() => document.querySelectorAll('.edge-label, .variant-label').length);
  await p.evaluate(() => window.postMessage({ type: 'focusLayer', layer: 'add_2' }, '*'));
  await shot(p, 'dark-shapes');
  await p.click('vscode-button[aria-label^="Write each tensor"]');
  await p.waitForFunction(() => !document.querySelector('.edge-label'));
  await p.click('vscode-button[aria-label="Export the graph as SVG"]');
  await p.click('vscode-button[aria-label="Export the graph as PNG"]');
  await p.waitForFunction(() => window.__sent.filter((m) => m.type === 'exportImage').length >= 2, null, { timeout: 60_000 });
  await p.close();

  for (const theme of ['light', 'hc']) {
    const q = await open(theme, modelFile);
    await q.evaluate((layer) => window.postMessage({ type: 'focusLayer', layer }, '*'), first);
    await q.waitForTimeout(100);
    const pt2 = await edgePoint(q, first);
    await q.mouse.click(pt2.x, pt2.y);
    await q.waitForSelector('.menu:not([hidden])');
    await shot(q, `${theme}-menu`);
    await q.close();
  }
  // What the exports look like outside the webview (theme colours inlined).
  const view = await browser.newPage({ viewport: { width: 900, height: 1100 } });
  const png = readFileSync(join(outDir, 'graph-export.png')).toString('base64');
  await view.setContent(`<body style="margin:0;background:#888"><img src="data:image/png;base64,${png}" style="width:421px"></body>`);
  await view.waitForTimeout(300);
  await view.screenshot({ path: join(outDir, 'graph-export-png-top.png') });
  await view.close();

  // A nested model, drawn as a group box.
  const nested = join(outDir, 'graph-nested-model.json');
  const input = (name) => ({ class_name: 'InputLayer', name, config: { name, batch_input_shape: [null, 8, 8, 4], dtype: 'float32' }, inbound_nodes: [] });
  const conv = (name, from) => ({ class_name: 'Conv2D', name, config: { name, filters: 4, kernel_size: [3, 3], padding: 'same' }, inbound_nodes: [[[from, 0, 0, {}]]] });
  const block = {
    class_name: 'Model', name: 'block',
    config: { name: 'block', layers: [input('block_in'), conv('block_conv', 'block_in'), conv('block_conv2', 'block_conv'), { class_name: 'Add', name: 'block_add', config: { name: 'block_add' }, inbound_nodes: [[['block_conv2', 0, 0, {}], ['block_in', 0, 0, {}]]] }], input_layers: [['block_in', 0, 0]], output_layers: [['block_add', 0, 0]] },
    inbound_nodes: [[['stem', 0, 0, {}]]],
  };
  writeFileSync(nested, JSON.stringify({ class_name: 'Model', config: { name: 'outer', layers: [input('input_1'), conv('stem', 'input_1'), block, conv('head', 'block'), { class_name: 'Add', name: 'out', config: { name: 'out' }, inbound_nodes: [[['head', 0, 0, {}], ['block', 0, 0, {}]]] }], input_layers: [['input_1', 0, 0]], output_layers: [['out', 0, 0]] } }));
  const n = await open('dark', nested);
  await shot(n, 'nested');
  await n.close();

  const big = await open('dark', inception);
  report.layoutMs.inceptionV3 = Number(await big.evaluate(() => document.body.dataset.layoutMs));
  await shot(big, 'inception-initial');
  await big.close();
} finally {
  await browser.close();
  server.close();
  writeFileSync(join(outDir, 'graph-preview.json'), JSON.stringify(report, null, 2));
  console.log(JSON.stringify({ ...report, messages: report.messages.map((m) => m.type + (m.variant ? `:${m.variant}` : '')) }, null, 2));
}
