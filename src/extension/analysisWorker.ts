/**
 * The worker thread that reads model texts for the lenses, diagnostics, hovers, clicks and the graph view,
 * so that the extension host's thread never runs an analysis (dist/analysisWorker.js, started by LensEngine).
 */
import { parentPort } from 'node:worker_threads';
import { runJob, type LensJob } from './lensJob';
import { lensTransfer } from './lensTable';

/** The document's text exactly, a byte-order mark included (the lenses' lines count it). */
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** The slices as one array (the worker's copy, not the host's). */
function joined(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

parentPort?.on('message', (msg: { id: number; job: LensJob & { parts?: Uint8Array[] } }) => {
  // The host sends the text as transferred UTF-8 slices (posting a 10 MB string cost its thread ~10-30 ms).
  const { parts, ...rest } = msg.job;
  const bytes = parts ? joined(parts) : undefined;
  const job: LensJob = bytes ? { ...rest, text: decoder.decode(bytes), bytes } : rest;
  const result = runJob(job);
  // The lens table's arrays and the graph's bytes move to the host instead of being copied.
  const transfer = !result.ok ? [] : 'lenses' in result ? lensTransfer(result.lenses) : 'graph' in result ? [result.graph.buffer as ArrayBuffer] : [];
  parentPort!.postMessage({ id: msg.id, result }, transfer);
});
