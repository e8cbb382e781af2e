/**
 * The analysis benchmark's rounds in a worker with the extension's analysis heap (dist/benchAnalysisWorker.js):
 * workerData is the sizes; each message 'round' runs one round and answers 'done'; 'samples' answers them.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { analysisCases, analysisRound, samplesOf } from './analysisRounds';

const cases = analysisCases(workerData as number[]);
parentPort!.on('message', (what: 'round' | 'samples') => {
  if (what === 'round') {
    analysisRound(cases);
    parentPort!.postMessage('done');
  } else parentPort!.postMessage(samplesOf(cases));
});
