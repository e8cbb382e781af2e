// The graph view: receives snapshots from the host, lays them out with ELK (here, in the webview, so the
// extension host's single thread never blocks on layout), draws SVG, and sends back what the user applies.
import { provideVSCodeDesignSystem, vsCodeButton, vsCodeTextField } from '@vscode/webview-ui-toolkit';
import type { GraphSite, GraphSnapshot, HostToWebview } from '../src/protocol/webviewProtocol';
import { COLLAPSED_PREFIX } from './collapse';
import { Folds } from './folds';
import { foldedGroups, visibleBox } from './groupFold';
import { serializeSvg, svgToPng } from './exportImage';
import { deltaText } from '../src/report/figures';
import { formatCount } from './format';
import { LevelLayout } from './levelLayout';
import type { Box, GraphLayout } from './layout';
import { measureText } from './measureText';
import { LayoutCancelled, WorkerElk } from './elkWorker';
import { VariantMenu } from './menu';
import { PropertiesPanel } from './properties';
import { renderGraph, svgEl } from './render';
import type { Rendered } from './render';
import { loadState, post, saveState } from './vscodeApi';
import type { ViewState } from './vscodeApi';
import { Viewport } from './viewport';

// Only the toolkit components used here.
provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeTextField());

const elk = new WorkerElk();
elk.warm();
/** Lays out each open group on its own and keeps what did not change (an unfold lays out that group's level and those above it). */
const levels = new LevelLayout();
/** Above this many boxes (after collapsing) the view asks before laying out: ELK takes tens of seconds there. */
const MAX_BOXES = 4000;

interface Current {
  /** What is drawn: the snapshot, with blocks collapsed when asked and folded groups as one box each. */
  graph: GraphSnapshot;
  /** The snapshot as the host sent it. */
  source: GraphSnapshot;
  /** The snapshot with its blocks collapsed when asked and its levels folded when large: every group, folded or not. */
  structured: GraphSnapshot;
  layout: GraphLayout;
  rendered: Rendered;
  resource: string;
}

let current: Current | undefined;
let state: ViewState = loadState();
/** Collapse blocks: the user's choice (a large graph is folded by level instead, foldTree.ts). */
let collapsed = state.collapsed ?? false;
let edgeShapes = state.edgeShapes ?? false;
/** Blocks unfolded one by one (double-click) while collapse is on. */
const expanded = new Set<string>();
/** Groups (a .py model's, a large graph's) folded or unfolded by the user against their first state. */
const folds = new Folds(state.folds ?? []);
/** A .py graph: the editor's cursor line, whose boxes are highlighted. */
let cursorLine: number | null = null;
const selection = new Set<string>(state.selection ?? []);
let matches: string[] = [];
let matchIndex = -1;
let renderSeq = 0;

// ---- DOM skeleton (static strings only; model data goes in through textContent) ----
const app = document.getElementById('app')!;
const toolbar = document.createElement('div');
toolbar.className = 'toolbar';
const summary = document.createElement('div');
summary.className = 'summary';
const titleEl = document.createElement('span');
titleEl.className = 'title';
const totalsEl = document.createElement('span');
totalsEl.className = 'totals';
const deltaEl = document.createElement('span');
deltaEl.className = 'delta';
summary.append(titleEl, totalsEl, deltaEl);

const actions = document.createElement('div');
actions.className = 'actions';
const search = document.createElement('vscode-text-field') as HTMLElement & { value: string };
search.setAttribute('placeholder', 'Find layer');
search.setAttribute('aria-label', 'Find layer by name or class');
search.className = 'search';
const searchCount = document.createElement('span');
searchCount.className = 'search-count';
searchCount.setAttribute('aria-live', 'polite');
const button = (label: string, title: string, onClick: () => void, appearance: 'primary' | 'secondary' | 'icon' = 'secondary'): HTMLElement => {
  const b = document.createElement('vscode-button');
  b.textContent = label;
  b.setAttribute('title', title);
  b.setAttribute('aria-label', title);
  b.setAttribute('appearance', appearance);
  b.addEventListener('click', onClick);
  return b;
};
const zoomOut = button('−', 'Zoom out', () => viewport.zoom(1 / 1.25));
const zoomIn = button('+', 'Zoom in', () => viewport.zoom(1.25));
const fitBtn = button('Fit', 'Fit the whole graph in view', () => current && viewport.fit(bounds(current.layout)));
const applySel = button('Apply to selection', 'Choose a variant for the selected residual edges (Shift/Ctrl-click edges to select)', () => openMenuFor([...selection]));
const applyAll = button('Apply to all', 'Choose a variant for every residual edge', () => current && openMenuFor(current.graph.sites.map((s) => s.id)), 'primary');
const collapseBtn = button('Collapse blocks', 'Fold each residual block\'s branch into one box (double-click a folded box to open it)', () => {
  if (current && folds.hasFolds(current.structured)) return foldAll(current.structured);
  collapsed = !collapsed;
  expanded.clear();
  state = { ...state, collapsed };
  persist();
  if (current) void show(current.source, current.resource, true);
});
const shapesBtn = button('Shapes', 'Write each tensor\'s shape on its edge', () => {
  edgeShapes = !edgeShapes;
  state = { ...state, edgeShapes };
  persist();
  if (current) void show(current.source, current.resource);
});
const exportSvg = button('SVG', 'Export the graph as SVG', () => void exportImage('svg'));
const exportPng = button('PNG', 'Export the graph as PNG', () => void exportImage('png'));
actions.append(search, searchCount, zoomOut, zoomIn, fitBtn, collapseBtn, shapesBtn, applySel, applyAll, exportSvg, exportPng);
toolbar.append(summary, actions);

const canvas = document.createElement('div');
canvas.className = 'canvas';
const svg = svgEl('svg', { class: 'graph', role: 'img', 'aria-label': 'Model graph' });
const content = svgEl('g', { class: 'viewport' }, svg);
canvas.appendChild(svg);
const banner = document.createElement('div');
banner.className = 'banner';
banner.hidden = true;
banner.setAttribute('role', 'alert');
const status = document.createElement('div');
status.className = 'status';
status.setAttribute('aria-live', 'polite');
app.append(toolbar, banner, canvas, status);
const props = new PropertiesPanel(canvas);
app.removeAttribute('aria-busy');

let saveTimer: ReturnType<typeof setTimeout> | undefined;
const persist = (): void => {
  clearTimeout(saveTimer);
  saveTimer = setTimeout(() => saveState(state), 200);
};
const viewport = new Viewport(canvas, content, (v) => {
  svg.classList.toggle('far', v.k < 0.3);
  state = { ...state, view: { ...v } };
  persist();
});
const menu = new VariantMenu(canvas, (c) => {
  post({ type: 'applyVariant', siteIds: c.siteIds, variant: c.variant, rank: c.rank, k: c.k });
  // Done with these: the switched edges should show their own colour, not the selection's.
  selection.clear();
  updateSelection();
  status.textContent = `Applying ${c.variant} to ${c.siteIds.length} residual${c.siteIds.length === 1 ? '' : 's'}…`;
});

const bounds = (l: GraphLayout): Box => ({ x: 0, y: 0, width: l.width, height: l.height });

// ---- host messages ----
window.addEventListener('message', (e: MessageEvent<HostToWebview>) => {
  const msg = e.data;
  if (!msg || typeof msg !== 'object') return;
  switch (msg.type) {
    case 'snapshot':
      void show(JSON.parse(new TextDecoder().decode(msg.graph)) as GraphSnapshot, msg.resource);
      return;
    case 'error':
      banner.textContent = msg.message;
      banner.hidden = false;
      status.textContent = '';
      return;
    case 'focusLayer':
      focusLayer(msg.layer);
      return;
    case 'cursorLine':
      cursorLine = msg.line;
      highlightLine(true);
      return;
  }
});

/** Unfold every group while any is folded, else fold them all. */
function foldAll(structured: GraphSnapshot): void {
  folds.all(structured);
  saveFolds();
  void show(current!.source, current!.resource, true);
}

function toggleFold(id: string): void {
  folds.toggle(id);
  saveFolds();
  if (current) void show(current.source, current.resource);
}

function saveFolds(): void {
  state = { ...state, folds: [...folds.toggles] };
  persist();
}

/** Marks the boxes of the cursor's line (a folded group shows for what it holds); `reveal` scrolls to the first. */
function highlightLine(reveal: boolean): void {
  if (!current) return;
  for (const el of current.rendered.nodes.values()) el.classList.remove('line-match');
  if (cursorLine === null || current.source.origin !== 'trace') return;
  const byId = new Map(current.structured.nodes.map((n) => [n.id, n]));
  const folded = foldedGroups(current.structured, folds.toggles);
  const hits = new Set(current.structured.nodes.filter((n) => n.lines?.includes(cursorLine!)).map((n) => visibleBox(byId, folded, n.id)));
  for (const id of hits) current.rendered.nodes.get(id)?.classList.add('line-match');
  const first = [...hits].map((id) => current!.layout.nodes.get(id)).find(Boolean);
  if (reveal && first) viewport.reveal(first);
}

async function show(source: GraphSnapshot, resource: string, refit = false, force = false): Promise<void> {
  const seq = ++renderSeq;
  const structured = folds.structured(source, collapsed, expanded);
  if (folds.hasFolds(structured)) {
    const groups = structured.nodes.some((n) => n.group);
    collapseBtn.textContent = folds.anyFolded(structured) ? 'Unfold all' : 'Fold all';
    collapseBtn.title = `Fold every ${source.origin === 'trace' ? 'module call' : 'group'} into one box, or unfold them all (double-click a box to fold or unfold one)`;
    collapseBtn.toggleAttribute('disabled', !groups);
  } else collapseBtn.textContent = collapsed ? 'Expand blocks' : 'Collapse blocks';
  shapesBtn.setAttribute('aria-pressed', String(edgeShapes));
  shapesBtn.setAttribute('appearance', edgeShapes ? 'primary' : 'secondary');
  const graph = folds.shown(structured);
  if (graph.nodes.length > MAX_BOXES && !force) return askLargeLayout(graph.nodes.length, source, resource);
  const t0 = performance.now();
  const progress = (): void => void (status.textContent = `Laying out ${graph.nodes.length.toLocaleString('en-US')} boxes… ${Math.round((performance.now() - t0) / 1000)} s`);
  progress();
  const ticker = setInterval(progress, 1000);
  let layout: GraphLayout;
  try {
    layout = await levels.layout(elk, graph, measureText, { edgeShapes });
  } catch (e) {
    if (e instanceof LayoutCancelled || seq !== renderSeq) return; // a newer snapshot replaced this one
    banner.textContent = `The graph could not be laid out: ${e instanceof Error ? e.message : String(e)}`;
    banner.hidden = false;
    status.textContent = '';
    return;
  } finally {
    clearInterval(ticker);
  }
  if (seq !== renderSeq) return; // a newer snapshot arrived meanwhile
  const layoutMs = performance.now() - t0;
  const first = !current;
  const sameFile = current?.resource === resource;
  menu.close();
  banner.hidden = true;
  const rendered = renderGraph(svg, content, graph, layout);
  current = { graph, source, structured, layout, rendered, resource };
  for (const id of [...selection]) if (!graph.sites.some((s) => s.id === id)) selection.delete(id);
  wireResiduals(rendered);
  updateHeader(graph);
  updateSelection();
  if (search.value) runSearch(false);
  highlightLine(false);
  if (first && state.resource === resource && state.view) viewport.set(state.view);
  else if (first || !sameFile || refit) initialView(layout);
  state = { ...state, resource };
  persist();
  const laid = levels.laidOut.length;
  status.textContent = `${graph.nodes.length} boxes laid out in ${Math.round(layoutMs)} ms${laid !== levels.levels ? ` (${laid} of ${levels.levels} levels; the rest unchanged)` : ''}`;
  document.body.dataset.layoutMs = String(Math.round(layoutMs)); // read by the preview harness
}

/** Too many boxes to lay out without asking: say so, with the way to fewer boxes and a button to go on. */
function askLargeLayout(boxes: number, source: GraphSnapshot, resource: string): void {
  banner.replaceChildren();
  const text = document.createElement('span');
  const fold = folds.hasFolds(folds.structured(source, collapsed, expanded)) ? 'Fold all' : 'Collapse blocks';
  text.textContent = `${boxes.toLocaleString('en-US')} boxes: laying them all out takes ELK tens of seconds (${fold} shows fewer). `;
  const go = document.createElement('vscode-button');
  go.textContent = 'Lay out anyway';
  go.addEventListener('click', () => void show(source, resource, true, true));
  banner.append(text, go);
  banner.hidden = false;
  status.textContent = '';
}

/** The whole graph when it is readable that way, else its top at a readable zoom. */
function initialView(l: GraphLayout): void {
  viewport.fit(bounds(l));
  if (viewport.view.k < 0.45) {
    const k = Math.min(1, Math.max(0.45, (canvas.clientWidth - 48) / Math.max(1, l.width)));
    viewport.set({ k, x: (canvas.clientWidth - l.width * k) / 2, y: 12 });
  }
}

function updateHeader(g: GraphSnapshot): void {
  titleEl.textContent = g.name === g.title ? g.title : `${g.name} · ${g.title}`;
  titleEl.title = g.format;
  const lb = g.lowerBound ? '≥ ' : '';
  const calls = (current?.source ?? g).nodes.filter((n) => !n.group).length;
  // A .py model's residuals are lines, each run once per instance.
  const instances = g.sites.reduce((n, s) => n + (s.widths?.length ?? 1), 0);
  const residuals = g.origin === 'trace' ? `${instances} residuals on ${g.sites.length} line${g.sites.length === 1 ? '' : 's'}` : `${g.sites.length} residuals`;
  totalsEl.textContent = `${lb}${formatCount(g.params.total)} params (${formatCount(g.params.trainable)} trainable, ${formatCount(g.params.nonTrainable)} non-trainable) · ${calls} ${g.origin === 'trace' ? 'ops' : 'layers'} · ${residuals}`;
  totalsEl.title = `${g.params.total.toLocaleString('en-US')} parameters${g.lowerBound ? ' at least: some layers are of unknown class' : ''}${g.problems.length ? `\n${g.problems.join('\n')}` : ''}`;
  const d = g.planDelta;
  deltaEl.textContent = d.switched ? `LAuReL on ${d.switched}: ${deltaText(d.addedParams, d.baseParams)}` : 'all residuals plain';
  deltaEl.classList.toggle('active', d.switched > 0);
  applyAll.toggleAttribute('disabled', g.sites.length === 0);
}

function updateSelection(): void {
  if (!current) return;
  for (const el of current.rendered.residuals.values()) {
    const on = selection.has(el.dataset.site!);
    el.classList.toggle('selected', on);
    el.setAttribute('aria-pressed', String(on));
  }
  applySel.textContent = selection.size ? `Apply to selection (${selection.size})` : 'Apply to selection';
  applySel.toggleAttribute('disabled', selection.size === 0);
  state = { ...state, selection: [...selection] };
  persist();
}

let propsTimer: ReturnType<typeof setTimeout> | undefined;

function wireResiduals(r: Rendered): void {
  for (const el of r.residuals.values()) {
    const id = el.dataset.site!;
    el.addEventListener('click', (e) => {
      if (viewport.dragged) return;
      if (e.shiftKey || e.ctrlKey || e.metaKey) {
        if (!selection.delete(id)) selection.add(id);
        updateSelection();
        return;
      }
      selection.clear();
      selection.add(id);
      updateSelection();
      openMenuAt([id], e.clientX, e.clientY);
    });
    // Tabbing to an edge off screen scrolls it into view, so its menu (Enter) opens beside it.
    el.addEventListener('focus', () => {
      const b = (el as unknown as SVGGraphicsElement).getBBox();
      viewport.reveal({ x: b.x, y: b.y, width: b.width, height: b.height });
    });
    el.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        e.preventDefault();
        const ids = selection.has(id) && selection.size > 1 ? [...selection] : [id];
        const b = el.getBoundingClientRect();
        openMenuAt(ids, b.left + b.width / 2, b.top + b.height / 2);
      } else if (e.key === ' ') {
        e.preventDefault();
        if (!selection.delete(id)) selection.add(id);
        updateSelection();
      }
    });
  }
  for (const [, el] of r.nodes) {
    // A click shows the box's properties (a second click on the same box hides them).
    el.addEventListener('click', () => {
      if (viewport.dragged) return;
      const n = current?.graph.nodes.find((x) => x.id === el.dataset.id);
      // A .py model: a click shows the box's source line in the editor (which keeps the graph focused).
      if (n?.line !== undefined && current?.source.origin === 'trace') post({ type: 'reveal', layer: n.layer, line: n.line });
      clearTimeout(propsTimer);
      if (!n || n.id === props.shownId) return props.hide();
      // After the double-click interval: a panel opened at once could cover the box before its second click.
      propsTimer = setTimeout(() => props.show(n), 250);
    });
    el.addEventListener('dblclick', () => {
      clearTimeout(propsTimer);
      const id = el.dataset.id;
      if (id && current && folds.foldable(current.structured, id)) return toggleFold(id);
      if (id?.startsWith(COLLAPSED_PREFIX) && current) {
        expanded.add(id.slice(COLLAPSED_PREFIX.length));
        void show(current.source, current.resource);
        return;
      }
      const n = current?.graph.nodes.find((x) => x.id === id);
      if (n) post({ type: 'reveal', layer: n.layer });
    });
  }
}

function openMenuAt(ids: string[], clientX: number, clientY: number): void {
  if (!current) return;
  const byId = new Map(current.graph.sites.map((s) => [s.id, s]));
  const sites = ids.map((i) => byId.get(i)).filter((s): s is GraphSite => !!s);
  const r = canvas.getBoundingClientRect();
  menu.show(current.graph, sites, clientX - r.left, clientY - r.top);
}

function openMenuFor(ids: string[]): void {
  if (!current || ids.length === 0) return;
  const r = canvas.getBoundingClientRect();
  openMenuAt(ids, r.left + r.width - 360, r.top + 4);
}

// ---- search and focus ----
function runSearch(move: boolean): void {
  if (!current) return;
  const q = search.value.trim().toLowerCase();
  for (const el of current.rendered.nodes.values()) el.classList.remove('match', 'current-match');
  // Exact names first, then names starting with the query, then the rest; graph order within each.
  const rank = (name: string, cls: string): number => (name === q ? 0 : name.startsWith(q) ? 1 : name.includes(q) || cls === q ? 2 : 3);
  matches = q
    ? current.graph.nodes
        .map((n, i) => ({ id: n.id, r: rank(n.layer.toLowerCase(), n.className.toLowerCase()), i }))
        .filter((m) => m.r < 3)
        .sort((a, b) => a.r - b.r || a.i - b.i)
        .map((m) => m.id)
    : [];
  for (const id of matches) current.rendered.nodes.get(id)?.classList.add('match');
  if (!move) matchIndex = Math.min(matchIndex, matches.length - 1);
  else matchIndex = matches.length ? (matchIndex + 1) % matches.length : -1;
  searchCount.textContent = q ? (matches.length ? `${matchIndex + 1} of ${matches.length}` : 'no match') : '';
  const id = matches[matchIndex];
  if (move && id) centreNode(id);
  // Folded away (a large graph): Enter unfolds the groups around the first layer of that name.
  const hidden = move && !id && q ? current.source.nodes.find((n) => n.layer.toLowerCase() === q) : undefined;
  if (hidden) focusLayer(hidden.id);
}

function centreNode(id: string): void {
  const n = current?.layout.nodes.get(id);
  if (!current || !n) return;
  for (const el of current.rendered.nodes.values()) el.classList.remove('current-match');
  current.rendered.nodes.get(id)?.classList.add('current-match');
  viewport.centre(n);
}

function focusLayer(layer: string): void {
  if (!current) return;
  const n = current.graph.nodes.find((x) => x.layer === layer || x.id === layer);
  if (n) return centreNode(n.id);
  // Folded away: unfold the groups around it or open its collapsed block, then centre.
  const hidden = current.source.nodes.find((x) => x.layer === layer || x.id === layer);
  if (!hidden) return;
  const site = current.source.sites.find((s) => s.branchNodes.includes(hidden.id));
  if (site && collapsed) expanded.add(site.id);
  if (folds.reveal(folds.structured(current.source, collapsed, expanded), hidden.id)) saveFolds();
  void show(current.source, current.resource).then(() => centreNode(hidden.id));
}

search.addEventListener('input', () => {
  matchIndex = -1;
  runSearch(true);
});
search.addEventListener('keydown', (e) => {
  if (e.key === 'Enter') runSearch(true);
  else if (e.key === 'Escape') {
    search.value = '';
    runSearch(false);
  }
});

// ---- export ----
async function exportImage(format: 'svg' | 'png'): Promise<void> {
  if (!current) return;
  const b = bounds(current.layout);
  const text = serializeSvg(svg, b);
  if (format === 'svg') post({ type: 'exportImage', format, data: text });
  else post({ type: 'exportImage', format, data: await svgToPng(text, b.width, b.height) });
  status.textContent = `Exported ${format.toUpperCase()}`;
}

// ---- undo / redo of the model file from inside the graph ----
// Captured before VS Code's own webview handler, which would undo inside the page (there is nothing to undo
// there): the host undoes or redoes the document instead. Text fields keep their own undo.
window.addEventListener(
  'keydown',
  (e) => {
    if (!(e.ctrlKey || e.metaKey) || e.altKey || (e.target as Element).closest('vscode-text-field, input, textarea')) return;
    const key = e.key.toLowerCase();
    const redo = (key === 'z' && e.shiftKey) || (key === 'y' && !e.shiftKey);
    if (key !== 'z' && !redo) return;
    e.preventDefault();
    e.stopImmediatePropagation();
    post({ type: redo ? 'redo' : 'undo' });
  },
  { capture: true },
);

// ---- keyboard shortcuts on the canvas ----
window.addEventListener('keydown', (e) => {
  if ((e.target as Element).closest('.menu, vscode-text-field, input')) return;
  if (e.key === '+' || e.key === '=') viewport.zoom(1.25);
  else if (e.key === '-') viewport.zoom(1 / 1.25);
  else if (e.key === '0' && current) viewport.fit(bounds(current.layout));
  else if ((e.ctrlKey || e.metaKey) && e.key === 'f') {
    e.preventDefault();
    search.focus();
  } else if (e.key === 'Escape' && !props.root.hidden) {
    props.hide();
  } else if (e.key === 'Escape' && selection.size) {
    selection.clear();
    updateSelection();
  }
});

window.addEventListener('resize', () => {
  if (current && !state.view) viewport.fit(bounds(current.layout));
});

post({ type: 'ready' });
