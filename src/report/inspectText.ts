import { totalParams } from '../core/analysis/analyze';
import type { GraphAnalysis } from '../core/analysis/analyze';
import { siteCost } from '../core/laurel/planCost';
import type { PlanCost } from '../core/laurel/planCost';
import { variantLabel } from '../core/laurel/variants';
import type { Variant, VariantOptions } from '../core/laurel/variants';
import type { OpenModel } from '../core/model';
import { percent, thousands } from './figures';
import { compact, renderTable, shapeText } from './table';

/** Keras-style summary: one row per call, with shapes and the layer's parameters, nested models indented. */
export function summaryText(m: OpenModel): string {
  const rows: string[][] = [];
  const walk = (a: GraphAnalysis, indent: string): void => {
    for (const node of a.graph.nodes) {
      const info = a.layers.get(node.layer)!;
      if (info.layer.synthetic) continue;
      const shapes = a.shapes.get(node.id);
      const params = node.callIndex > 0 ? '(shared)' : info.params ? thousands(totalParams(info.params)) : 'unknown';
      rows.push([`${indent}${node.id} (${info.layer.sourceClassName})`, shapes ? shapes.map(shapeText).join(' ') : '?', params]);
      const sub = a.nested.get(node.layer);
      if (sub && node.callIndex === 0) walk(sub, indent + '  ');
    }
  };
  walk(m.analysis, '');
  const d = m.doc;
  const p = m.params;
  const lines = [
    `Model: "${d.graph.name}"  ${d.format}${d.kerasVersion ? ` (keras ${d.kerasVersion})` : ''}${d.container !== 'plain' ? `, ${d.container}` : ''}`,
    renderTable(['Layer (type)', 'Output Shape', 'Param #'], rows, new Set([2])),
    `Total params: ${thousands(p.total)}`,
    `Trainable params: ${thousands(p.trainable)}`,
    `Non-trainable params: ${thousands(p.nonTrainable)}`,
  ];
  const unknown = m.analysis.unknownLayers;
  if (unknown.length) {
    lines.push(`Unknown layers (not counted, totals are a lower bound): ${unknown.map((u) => `${[...u.scope, u.name].join('/')} (${u.className})`).join(', ')}`);
  }
  // Layers after a problem have no shapes, so no counts: the totals must not read as complete.
  const unknownNames = new Set(unknown.map((u) => u.name));
  const uncounted = [...m.analysis.layers.values()].filter((i) => i.params === null && !unknownNames.has(i.layer.name) && i.layer.className !== 'InputLayer');
  if (uncounted.length && m.analysis.problems.length) lines.push(`Not counted (no shapes after a problem below): ${uncounted.length} layer(s); totals are a lower bound`);
  for (const problem of m.analysis.problems) lines.push(`Problem: ${problem.message}`);
  return lines.join('\n');
}

const COLUMNS: Variant[] = ['rw', 'lr', 'rw+lr', 'pa', 'rw+lr+pa', 'gemma'];

/** One row per residual site: where it is, its width, and what each variant would add there. */
export function residualText(m: OpenModel, options: VariantOptions): string {
  const ident = m.sites.filter((s) => s.shortcutKind === 'identity').length;
  const head = `Residual sites: ${m.sites.length} (${ident} identity, ${m.sites.length - ident} projection)`;
  if (m.sites.length === 0) return head;
  const base = m.params.total - m.sites.reduce((sum, s) => sum + (s.width ? siteCost(s, m.sites, s.current, s.width, true).params : 0), 0);
  const header = ['site', 'kind', 'D', 'branch <- fork', 'now', ...COLUMNS.map((v) => variantLabel({ variant: v, options }))];
  const rows = m.sites.map((s) => [
    s.id,
    s.shortcutKind,
    s.width === null ? '?' : String(s.width),
    `${s.branchLayer} <- ${s.forkLayer}`,
    variantLabel(s.current),
    ...COLUMNS.map((v) => {
      if (s.width === null) return '?';
      const n = siteCost(s, m.sites, { variant: v, options }, s.width).params;
      return `+${thousands(n)} (${percent((n / base) * 100)})`;
    }),
  ]);
  return `${head}\n${renderTable(header, rows, new Set([2, 5, 6, 7, 8, 9, 10]))}`;
}

export function planText(spec: string, cost: PlanCost): string {
  const rows = cost.sites
    .filter((s) => s.choice.variant !== 'plain')
    .map((s) => [s.site, s.label, String(s.width), `+${thousands(s.params)}`, percent(s.percent), compact(s.macs), compact(s.activations)]);
  const lines = [
    `Plan ${spec}: +${thousands(cost.addedParams)} params (${percent(cost.percent)} of ${thousands(cost.baseParams)}), ` +
      `+${compact(cost.macs)} multiply-adds and +${compact(cost.activations)} activations per example`,
  ];
  if (rows.length) lines.push(renderTable(['site', 'variant', 'D', 'params', '%', 'MACs/ex', 'acts/ex'], rows, new Set([2, 3, 4, 5, 6])));
  if (cost.uncounted.length) lines.push(`Not counted (width unknown): ${cost.uncounted.join(', ')}`);
  return lines.join('\n');
}
