import assert from 'node:assert/strict';
import type { RunRecord } from '../../src/protocol/runRecords';
import type { BackendChoice } from '../../src/protocol/backends';
import { datasetPicks, idxLabelsFor, npyLabelsFor, specForFile, withLimit } from '../../src/extension/datasetPicks';
import { readDatasetSetting, readTrainingSettings, TRAINING_DEFAULTS } from '../../src/extension/settings';
import { backendFromLog, backendView, dataFromLog, mismatchOffers, parseRunFile, RunFileError, runSummaryView, sideBySide } from '../../src/extension/trainingRecords';
import { compactHistory, emptyHistory, MAX_JOBS, MAX_POINTS, reduceTraining, restoreHistory, SAVED_POINTS } from '../../src/extension/trainingHistory';
import type { TrainingEvent } from '../../src/extension/trainingHistory';
import { validateHostMessage, validateTrainingMessage } from '../../src/protocol/trainingPanel';
import type { RunSummaryView, TrainingHistory } from '../../src/protocol/trainingPanel';
import { samplesText, tableRows, tableText } from '../../src/report/trainingTable';
import { alignCurves, seedBandCurves, seedGroups } from '../../webview/training/curves';

const config = { epochs: 1, batchSize: 32, learningRate: 1e-3 };
const start = (id: number, runs: string[] = [], kind: 'train' | 'compare' = 'compare'): TrainingEvent => ({
  type: 'jobStarted',
  job: { id, kind, title: `job ${id}`, model: 'resnet-mini.json', data: 'synthetic', config, startedAt: '2025-01-01T00:00:00Z', runs },
});
const batch = (jobId: number, run: string, step: number, loss: number, acc?: number): TrainingEvent => ({
  type: 'batch',
  jobId,
  e: { run, epoch: 1, batch: step - 1, batchesPerEpoch: 10, step, loss, ...(acc !== undefined ? { acc } : {}), samplesPerSec: 100 },
});
const summary = (over: Partial<RunSummaryView> = {}): RunSummaryView => ({
  status: 'completed',
  params: 1000,
  added: 0,
  addedPercent: 0,
  final: { loss: 2, acc: 0.5, valLoss: null, valAcc: null },
  best: { loss: 1.8, acc: 0.55, valLoss: null, valAcc: null },
  stepMs: 10,
  samplesPerSec: 3200,
  peakBytes: 2 ** 20,
  steps: 10,
  ...over,
});
const fold = (events: TrainingEvent[], h: TrainingHistory = emptyHistory()): TrainingHistory => events.reduce(reduceTraining, h);

describe('training panel: run-state reducer', () => {
  it('starts a job with its planned runs pending and streams batches into the named run', () => {
    const h = fold([start(1, ['plain', 'rw']), batch(1, 'plain', 1, 2.3, 0.1), batch(1, 'plain', 5, 2.0, 0.2)]);
    const job = h.jobs[0]!;
    assert.equal(job.state, 'running');
    assert.deepEqual(job.runs.map((r) => [r.name, r.state]), [['plain', 'running'], ['rw', 'pending']]);
    assert.deepEqual(job.runs[0]!.steps, [1, 5]);
    assert.deepEqual(job.runs[0]!.loss, [2.3, 2.0]);
    assert.deepEqual(job.runs[0]!.acc, [0.1, 0.2]);
    assert.equal(job.runs[0]!.progress?.batch, 4);
  });

  it('adds a run it did not know (Train: the file name is the run) and does not mutate the old history', () => {
    const h0 = fold([start(1, [], 'train')]);
    const h1 = reduceTraining(h0, batch(1, 'resnet-mini.json', 1, 2.3));
    assert.equal(h0.jobs[0]!.runs.length, 0);
    assert.equal(h1.jobs[0]!.runs[0]!.name, 'resnet-mini.json');
  });

  it('places an epoch at its end step and keeps validation figures', () => {
    const h = fold([start(1, ['plain']), batch(1, 'plain', 3, 2), { type: 'epoch', jobId: 1, e: { run: 'plain', epoch: 1, epochs: 2, loss: 1.9, valLoss: 2.1, valAcc: 0.3, samplesPerSec: 99 } }]);
    const ep = h.jobs[0]!.runs[0]!.epochs[0]!;
    assert.equal(ep.step, 10);
    assert.equal(ep.valLoss, 2.1);
    assert.equal(ep.acc, null);
    assert.equal(h.jobs[0]!.runs[0]!.progress?.epochs, 2);
  });

  it('keeps the training / validation split the epochs report, and writes it for the data line', () => {
    const epoch = (n: number, split?: [number, number]): TrainingEvent => ({ type: 'epoch', jobId: 1, e: { run: 'plain', epoch: n, epochs: 2, loss: 1, samplesPerSec: 9, ...(split ? { trainSamples: split[0], valSamples: split[1] } : {}) } });
    assert.equal(fold([start(1, ['plain']), epoch(1)]).jobs[0]!.samples, undefined, 'nothing said, nothing shown');
    const h = fold([start(1, ['plain']), epoch(1, [4000, 1000]), epoch(2)]);
    assert.deepEqual(h.jobs[0]!.samples, { train: 4000, val: 1000 });
    assert.equal(samplesText(h.jobs[0]!.samples!), '4,000 train / 1,000 validation samples');
  });

  it('ends a cancelled comparison: the cut-off run is cancelled, later ones skipped, finished ones kept', () => {
    const h = fold([
      start(1, ['plain', 'rw', 'rw+lr']),
      batch(1, 'plain', 1, 2),
      { type: 'runDone', jobId: 1, run: 'plain', summary: summary() },
      batch(1, 'rw', 1, 2),
      { type: 'cancelling', jobId: 1 },
    ]);
    assert.equal(h.jobs[0]!.state, 'cancelling');
    const done = reduceTraining(h, { type: 'jobDone', jobId: 1, at: 'x', cancelled: true });
    assert.equal(done.jobs[0]!.state, 'cancelled');
    assert.deepEqual(done.jobs[0]!.runs.map((r) => r.state), ['completed', 'cancelled', 'skipped']);
    // Late events after the end change nothing.
    assert.equal(reduceTraining(done, batch(1, 'rw', 2, 1)), done);
    assert.equal(reduceTraining(done, { type: 'jobFailed', jobId: 1, at: 'y', message: 'late' }).jobs[0]!.state, 'cancelled');
  });

  it('records a crash with its message', () => {
    const h = fold([start(1, ['plain']), batch(1, 'plain', 1, 2), { type: 'jobFailed', jobId: 1, at: 'x', message: 'the trainer process was killed by SIGKILL' }]);
    assert.equal(h.jobs[0]!.state, 'failed');
    assert.equal(h.jobs[0]!.message, 'the trainer process was killed by SIGKILL');
    assert.equal(h.jobs[0]!.runs[0]!.state, 'cancelled');
  });

  it('ignores events of unknown jobs, keeps at most MAX_JOBS, thins long curves', () => {
    const h = fold([start(1)]);
    assert.equal(reduceTraining(h, batch(99, 'x', 1, 1)), h);
    const many = fold(Array.from({ length: MAX_JOBS + 3 }, (_, i) => start(i + 1)));
    assert.equal(many.jobs.length, MAX_JOBS);
    assert.equal(many.jobs[0]!.id, 4);
    let long = fold([start(1, ['plain'])]);
    for (let s = 1; s <= MAX_POINTS + 1; s++) long = reduceTraining(long, batch(1, 'plain', s, 1 / s));
    const run = long.jobs[0]!.runs[0]!;
    assert.ok(run.steps.length <= MAX_POINTS, String(run.steps.length));
    assert.equal(run.steps.length, run.loss.length);
    assert.equal(run.steps[run.steps.length - 1], MAX_POINTS + 1, 'the latest point survives');
  });
});

describe('training panel: table rows', () => {
  it('has one row per run with ratios to the first, none for the baseline or unfinished runs', () => {
    const h = fold([
      start(1, ['plain', 'rw+lr:r=16', 'gemma']),
      { type: 'runDone', jobId: 1, run: 'plain', summary: summary() },
      { type: 'runDone', jobId: 1, run: 'rw+lr:r=16', summary: summary({ params: 1514, added: 514, addedPercent: 51.4, stepMs: 15, samplesPerSec: 1600, peakBytes: 2 ** 21, final: { loss: 1, acc: 0.9, valLoss: null, valAcc: null } }) },
      { type: 'jobDone', jobId: 1, at: 'x', cancelled: true },
    ]);
    const rows = tableRows(h.jobs[0]!);
    assert.deepEqual(rows.map((r) => r.run), ['plain', 'rw+lr:r=16', 'gemma']);
    assert.deepEqual(rows[0]!.ratios, { params: null, stepMs: null, samplesPerSec: null, peakBytes: null, finalLoss: null });
    assert.deepEqual(rows[1]!.ratios, { params: 1.514, stepMs: 1.5, samplesPerSec: 0.5, peakBytes: 2, finalLoss: 0.5 });
    assert.equal(rows[2]!.state, 'skipped');
    assert.equal(rows[2]!.params, null);
    const text = tableText(h.jobs[0]!);
    assert.equal(text.header.length, text.rows[0]!.length);
    assert.deepEqual(text.rows[1]!.slice(0, 3), ['rw+lr:r=16', '1,514', '+514 (51.4%)']);
    assert.equal(text.rows[1]![text.header.indexOf('peak memory')], '2.0 MiB');
    assert.equal(text.rows[1]![text.header.indexOf('step ×')], '1.50×');
    assert.equal(text.rows[2]![1], '–');
  });

  it('leaves the ratio columns out for a single run (Train)', () => {
    const h = fold([start(1, [], 'train'), { type: 'runDone', jobId: 1, run: 'm.json', summary: summary() }, { type: 'jobDone', jobId: 1, at: 'x', cancelled: false }]);
    const text = tableText(h.jobs[0]!);
    // No validation and no test set: those columns are left out too.
    assert.deepEqual(text.header, ['run', 'params', 'added', 'final loss', 'best loss', 'final acc', 'best acc', 'MACs/ex', 'ms/step', 'samples/s', 'peak memory', 'status']);
    assert.deepEqual(text.rows[0]!.slice(-2), ['1.0 MiB', 'completed']);
  });
});

describe('training panel: validation and test columns', () => {
  it('shows final and best validation, the test figures of the best-validation checkpoint and the added MACs', () => {
    const withTest = summary({ final: { loss: 2, acc: 0.5, valLoss: 1.9, valAcc: 0.52 }, best: { loss: 1.8, acc: 0.55, valLoss: 1.85, valAcc: 0.56 }, test: { loss: 1.95, acc: 0.5312 }, addedMacs: 376320 });
    const h = fold([start(1, ['plain', 'rw+lr:r=4']), { type: 'runDone', jobId: 1, run: 'plain', summary: summary({ ...withTest, addedMacs: 0 }) }, { type: 'runDone', jobId: 1, run: 'rw+lr:r=4', summary: withTest }, { type: 'jobDone', jobId: 1, at: 'x', cancelled: false }]);
    const text = tableText(h.jobs[0]!);
    const cell = (row: number, column: string): string => text.rows[row]![text.header.indexOf(column)]!;
    assert.deepEqual([cell(1, 'val loss'), cell(1, 'val acc'), cell(1, 'best val acc'), cell(1, 'test loss'), cell(1, 'test acc')], ['1.9000', '0.5200', '0.5600', '1.9500', '0.5312']);
    assert.deepEqual([cell(0, 'MACs/ex'), cell(1, 'MACs/ex')], ['0', '+376.32k']);
  });
});

describe('training panel: several seeds', () => {
  const epochEv = (run: string, epoch: number, loss: number, valAcc: number): TrainingEvent => ({
    type: 'epoch',
    jobId: 1,
    e: { run, epoch, epochs: 2, loss, valLoss: loss + 0.1, valAcc, samplesPerSec: 1, stepMs: 1, backend: 'wasm', memory: { numBytes: 0, numTensors: 0, peakBytes: 0 } } as never,
  });
  const runs = ['plain · seed 1', 'rw · seed 1', 'plain · seed 2', 'rw · seed 2', 'plain · seed 3', 'rw · seed 3'];

  it('groups the runs by plan, and draws per plan the mean over seeds with a ± 1 std band at each epoch end', () => {
    const events: TrainingEvent[] = [start(1, runs)];
    const losses: Record<string, number[]> = { plain: [1.0, 1.2, 1.4], rw: [0.9, 0.9, 0.9] };
    runs.forEach((r, i) => {
      const [plan] = r.split(' · ');
      const seed = Math.floor(i / 2);
      events.push(batch(1, r, 10, 2), epochEv(r, 1, losses[plan!]![seed]!, 0.5 + seed / 10), batch(1, r, 20, 1), epochEv(r, 2, losses[plan!]![seed]! / 2, 0.6));
    });
    const job = fold(events).jobs[0]!;
    assert.deepEqual(seedGroups(job), [{ plan: 'plain', runs: [0, 2, 4] }, { plan: 'rw', runs: [1, 3, 5] }]);
    const loss = seedBandCurves(job, 'loss')!;
    assert.deepEqual(loss.series.filter((s) => !s.edge).map((s) => s.label), ['plain, mean of 3 seeds', 'plain (validation), mean of 3 seeds', 'rw, mean of 3 seeds', 'rw (validation), mean of 3 seeds']);
    // x is the epoch (report.md's figures too), not the step of its end.
    assert.deepEqual(loss.data[0], job.runs[0]!.epochs.map((e) => e.epoch));
    const col = (label: string): (number | null)[] => loss.data[1 + loss.series.findIndex((s) => s.label === label)]!;
    // plain, epoch 1: losses 1.0, 1.2, 1.4: mean 1.2, sample std 0.2.
    assert.ok(Math.abs(col('plain, mean of 3 seeds')[0]! - 1.2) < 1e-12);
    assert.ok(Math.abs(col('plain, mean of 3 seeds + std')[0]! - 1.4) < 1e-12);
    assert.ok(Math.abs(col('plain, mean of 3 seeds − std')[0]! - 1.0) < 1e-12);
    assert.equal(col('rw, mean of 3 seeds + std')[0], col('rw, mean of 3 seeds')[0]);
    // uPlot's bands name (hi, lo) by series index with x first.
    for (const [hi, lo] of loss.bands) assert.deepEqual([loss.series[hi - 1]!.edge, loss.series[lo - 1]!.edge], ['hi', 'lo']);
    assert.equal(loss.bands.length, 4);
  });

  it('is not a seed job when a run is not named by seed, or every plan has one seed', () => {
    assert.equal(seedGroups(fold([start(1, ['plain', 'rw'])]).jobs[0]!), null);
    assert.equal(seedGroups(fold([start(1, ['plain · seed 1', 'rw · seed 1'])]).jobs[0]!), null);
    assert.equal(seedBandCurves(fold([start(1, ['plain', 'rw'])]).jobs[0]!, 'loss'), null);
  });

  it('keeps the statistics over seeds with the job', () => {
    const h = fold([start(1, runs), { type: 'seedSummary', jobId: 1, table: 'plan ...', verdicts: ['rw vs plain: +1.00 pts test accuracy'] }]);
    assert.deepEqual(h.jobs[0]!.seedSummary, { table: 'plan ...', verdicts: ['rw vs plain: +1.00 pts test accuracy'] });
  });
});

describe('training panel: curves for uPlot', () => {
  it('aligns runs on the union of their steps, with validation as its own series', () => {
    const h = fold([
      start(1, ['plain', 'rw']),
      batch(1, 'plain', 1, 2.0, 0.1),
      batch(1, 'plain', 4, 1.5, 0.3),
      batch(1, 'rw', 2, 1.9),
      { type: 'epoch', jobId: 1, e: { run: 'rw', epoch: 1, epochs: 1, loss: 1.7, valLoss: 1.8, samplesPerSec: 1 } },
    ]);
    const loss = alignCurves(h.jobs[0]!, 'loss');
    assert.deepEqual(loss.series.map((s) => [s.run, s.validation]), [[0, false], [1, false], [1, true]]);
    assert.deepEqual(loss.data, [
      [1, 2, 4, 10],
      [2.0, null, 1.5, null],
      [null, 1.9, null, null],
      [null, null, null, 1.8],
    ]);
    const acc = alignCurves(h.jobs[0]!, 'acc');
    assert.deepEqual(acc.series.map((s) => s.label), ['plain']);
    assert.deepEqual(acc.data, [[1, 4], [0.1, 0.3]]);
  });

  it('drops non-finite losses (a diverged run) from the curve', () => {
    const h = fold([start(1, ['plain']), batch(1, 'plain', 1, 2), batch(1, 'plain', 2, Number.NaN)]);
    assert.deepEqual(alignCurves(h.jobs[0]!, 'loss').data, [[1], [2]]);
  });
});

describe('training panel: messages', () => {
  it('accepts only the three webview messages, as fresh objects', () => {
    assert.deepEqual(validateTrainingMessage({ type: 'ready' }), { type: 'ready' });
    assert.deepEqual(validateTrainingMessage({ type: 'cancel', extra: 'x' }), { type: 'cancel' });
    assert.deepEqual(validateTrainingMessage({ type: 'showLog' }), { type: 'showLog' });
    for (const bad of [null, undefined, 'ready', [], {}, { type: 'applyVariant' }, { type: 1 }, { type: 'exportReport' }, { type: 'exportReport', job: '3' }, { type: 'exportReport', job: 1.5 }]) assert.equal(validateTrainingMessage(bad), undefined);
    assert.deepEqual(validateTrainingMessage({ type: 'exportReport', job: 3, path: '/etc/x' }), { type: 'exportReport', job: 3 });
  });

  it('checks the host message before the webview draws from it', () => {
    const h = fold([start(1)]);
    assert.deepEqual(validateHostMessage({ type: 'history', history: h, version: 3 }), { type: 'history', history: h, version: 3 });
    assert.equal(validateHostMessage({ type: 'history', history: {}, version: 1 }), undefined);
    assert.equal(validateHostMessage({ type: 'history', history: h }), undefined);
    assert.equal(validateHostMessage({ type: 'snapshot' }), undefined);
  });
});

describe('training panel: records, backend, offers', () => {
  const backend: BackendChoice = {
    name: 'wasm',
    package: '@tensorflow/tfjs-backend-wasm',
    simd: true,
    threads: 1,
    tried: [
      { candidate: 'tfjs-node-gpu', ok: false, reason: 'not installed' },
      { candidate: 'tfjs-node', ok: false, reason: 'libtensorflow.so.2 missing' },
      { candidate: 'wasm', ok: true },
    ],
  };

  it('says which backend and why the faster ones were not used', () => {
    assert.deepEqual(backendView(backend), {
      label: 'wasm (SIMD, 1 thread)',
      skipped: [
        { candidate: 'tfjs-node-gpu', reason: 'not installed' },
        { candidate: 'tfjs-node', reason: 'libtensorflow.so.2 missing' },
      ],
    });
    const fromLog = backendFromLog('backend wasm (@tensorflow/tfjs-backend-wasm, SIMD, 1 thread(s)); skipped tfjs-node-gpu: not installed; tfjs-node: not installed');
    assert.equal(fromLog?.label, 'wasm');
    assert.deepEqual(fromLog?.skipped.map((s) => s.candidate), ['tfjs-node-gpu', 'tfjs-node']);
    assert.equal(backendFromLog('data synthetic, 64 samples'), undefined);
    assert.equal(dataFromLog('data synthetic, 64 samples'), 'synthetic, 64 samples');
  });

  it('turns a RunRecord into the panel summary', () => {
    const r = {
      status: 'diverged',
      message: 'NaN loss at step 3',
      params: { total: 43418, trainable: 42938, base: 43418, added: 0, addedPercent: 0 },
      final: { loss: null, acc: null, valLoss: null, valAcc: null },
      best: { loss: 2, acc: 0.1, valLoss: null, valAcc: null },
      stepMs: 12,
      samplesPerSec: 2600,
      peakBytes: 1234,
      steps: 3,
    } as unknown as RunRecord;
    const s = runSummaryView(r);
    assert.equal(s.status, 'diverged');
    assert.equal(s.message, 'NaN loss at step 3');
    assert.equal(s.params, 43418);
    assert.equal(s.savedDir, undefined);
  });

  it('labels a PyTorch run by its device, not the TF.js backend that only built its initial weights', () => {
    const engine = { name: 'pytorch', reason: 'asked for', torch: '2.5.1', device: 'cuda', deviceName: 'NVIDIA H100', precision: 'bf16-autocast', compiled: true, processes: 2 } as RunRecord['engine'];
    assert.deepEqual(backendView(backend, engine), { label: 'pytorch 2.5.1 on CUDA NVIDIA H100 (bf16, compiled, 2 processes)', skipped: [] });
    assert.equal(backendView(backend, { name: 'pytorch', reason: 'x', torch: '1.13.0', device: 'cpu' }).label, 'pytorch 1.13.0 on CPU');
    assert.equal(backendView(backend, { name: 'tfjs', reason: 'default' }).label, 'wasm (SIMD, 1 thread)');
  });

  it('reads the offers of a dataset mismatch that crossed the process boundary', () => {
    const e = Object.assign(new Error('does not fit'), { name: 'DatasetMismatchError', data: { offers: [{ kind: 'resize', to: [32, 32] }, { kind: 'repeat-channels', to: 3 }, { kind: 'one-hot', classes: 10 }] } });
    assert.deepEqual(mismatchOffers(e), ['resize to 32×32', 'repeat-channels to 3', 'one-hot (10 classes)']);
    assert.equal(mismatchOffers(Object.assign(new Error('x'), { name: 'DatasetMismatchError', data: { offers: [] } })), undefined);
    assert.equal(mismatchOffers(new Error('other')), undefined);
  });
});

describe('training panel: dataset picker and settings', () => {
  it('pairs IDX, .npy and CSV files of the workspace into data specs with the sample limit', () => {
    const f = (p: string) => ({ path: `/w/${p}`, relative: p });
    const picks = datasetPicks({
      fashionMnist: true,
      limit: 512,
      files: [f('d/train-images-idx3-ubyte.gz'), f('d/train-labels-idx1-ubyte.gz'), f('x_train.npy'), f('y_train.npy'), f('lonely.npy'), f('iris.csv')],
    });
    assert.deepEqual(
      picks.map((p) => p.spec),
      [
        'synthetic:limit=512',
        'fashion-mnist:limit=512',
        'idx:/w/d/train-images-idx3-ubyte.gz,/w/d/train-labels-idx1-ubyte.gz:limit=512',
        'npy:/w/x_train.npy,/w/y_train.npy:limit=512',
        'csv:/w/iris.csv:limit=512',
        undefined,
      ],
    );
    assert.equal(picks[0]!.label, 'synthetic');
    assert.equal(picks[picks.length - 1]!.label, 'Browse…');
    assert.ok(!datasetPicks({ fashionMnist: false, files: [], limit: 0 }).some((p) => p.label === 'Fashion-MNIST'));
    assert.equal(datasetPicks({ fashionMnist: false, files: [], limit: 0 })[0]!.spec, 'synthetic');
  });

  it('names the second file of a pair, and keeps a spec\'s own limit', () => {
    assert.equal(idxLabelsFor('/a/t10k-images-idx3-ubyte'), '/a/t10k-labels-idx1-ubyte');
    assert.equal(idxLabelsFor('/a/train.csv'), undefined);
    assert.deepEqual(npyLabelsFor('/a/X.npy'), ['/a/y.npy', '/a/Y.npy']);
    assert.equal(withLimit('fashion-mnist:limit=100', 512), 'fashion-mnist:limit=100');
    assert.equal(withLimit('synthetic', 0), 'synthetic');
    assert.deepEqual(specForFile('/a/b.csv'), { spec: 'csv:/a/b.csv' });
    assert.deepEqual(specForFile('/a/x.npy'), { needs: 'y' });
    assert.deepEqual(specForFile('/a/x.npy', '/a/y.npy'), { spec: 'npy:/a/x.npy,/a/y.npy' });
    assert.ok('error' in specForFile('/a/readme.md'));
  });

  it('reads laurel.training.* with defaults for bad values', () => {
    assert.deepEqual(readTrainingSettings(() => undefined), TRAINING_DEFAULTS);
    const s = readTrainingSettings((k) => ({ 'training.epochs': 3, 'training.batchSize': 0, 'training.learningRate': 0.01, 'training.sampleLimit': 0 })[k]);
    assert.deepEqual(s, { epochs: 3, batchSize: 32, learningRate: 0.01, sampleLimit: 0 });
    assert.equal(readDatasetSetting(() => '  synthetic '), 'synthetic');
    assert.equal(readDatasetSetting(() => 5), '');
  });
});

describe('training panel: runs from disk and the saved history', () => {
  const bad = (text: string, re: RegExp): void => assert.throws(() => parseRunFile(text, 'runs/a/run.json'), (e: Error) => e instanceof RunFileError && re.test(e.message));

  it('says where and what when a file is not a run record it can show', () => {
    bad('{"kind": "laurel-run", ', /^runs\/a\/run\.json: not JSON/);
    bad('{"kind": "something-else"}', /^runs\/a\/run\.json: not a LAuReL run or comparison record/);
    bad('[1, 2]', /not a LAuReL run or comparison record/);
    bad('{"kind": "laurel-run", "version": 2}', /^runs\/a\/run\.json: record version 2; this LAuReL Studio reads version 1$/);
    bad('{"kind": "laurel-run", "version": 1, "name": "rw", "status": "exploded"}', /status: expected completed, cancelled or diverged, got "exploded"/);
    bad('{"kind": "laurel-comparison", "version": 1, "runs": []}', /runs: expected a non-empty array/);
    bad('{"kind": "laurel-comparison", "version": 1, "runs": [{"kind": "laurel-run", "version": 1, "name": 3}]}', /^runs\/a\/run\.json: runs\[0\]: name: expected a string$/);
  });

  it('puts runs of several files side by side with a plain run first, then oldest first', () => {
    const run = (name: string, added: number, startedAt: string): RunRecord => ({ name, params: { added }, startedAt }) as unknown as RunRecord;
    const order = sideBySide([run('rw', 2, '2025-01-03'), run('lr', 9, '2025-01-01'), run('plain', 0, '2025-01-05')]).map((r) => r.name);
    assert.deepEqual(order, ['plain', 'lr', 'rw']);
  });

  it('adds a loaded job like a finished one, keeping at most MAX_JOBS', () => {
    const loaded = (id: number): TrainingEvent => ({
      type: 'jobLoaded',
      job: { id, kind: 'train', title: `loaded ${id}`, model: 'm.json', data: 'synthetic', config, startedAt: '2025-01-01T00:00:00Z', finishedAt: '2025-01-01T00:01:00Z', state: 'completed', runs: [] },
    });
    let h = fold([start(1, ['plain']), loaded(2)]);
    assert.deepEqual(h.jobs.map((j) => [j.id, j.state]), [[1, 'running'], [2, 'completed']]);
    for (let i = 3; i < 3 + MAX_JOBS; i++) h = reduceTraining(h, loaded(i));
    assert.equal(h.jobs.length, MAX_JOBS);
    assert.equal(h.jobs.at(-1)!.id, 2 + MAX_JOBS);
  });

  it('restores the saved history: a job that was running when the window closed is failed, junk is dropped', () => {
    const h = fold([start(1, ['plain', 'rw']), batch(1, 'plain', 1, 2.3), { type: 'runDone', jobId: 1, run: 'plain', summary: summary() }, batch(1, 'rw', 1, 2.2)]);
    const back = restoreHistory(JSON.parse(JSON.stringify(h)), '2025-01-02T00:00:00Z');
    const job = back.jobs[0]!;
    assert.equal(job.state, 'failed');
    assert.equal(job.message, 'VS Code closed while this job was training');
    assert.deepEqual(job.runs.map((r) => r.state), ['completed', 'cancelled']);
    assert.deepEqual(restoreHistory(undefined, 'x'), emptyHistory());
    assert.deepEqual(restoreHistory({ jobs: [null, 3, { id: 'x' }] }, 'x'), emptyHistory());
    const done = fold([{ type: 'jobDone', jobId: 1, at: 'later', cancelled: false }], h);
    assert.deepEqual(restoreHistory(JSON.parse(JSON.stringify(done)), 'x'), done);
  });

  it('thins saved curves evenly to SAVED_POINTS, keeping the first and last points', () => {
    let h = fold([start(1, ['plain'])]);
    for (let step = 1; step <= 1234; step++) h = reduceTraining(h, batch(1, 'plain', step, 3 - step / 1000));
    const run = compactHistory(h).jobs[0]!.runs[0]!;
    assert.ok(run.steps.length <= SAVED_POINTS && run.steps.length >= SAVED_POINTS - 2, String(run.steps.length));
    assert.equal(run.steps[0], 1);
    assert.equal(run.steps.at(-1), 1234);
    assert.equal(run.loss.length, run.steps.length);
    assert.deepEqual(run.loss.map((l, i) => Math.abs(l - (3 - run.steps[i]! / 1000)) < 1e-12), run.loss.map(() => true));
    const gaps = run.steps.slice(1).map((s, i) => s - run.steps[i]!);
    assert.ok(Math.max(...gaps) - Math.min(...gaps) <= 2, 'evenly spaced');
    const small = fold([start(1, ['plain']), batch(1, 'plain', 1, 2)]);
    assert.deepEqual(compactHistory(small), small);
  });
});
