/**
 * One model opened in a process of its own, so that its peak memory cannot leak into another
 * measurement: `node dist/benchOpen.js FILE [worker]` prints {ms, maxRssMb, heapUsedMb, residuals} as JSON.
 * maxRssMb is the whole process (Node itself included), as `laurel inspect` would use; with `worker` the
 * model is opened in a worker with the heap the extension reads it in (`heapFor`: by the text's size).
 */
import { readFileSync } from 'node:fs';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { inspectReport, openModel } from '../src/core/model';
import { heapFor } from '../src/extension/lensEngine';

function open(file: string): { ms: number; heapUsedMb: number; residuals: number } {
  const bytes = readFileSync(file);
  const t0 = performance.now();
  const report = inspectReport(openModel(file, bytes));
  return { ms: performance.now() - t0, heapUsedMb: process.memoryUsage().heapUsed / 2 ** 20, residuals: report.residuals.length };
}

const print = (r: ReturnType<typeof open>): void => console.log(JSON.stringify({ ...r, maxRssMb: process.resourceUsage().maxRSS / 1024 }));

if (!isMainThread) parentPort!.postMessage(open(workerData as string));
else {
  const [file, where] = process.argv.slice(2);
  if (!file) throw new Error('usage: benchOpen FILE [worker]');
  if (where !== 'worker') print(open(file));
  else {
    const limits = heapFor(readFileSync(file).length);
    const w = new Worker(__filename, { workerData: file, ...(limits ? { resourceLimits: limits } : {}) });
    w.once('message', (r: ReturnType<typeof open>) => print(r));
    w.once('error', (e) => {
      throw e;
    });
  }
}
