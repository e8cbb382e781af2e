// Number formats shared by the node boxes, the header and the variant menu.

/** 9,472 below a million, then 1.23M / 25.6M; '?' for unknown. */
export function formatCount(n: number | null): string {
  if (n === null) return '?';
  const a = Math.abs(n);
  if (a < 1e6) return n.toLocaleString('en-US');
  if (a < 1e9) return `${(n / 1e6).toFixed(a < 1e7 ? 2 : 1)}M`;
  return `${(n / 1e9).toFixed(2)}B`;
}

/** '+1,234' / '-56' / '+0'. */
export function formatDelta(n: number | null): string {
  if (n === null) return '?';
  return `${n < 0 ? '−' : '+'}${formatCount(Math.abs(n))}`;
}

/** Percent with two significant digits below 1% so small deltas do not read as zero: 0.0078%, 0.21%, 12.5%. */
export function formatPercent(p: number | null): string {
  if (p === null) return '?';
  const a = Math.abs(p);
  if (a === 0) return '0%';
  if (a < 0.0001) return `${p < 0 ? '>−' : '<'}0.0001%`;
  if (a < 1) return `${Number(p.toPrecision(2))}%`;
  return `${p.toFixed(a < 10 ? 2 : 1)}%`;
}
