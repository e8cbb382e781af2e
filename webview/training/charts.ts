// Loss and accuracy curves with uPlot: one colour per run (the theme's --vscode-charts-* colours),
// validation dashed in the same colour. A chart is rebuilt only when its series change; else setData.
import uPlot from 'uplot';
import type { JobView } from '../../src/protocol/trainingPanel';
import { alignCurves, seedBandCurves } from './curves';
import type { BandSeries, Metric } from './curves';

const PALETTE = ['blue', 'orange', 'green', 'red', 'purple', 'yellow'];

const cssVar = (name: string, fallback: string): string => getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;

/** The colour of run `i` of a job (the table's swatches use the same). */
export function runColour(i: number): string {
  return cssVar(`--vscode-charts-${PALETTE[i % PALETTE.length]}`, ['#3794ff', '#d18616', '#89d185', '#f14c4c', '#b180d7', '#cca700'][i % PALETTE.length]!);
}

/** A band's fill: the plan's colour, mostly transparent (hex colours and rgb() both). */
function fade(colour: string): string {
  const hex = /^#([0-9a-f]{6})$/i.exec(colour);
  if (hex) return `#${hex[1]}33`;
  const rgb = /^rgba?\(([^)]+)\)$/.exec(colour);
  return rgb ? `rgba(${rgb[1]!.split(',').slice(0, 3).join(',')}, 0.2)` : colour;
}

export class Chart {
  private plot: uPlot | undefined;
  private key = '';
  readonly root: HTMLDivElement;
  private readonly body: HTMLDivElement;
  private readonly empty: HTMLDivElement;

  constructor(
    parent: HTMLElement,
    private readonly metric: Metric,
    private readonly title: string,
  ) {
    this.root = document.createElement('div');
    this.root.className = `chart chart-${metric}`;
    const h = document.createElement('h3');
    h.textContent = title;
    this.body = document.createElement('div');
    this.body.className = 'chart-body';
    this.empty = document.createElement('div');
    this.empty.className = 'chart-empty';
    this.root.append(h, this.body, this.empty);
    parent.appendChild(this.root);
    new ResizeObserver(() => this.plot?.setSize(this.size())).observe(this.body);
  }

  private size(): { width: number; height: number } {
    return { width: Math.max(200, this.body.clientWidth), height: 220 };
  }

  /** Draws the job's curves of this metric; hides itself when no run has any. */
  update(job: JobView): void {
    // Several seeds: per plan the mean over seeds at each epoch end with a ± 1 std band; else every run's curve.
    const banded = seedBandCurves(job, this.metric);
    const { series, data } = (banded ?? alignCurves(job, this.metric)) as { series: BandSeries[]; data: (number | null)[][] };
    this.root.hidden = this.metric === 'acc' && series.length === 0;
    // A run that ended without a batch says so (its error is in the box above), not that it is waiting.
    const ended = job.state === 'failed' ? `No batch finished: the run failed${job.message ? ` (${job.message.split('\n')[0]})` : ''}.` : job.state === 'running' ? 'Waiting for the first batch…' : 'No batch finished.';
    this.empty.textContent = series.length === 0 ? ended : '';
    const key = `${job.id}|${banded ? 'bands|' : ''}${series.map((s) => `${s.run}:${s.label}`).join('|')}`;
    if (series.length === 0) {
      this.plot?.destroy();
      this.plot = undefined;
      this.key = '';
      return;
    }
    if (this.plot && key === this.key) {
      this.plot.setData(data as uPlot.AlignedData);
      return;
    }
    this.plot?.destroy();
    this.key = key;
    // What x counts (uPlot draws the axis on its canvas): 'epoch' over seeds, else 'step'.
    this.root.dataset['x'] = banded ? 'epoch' : 'step';
    const fg = cssVar('--vscode-foreground', '#ccc');
    const grid = cssVar('--vscode-editorWidget-border', 'rgba(128,128,128,0.3)');
    const axis = (label: string): uPlot.Axis => ({ stroke: fg, label, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, font: '11px sans-serif', labelFont: '11px sans-serif' });
    // Validation loss (one point per epoch) has an axis of its own on the right, so that a high validation
    // loss does not flatten the training curve; accuracy shares the fixed 0..1 axis.
    const ownAxis = this.metric === 'loss' && series.some((s) => s.validation);
    const valAxis: uPlot.Axis = { ...axis(`validation ${this.title}`), scale: 'val', side: 1, grid: { show: false } };
    const opts: uPlot.Options = {
      ...this.size(),
      title: undefined,
      // Accuracy on a fixed 0..1 axis, so one early point does not set the scale.
      scales: { x: { time: false }, ...(this.metric === 'acc' ? { y: { range: [0, 1] as uPlot.Range.MinMax } } : {}), ...(ownAxis ? { val: {} } : {}) },
      // Names only: the cursor's values would repeat the table.
      legend: { show: true, live: false },
      cursor: { drag: { x: true, y: false } },
      // Over seeds x is the epoch (the points are epoch ends): whole-number ticks only.
      axes: [banded ? { ...axis('epoch'), incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] } : axis('step'), axis(this.title), ...(ownAxis ? [valAxis] : [])],
      ...(banded ? { bands: banded.bands.map(([hi, lo]): uPlot.Band => ({ series: [hi, lo], fill: fade(runColour(series[hi - 1]!.run)) })) } : {}),
      series: [
        { label: banded ? 'epoch' : 'step' },
        ...series.map((s): uPlot.Series => ({
          label: s.label,
          stroke: runColour(s.run),
          width: s.edge ? 0 : s.validation ? 1.5 : 2,
          ...(s.validation ? { dash: [6, 4], ...(ownAxis ? { scale: 'val' } : {}) } : {}),
          spanGaps: true,
          // Per-epoch validation points are always marked; batch curves only while they are short.
          points: { show: !s.edge && (s.validation || !!banded || data[0]!.length < 40), size: 5 },
          value: (_u, v) => (v === null || v === undefined ? '–' : v.toFixed(4)),
        })),
      ],
    };
    this.plot = new uPlot(opts, data as uPlot.AlignedData, this.body);
    // A band's edges are drawn as its fill only: their legend entries would repeat each plan twice.
    const edges = new Set(series.filter((s) => s.edge).map((s) => s.label));
    for (const row of this.plot.root.querySelectorAll<HTMLElement>('.u-legend .u-series')) if ([...edges].some((l) => (row.textContent ?? '').includes(l))) row.hidden = true;
  }
}
