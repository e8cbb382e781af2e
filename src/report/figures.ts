/**
 * The one way parameter counts, percentages and cost deltas are written, in the terminal, the lenses, the
 * Residuals view, the pickers, the training panel and the graph's menu and header alike. No imports: the
 * graph webview bundles this file too (docs/ARCHITECTURE.md, import rules).
 */

export const thousands = (n: number): string => n.toLocaleString('en-US');

/**
 * Two significant digits below 1% so a small delta never reads as zero (0.0037%, 0.030%, 0.59%), two
 * decimals below 10% (2.36%), one above (12.5%); '<0.0001%' at the floor, '?' for unknown.
 */
export function percent(p: number | null): string {
  if (p === null || Number.isNaN(p)) return '?';
  const a = Math.abs(p);
  if (a === 0) return '0%';
  if (a < 0.0001) return `${p < 0 ? '-' : ''}<0.0001%`;
  if (a < 1) return `${p.toPrecision(2)}%`;
  return `${p.toFixed(a < 10 ? 2 : 1)}%`;
}

/** '+1,024 (2.36%)', '−514 (1.18%)': a change of parameter count and its share of `base` (omitted when base ≤ 0). */
export function deltaText(params: number, base: number): string {
  const sign = params < 0 ? '−' : '+';
  const share = base > 0 ? ` (${percent((Math.abs(params) / base) * 100)})` : '';
  return `${sign}${thousands(Math.abs(params))}${share}`;
}
