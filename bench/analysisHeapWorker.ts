/**
 * The analysis benchmark's rounds in a worker, as the extension reads (dist/benchAnalysisWorker.js): workerData
 * is the sizes and which heap this worker is (`large`: ANALYSIS_HEAP); it runs the cases whose text the
 * extension reads in that heap (`heapFor`). Each message 'round' runs one round and answers 'done'; 'samples'
 * answers them.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { heapFor } from '../src/extension/lensEngine';
import { analysisCases, analysisRound, roundPauses, samplesOf } from './analysisRounds';

const { sizes, large } = workerData as { sizes: number[]; large: boolean };
const cases = analysisCases(sizes).filter((c) => (heapFor(c.text.length) !== undefined) === large);
parentPort!.on('message', (what: 'round' | 'samples') => {
  if (what === 'round') {
    analysisRound(cases);
    void roundPauses(cases).then(() => parentPort!.postMessage('done'));
  } else parentPort!.postMessage(samplesOf(cases));
});
