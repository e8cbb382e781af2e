// The training panel: receives the whole run history from the host (after `ready`, then on every change),
// draws the selected job's header, curves and table, and sends Cancel / Show log back. Model and run names
// go in through textContent only.
import { provideVSCodeDesignSystem, vsCodeButton } from '@vscode/webview-ui-toolkit';
import 'uplot/dist/uPlot.min.css';
import { isRunning, validateHostMessage } from '../../src/protocol/trainingPanel';
import type { JobView, TrainingHistory, TrainingWebviewToHost } from '../../src/protocol/trainingPanel';
import { samplesText, tableText } from '../../src/report/trainingTable';
import { Chart, runColour } from './charts';
import { seedGroups } from './curves';

/** A run's colour: its own, or over several seeds its plan's (the curves draw one mean per plan). */
function colourOf(job: JobView, run: number): number {
  const groups = seedGroups(job);
  return groups ? groups.findIndex((g) => g.runs.includes(run)) : run;
}

provideVSCodeDesignSystem().register(vsCodeButton());

interface VsCodeApi {
  postMessage(msg: TrainingWebviewToHost): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;
const api = acquireVsCodeApi();

/** UI state only (the history stays in the host): which job is shown; absent = the latest. */
interface ViewState {
  job?: number;
}
const saved = api.getState();
let viewState: ViewState = typeof saved === 'object' && saved !== null ? (saved as ViewState) : {};

const el = <K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, parent?: Element, text?: string): HTMLElementTagNameMap[K] => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  parent?.appendChild(e);
  return e;
};

// ---- skeleton ----
const app = document.getElementById('app')!;
const header = el('header', 'header', app);
const titleRow = el('div', 'title-row', header);
const title = el('h2', 'job-title', titleRow);
const badge = el('span', 'badge', titleRow);
const picker = el('select', 'job-picker', titleRow);
picker.setAttribute('aria-label', 'Training session to show');
const actions = el('div', 'actions', titleRow);
const cancelBtn = document.createElement('vscode-button');
cancelBtn.textContent = 'Cancel';
cancelBtn.setAttribute('title', 'Stop after the batch in progress (the trainer is killed if it does not stop)');
cancelBtn.className = 'cancel';
const logBtn = document.createElement('vscode-button');
logBtn.textContent = 'Show log';
logBtn.setAttribute('appearance', 'secondary');
const reportBtn = document.createElement('vscode-button');
reportBtn.textContent = 'Export report.md';
reportBtn.setAttribute('appearance', 'secondary');
reportBtn.setAttribute('title', 'Save the experiment report: setup, tables, statistics over seeds, verdicts, and its curves as SVG files beside it');
reportBtn.className = 'export-report';
actions.append(cancelBtn, reportBtn, logBtn);
const backendLine = el('div', 'backend', header);
const dataLine = el('div', 'data', header);
const errorBox = el('div', 'error', app);
errorBox.setAttribute('role', 'alert');
const progress = el('ul', 'progress', app);
progress.setAttribute('aria-live', 'polite');
const charts = el('div', 'charts', app);
const lossChart = new Chart(charts, 'loss', 'loss');
const accChart = new Chart(charts, 'acc', 'accuracy');
const seedSection = el('section', 'seed-summary', app);
const seedTitle = el('h3', 'table-title', seedSection, 'Over seeds (paired differences to plain, 95% CI by paired t)');
const seedVerdicts = el('ul', 'verdicts', seedSection);
const seedTable = el('pre', 'seed-table', seedSection);
const tableSection = el('section', 'table-section', app);
const tableTitle = el('h3', 'table-title', tableSection);
const tableWrap = el('div', 'table-wrap', tableSection);
const emptyState = el('div', 'empty-state', app, 'No training yet: run LAuReL: Train or LAuReL: Compare Variants on a model file, or LAuReL: Open Training Runs… for runs saved earlier.');

let history: TrainingHistory = { jobs: [] };
let version = -1;

cancelBtn.addEventListener('click', () => {
  cancelBtn.setAttribute('disabled', '');
  api.postMessage({ type: 'cancel' });
});
logBtn.addEventListener('click', () => api.postMessage({ type: 'showLog' }));
reportBtn.addEventListener('click', () => {
  const job = shownJob();
  if (job) api.postMessage({ type: 'exportReport', job: job.id });
});
picker.addEventListener('change', () => {
  const id = Number(picker.value);
  // Choosing the latest job again means "follow the latest", so a new run shows up by itself.
  viewState = { ...(id === history.jobs[history.jobs.length - 1]?.id ? {} : { job: id }) };
  api.setState(viewState);
  render();
});

const STATE_TEXT: Record<JobView['state'], string> = { running: 'running', cancelling: 'cancelling…', completed: 'completed', cancelled: 'cancelled', failed: 'failed' };

function shownJob(): JobView | undefined {
  return history.jobs.find((j) => j.id === viewState.job) ?? history.jobs[history.jobs.length - 1];
}

function renderPicker(job: JobView): void {
  picker.hidden = history.jobs.length < 2;
  picker.replaceChildren(
    ...[...history.jobs].reverse().map((j) => {
      const o = document.createElement('option');
      o.value = String(j.id);
      o.textContent = `${j.title} · ${new Date(j.startedAt).toLocaleTimeString()} · ${STATE_TEXT[j.state]}`;
      o.selected = j.id === job.id;
      return o;
    }),
  );
}

function renderHeader(job: JobView): void {
  title.textContent = job.title;
  badge.textContent = STATE_TEXT[job.state];
  badge.className = `badge badge-${job.state}`;
  cancelBtn.hidden = !isRunning(job);
  reportBtn.hidden = job.kind !== 'compare' || isRunning(job) || !job.runs.some((r) => r.summary);
  cancelBtn.toggleAttribute('disabled', job.state !== 'running');

  backendLine.replaceChildren();
  el('span', 'label', backendLine, 'Backend ');
  if (!job.backend) {
    el('span', 'muted', backendLine, isRunning(job) ? 'starting the trainer…' : 'unknown (no run started)');
  } else {
    el('strong', '', backendLine, job.backend.label);
    if (job.backend.skipped.length) {
      el('span', 'muted', backendLine, ' · faster ones not used: ');
      job.backend.skipped.forEach((s, i) => {
        if (i) el('span', 'muted', backendLine, '; ');
        el('span', 'candidate', backendLine, s.candidate);
        el('span', 'muted', backendLine, s.reason ? ` (${s.reason})` : '');
      });
    } else if (job.backend.note === undefined) {
      el('span', 'muted', backendLine, ' · the fastest available');
    }
  }
  const c = job.config;
  dataLine.textContent = `Data ${job.dataNote ?? job.data}${job.samples ? ` · ${samplesText(job.samples)}` : ''} · ${c.epochs} epoch${c.epochs === 1 ? '' : 's'}, batch ${c.batchSize}, Adam lr ${c.learningRate}${job.outDir ? ` · saved under ${job.outDir}` : ''}`;

  errorBox.hidden = !(job.state === 'failed' || (job.message && job.state === 'cancelled'));
  errorBox.textContent = job.state === 'failed' ? `Training failed: ${job.message ?? 'unknown error'}` : (job.message ?? '');
  errorBox.className = job.state === 'failed' ? 'error' : 'notice';
}

function renderProgress(job: JobView): void {
  progress.replaceChildren(
    ...job.runs.map((r, i) => {
      const li = el('li', `run run-${r.state}`);
      const sw = el('span', 'swatch', li);
      sw.style.background = runColour(colourOf(job, i));
      el('span', 'run-name', li, r.name);
      const p = r.progress;
      const where = p && r.state === 'running' ? `epoch ${p.epoch}${p.epochs ? `/${p.epochs}` : ''}, batch ${p.batch + 1}/${p.batchesPerEpoch}, ${Math.round(p.samplesPerSec)} samples/s` : '';
      const last = r.loss.length ? `, loss ${r.loss[r.loss.length - 1]!.toFixed(4)}` : '';
      el('span', 'run-state', li, ` ${r.state}${where ? `: ${where}` : ''}${r.state === 'running' ? last : ''}${r.summary?.message ? ` (${r.summary.message})` : ''}`);
      return li;
    }),
  );
}

function renderTable(job: JobView): void {
  const finished = !isRunning(job);
  const anyDone = job.runs.some((r) => r.summary);
  tableSection.hidden = !anyDone && !finished;
  tableSection.classList.toggle('final', finished);
  tableTitle.textContent = finished ? (job.kind === 'compare' ? 'Comparison (ratios to the plain baseline, the first row)' : 'Result') : 'Finished runs so far';
  const { header: head, rows } = tableText(job);
  const table = el('table', 'results');
  const thead = el('thead', '', table);
  const hr = el('tr', '', thead);
  head.forEach((h) => el('th', '', hr, h));
  const tbody = el('tbody', '', table);
  rows.forEach((cells, i) => {
    const tr = el('tr', `row-${job.runs[i]?.state ?? ''}`, tbody);
    cells.forEach((c, k) => {
      const td = el('td', k === 0 ? 'name' : k === cells.length - 1 ? 'state' : 'num', tr);
      if (k === 0) {
        const sw = el('span', 'swatch', td);
        sw.style.background = runColour(colourOf(job, i));
      }
      el('span', '', td, c);
    });
  });
  tableWrap.replaceChildren(table);
}

function render(): void {
  const job = shownJob();
  emptyState.hidden = !!job;
  for (const part of [header, progress, charts, tableSection, seedSection]) part.hidden = !job;
  if (!job) {
    errorBox.hidden = true;
    return;
  }
  renderPicker(job);
  renderHeader(job);
  renderProgress(job);
  lossChart.update(job);
  accChart.update(job);
  renderTable(job);
  seedSection.hidden = !job.seedSummary;
  seedTitle.hidden = !job.seedSummary;
  seedVerdicts.replaceChildren(...(job.seedSummary?.verdicts ?? []).map((v) => el('li', '', undefined, v)));
  seedTable.textContent = job.seedSummary?.table ?? '';
  app.setAttribute('aria-busy', String(isRunning(job)));
  app.dataset.state = job.state;
}

window.addEventListener('message', (e: MessageEvent<unknown>) => {
  const msg = validateHostMessage(e.data);
  if (!msg || msg.version <= version) return;
  version = msg.version;
  history = msg.history;
  render();
});

render();
api.postMessage({ type: 'ready' });
