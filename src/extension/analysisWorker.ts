/**
 * The worker thread that reads model texts for the lenses, diagnostics, hovers, clicks and the graph view,
 * so that the extension host's thread never runs an analysis (dist/analysisWorker.js, started by LensEngine).
 */
import { parentPort } from 'node:worker_threads';
import { runJob, type LensJob } from './lensJob';
import { lensTransfer } from './lensTable';

/** The document's text exactly, a byte-order mark included (the lenses' lines count it). */
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

parentPort?.on('message', (msg: { id: number; job: LensJob }) => {
  // The host sends the text as transferred UTF-8 (posting a 10 MB string cost its thread ~10-30 ms).
  const job = msg.job.bytes ? { ...msg.job, text: decoder.decode(msg.job.bytes) } : msg.job;
  const result = runJob(job);
  // The lens table's arrays and the graph's bytes move to the host instead of being copied.
  const transfer = !result.ok ? [] : 'lenses' in result ? lensTransfer(result.lenses) : 'graph' in result ? [result.graph.buffer as ArrayBuffer] : [];
  parentPort!.postMessage({ id: msg.id, result }, transfer);
});
