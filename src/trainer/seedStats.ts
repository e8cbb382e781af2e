/**
 * Statistics over seeds for `laurel compare --seeds`: per plan mean ± sample standard deviation, and per variant
 * the paired difference to the baseline (same seed: same initial weights of the shared layers, same data order)
 * with a two-sided 95% confidence interval from Student's t (paired t-test). Pure: no tfjs, no Node.
 */

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; relative error < 1e-13 here). */
function logGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaCf(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  d = 1 / (Math.abs(d) < tiny ? tiny : d);
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    for (const aa of [(m * (b - m) * x) / ((a + m2 - 1) * (a + m2)), (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1))]) {
      d = 1 + aa * d;
      d = 1 / (Math.abs(d) < tiny ? tiny : d);
      c = 1 + aa / c;
      if (Math.abs(c) < tiny) c = tiny;
      h *= d * c;
    }
    if (Math.abs(d * c - 1) < 1e-15) break;
  }
  return h;
}

/** The regularised incomplete beta function I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (front * betaCf(a, b, x)) / a : 1 - (front * betaCf(b, a, 1 - x)) / b;
}

/** Student's t cumulative distribution function with `df` degrees of freedom. */
export function tCdf(t: number, df: number): number {
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** The p-quantile of Student's t (bisection on the CDF to 1e-12). */
export function tQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1) || !(df > 0)) throw new Error(`tQuantile: need 0 < p < 1 and df > 0, got p=${p}, df=${df}`);
  let lo = -1e4;
  let hi = 1e4;
  for (let i = 0; i < 200 && hi - lo > 1e-12; i++) {
    const mid = (lo + hi) / 2;
    if (tCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Sample standard deviation (n − 1); 0 for a single value. */
export function std(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
}

export interface PairedT {
  n: number;
  /** Mean of variant − baseline over the pairs. */
  meanDiff: number;
  sdDiff: number;
  /** Two-sided 95% confidence interval of the mean difference; null with fewer than 2 pairs. */
  ci95: [number, number] | null;
  /** t statistic and two-sided p-value; null with fewer than 2 pairs or no spread. */
  t: number | null;
  p: number | null;
}

/** The paired t-test of `variant` against `baseline` (equal length, paired by index). */
export function pairedT(variant: readonly number[], baseline: readonly number[]): PairedT {
  if (variant.length !== baseline.length) throw new Error(`pairedT: ${variant.length} values against ${baseline.length}`);
  const d = variant.map((v, i) => v - baseline[i]!);
  const n = d.length;
  const meanDiff = mean(d);
  const sdDiff = std(d);
  if (n < 2) return { n, meanDiff, sdDiff, ci95: null, t: null, p: null };
  const se = sdDiff / Math.sqrt(n);
  const q = tQuantile(0.975, n - 1);
  const t = se > 0 ? meanDiff / se : null;
  return { n, meanDiff, sdDiff, ci95: [meanDiff - q * se, meanDiff + q * se], t, p: t === null ? null : 2 * (1 - tCdf(Math.abs(t), n - 1)) };
}

/** One line: "RW+LR r=4 vs plain: +0.4 pts val accuracy, 95% CI [−0.3, +1.1], not significant over 3 seeds (paired t)". */
export function verdict(variant: string, baseline: string, what: string, r: PairedT, scale = 100, unit = ' pts'): string {
  const f = (v: number): string => `${v >= 0 ? '+' : '−'}${Math.abs(v * scale).toFixed(2)}`;
  if (r.ci95 === null) return `${variant} vs ${baseline}: ${f(r.meanDiff)}${unit} ${what} over ${r.n} seed; no confidence interval from one seed`;
  const [lo, hi] = r.ci95;
  const significant = lo > 0 || hi < 0;
  const p = r.p === null ? '' : `, p = ${r.p < 0.001 ? r.p.toExponential(1) : r.p.toFixed(3)}`;
  return `${variant} vs ${baseline}: ${f(r.meanDiff)}${unit} ${what}, 95% CI [${f(lo)}, ${f(hi)}]${p}, ${significant ? (r.meanDiff > 0 ? 'better' : 'worse') : 'not significant'} over ${r.n} seeds (paired t)`;
}
