/**
 * The machine's memory latency, for the benchmark's stamp: nanoseconds per dependent read over a random
 * cycle (each read's address is the previous read's value, so no prefetcher or second read in flight hides
 * the wait) through buffers of several sizes. The analysis walks a large model's objects much as this walks
 * its buffer, so its ratio to `JSON.parse` (which streams its text) moves with these figures: a shared
 * machine whose last-level cache is taken by its neighbours shows it here before it shows it in a table.
 */

/** Int32 slots a cache line (64 bytes): one read a line, so every read of the walk is a new line. */
const LINE = 16;

/**
 * A buffer of `lines` cache lines whose first slots link the lines in one random cycle: the lines in a
 * shuffled order (Fisher-Yates), each linking to the next in that order and the last to the first, so the
 * walk visits every line before it repeats.
 */
export function randomCycle(lines: number, seed = 1): Int32Array {
  const order = new Int32Array(lines);
  for (let i = 0; i < lines; i++) order[i] = i;
  let s = seed >>> 0;
  for (let i = lines - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = Math.floor((s / 2 ** 32) * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  const next = new Int32Array(lines * LINE);
  for (let i = 0; i < lines; i++) next[order[i]! * LINE] = order[(i + 1) % lines]! * LINE;
  return next;
}

/** Nanoseconds per read through `bytes` of memory: the best of `tries` walks of `steps` reads. */
export function memoryLatencyNs(bytes: number, steps = 400_000, tries = 3): number {
  const next = randomCycle(Math.max(2, Math.floor(bytes / (4 * LINE))));
  let p = 0;
  for (let i = 0; i < steps; i++) p = next[p]!; // warms the caches and the TLB as the timed walks find them
  let best = Infinity;
  for (let t = 0; t < tries; t++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < steps; i++) p = next[p]!;
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / steps);
  }
  if (p < 0) throw new Error('unreachable'); // keeps the walk from being optimised away
  return best;
}

/** What a measurement is of, and its figures: "memory latency (dependent random reads through 0.25 / 4 / 64 MiB)", "6 / 190 / 250 ns a read". */
export interface MemoryLatency {
  what: string;
  ns: string;
}

export function memoryLatency(mib: number[] = [0.25, 4, 64]): MemoryLatency {
  const ns = mib.map((m) => memoryLatencyNs(m * 2 ** 20));
  return { what: `memory latency (dependent random reads through ${mib.join(' / ')} MiB)`, ns: `${ns.map((x) => x.toFixed(x < 10 ? 1 : 0)).join(' / ')} ns a read` };
}
