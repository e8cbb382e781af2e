/** Small statistics for the benchmarks: every figure is min and median over interleaved rounds. */

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const min = (xs: number[]): number => Math.min(...xs);

/** A figure over the rounds: its fastest and its median. */
export interface MinMedian {
  min: number;
  median: number;
}

/** Least-squares slope of log(y) over log(x): the exponent k of y ≈ c·x^k. */
export function growthExponent(points: { x: number; y: number }[]): number {
  const p = points.map(({ x, y }) => [Math.log(x), Math.log(y)] as const);
  const mx = p.reduce((s, [x]) => s + x, 0) / p.length;
  const my = p.reduce((s, [, y]) => s + y, 0) / p.length;
  const num = p.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const den = p.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return num / den;
}

/**
 * Wall and CPU milliseconds of one call of `f` (averaged over `repeat`). CPU time is the process's, so it
 * counts only work done, not the time other processes had the cores: on a shared machine it is the
 * steadier figure (the analysis runs on one thread; GC helper threads add a little).
 */
export function timeBoth(f: () => unknown, repeat = 1): { wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  // Each result is held until the next call starts, as the extension's worker holds the model it read until
  // it reads another text (lensJob.ts), and dropped after the last: none is alive while something else is measured.
  let last: unknown;
  for (let i = 0; i < repeat; i++) {
    last = undefined;
    last = f();
  }
  const wall = (performance.now() - t0) / repeat;
  const c = process.cpuUsage(c0);
  void last;
  return { wall, cpu: (c.user + c.system) / 1000 / repeat };
}

export const ms = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
