/**
 * Runs `steps` to its result, awaiting `pause()` whenever `sliceMs` of work has passed since the last pause, so
 * a caller on a UI thread (the extension host) is never held long. The .py parse and its static reading are
 * generators that yield where a pause may come.
 */
export async function runSliced<T>(steps: Iterator<unknown, T>, sliceMs: number, pause: () => Promise<void>): Promise<T> {
  let start = performance.now();
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (performance.now() - start >= sliceMs) {
      await pause();
      start = performance.now();
    }
  }
}
