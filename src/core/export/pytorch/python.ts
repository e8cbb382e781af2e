/** Python source literals from JSON-like values. */

/** A Python literal: numbers (inf / nan spelled out), booleans, None, strings, tuples for arrays, dicts for objects. */
export function py(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'math.nan';
    if (!Number.isFinite(v)) return v > 0 ? 'math.inf' : '-math.inf';
    return String(v);
  }
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return v.length === 1 ? `(${py(v[0])},)` : `(${v.map(py).join(', ')})`;
  if (typeof v === 'object') return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${py(k)}: ${py(x)}`).join(', ')}}`;
  throw new Error(`internal: no Python literal for ${JSON.stringify(v)}`);
}

/** A float literal that reads as one (1 -> 1.0), for values torch wants as floats. */
export function pyFloat(v: number): string {
  const s = py(v);
  return Number.isInteger(v) && !s.includes('e') ? `${s}.0` : s;
}

/** A Python call `fn(a, b, key=value)`, leaving out keyword arguments that are undefined. */
export function pyCall(fn: string, args: string[], kwargs: Record<string, string | undefined> = {}): string {
  const kw = Object.entries(kwargs)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => `${k}=${v}`);
  return `${fn}(${[...args, ...kw].join(', ')})`;
}
