/**
 * The worker thread that reads large model texts for the lenses and diagnostics, so that the extension
 * host's thread never runs an analysis that long (dist/analysisWorker.js, started by LensEngine).
 */
import { parentPort } from 'node:worker_threads';
import { runJob, type LensJob } from './lensJob';

parentPort?.on('message', (msg: { id: number; job: LensJob }) => {
  parentPort!.postMessage({ id: msg.id, result: runJob(msg.job) });
});
