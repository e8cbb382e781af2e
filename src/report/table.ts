/** A table's cells, rendered as text for the terminal (renderTable) or as Markdown for reports (mdTable). */
export interface Table {
  header: string[];
  rows: string[][];
  /** Columns aligned right (numbers). */
  right: Set<number>;
}

/** Plain-text tables for the terminal: columns padded to their widest cell, numbers right-aligned. */
export function renderTable(header: string[], rows: string[][], rightAligned: Set<number> = new Set()): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const rule = '-'.repeat(widths.reduce((a, b) => a + b + 2, -2));
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** 1234567 -> '1.23M' for the big per-example work figures. */
export function compact(n: number | null): string {
  if (n === null) return '?';
  const units: [number, string][] = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [v, u] of units) if (Math.abs(n) >= v) return `${(n / v).toFixed(2)}${u}`;
  return String(n);
}

export const shapeText = (s: (number | null)[] | null): string => (s ? `(${s.map((d) => (d === null ? 'None' : d)).join(', ')}${s.length === 1 ? ',' : ''})` : '?');
