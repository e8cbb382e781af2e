/**
 * The collector's pauses on this thread, by time window. Node delivers its 'gc' performance entries after
 * the work that caused them (on a later turn of the event loop), so they are collected after a round of
 * synchronous calls and assigned to the timed window each started in.
 */
import { PerformanceObserver } from 'node:perf_hooks';

const pauses: { start: number; ms: number }[] = [];
let observer: PerformanceObserver | undefined;

const keep = (entries: readonly { startTime: number; duration: number }[]): void => {
  for (const e of entries) pauses.push({ start: e.startTime, ms: e.duration });
};

/** Starts keeping this thread's collector pauses (once). */
export function watchPauses(): void {
  if (observer) return;
  observer = new PerformanceObserver((list) => keep(list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
}

/** Lets Node deliver the entries of the work done so far. */
export async function settlePauses(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((done) => setImmediate(done));
  if (observer) keep(observer.takeRecords());
}

/** Milliseconds of pause that started in [from, to]. */
export function pausedWithin(from: number, to: number): number {
  let ms = 0;
  for (const p of pauses) if (p.start >= from && p.start <= to) ms += p.ms;
  return ms;
}

/** Forgets the pauses kept so far (after a round's windows are read). */
export function forgetPauses(): void {
  pauses.length = 0;
}
