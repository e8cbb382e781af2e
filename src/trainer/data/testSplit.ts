// The held-out test set of a run (`--test`): Fashion-MNIST's own test images (t10k) for fashion-mnist data, the
// files of `--test-data SPEC`, or else the last `--test-split` fraction of the loaded samples, cut off before the
// validation split. The samples' positions decide (no seed), so the test set is the same for every seed and plan,
// and disjoint from training and validation.
import * as tf from '@tensorflow/tfjs';
import { DatasetError } from './errors';
import { asData, sampleCount, sliceInputs, xOf } from './inputs';
import type { Dataset, TestData } from './loadDataset';
import { parseDataSpec } from './loadDataset';
import type { TestRequest } from '../../protocol/trainerProtocol';

export const DEFAULT_TEST_SPLIT = 0.1;

/** Where a run's test set comes from: a data spec to load, or a fraction of the data to cut off. */
export function testSource(dataSpec: string, req: TestRequest): { spec: string } | { split: number } {
  if (req.data !== undefined) {
    if (req.split !== undefined) throw new DatasetError('give a test set (test data) or a test split, not both');
    if (req.data.trim() === dataSpec.trim()) throw new DatasetError(`the test data '${req.data}' are the training data: a test set must be held out`);
    return { spec: req.data };
  }
  const parsed = dataSpec.startsWith('text:') ? undefined : parseDataSpec(dataSpec);
  const fashion = parsed?.kind === 'idx' && parsed.name?.startsWith('fashion-mnist');
  if (fashion && parsed.name === 'fashion-mnist test') throw new DatasetError("the data are Fashion-MNIST's test set: train on fashion-mnist (its training set) to test on t10k");
  if (fashion) {
    if (req.split !== undefined) throw new DatasetError("Fashion-MNIST has its own test set (t10k), used by --test: a test split is for data without one");
    return { spec: 'fashion-mnist:test' };
  }
  const split = req.split ?? DEFAULT_TEST_SPLIT;
  if (!(split > 0 && split < 1)) throw new DatasetError(`the test split must be in (0, 1), got ${split}`);
  return { split };
}

/** Cuts the last `fraction` of the samples off as the test set; the rest (train + validation) stays the data. */
export function splitOffTest(data: Dataset, fraction: number): Dataset {
  const n = sampleCount(data.x) || data.samples;
  const held = Math.floor(n * fraction);
  if (held < 1 || n - held < 2) throw new DatasetError(`${data.name}: ${n} samples are too few to hold ${(fraction * 100).toFixed(0)}% out as a test set`);
  const keep = n - held;
  const x = sliceInputs(xOf(data), 0, keep);
  const y = data.y.slice(0, keep);
  const test: TestData = { name: `${data.name}, last ${held} samples`, ...asData(sliceInputs(xOf(data), keep)), y: data.y.slice(keep), samples: held };
  tf.dispose(xOf(data));
  data.y.dispose();
  return { ...data, ...asData(x), y, samples: keep, test, adaptations: [...data.adaptations, `samples ${keep + 1}..${n} held out as the test set`] };
}

/** The data with their test set: loaded by `load` (as the data were, so adapted alike), or cut off the end. */
export async function withTestSet(data: Dataset, dataSpec: string, req: TestRequest | undefined, load: (spec: string) => Promise<Dataset>): Promise<Dataset> {
  if (!req) return data;
  const source = testSource(dataSpec, req);
  if ('split' in source) return splitOffTest(data, source.split);
  const t = await load(source.spec);
  return { ...data, test: { name: t.name, ...asData(xOf(t)), y: t.y, samples: sampleCount(t.x) || t.samples } };
}

/** Disposes the data's tensors, the test set's too. */
export function disposeData(data: Dataset): void {
  tf.dispose([xOf(data), data.y]);
  if (data.test) tf.dispose([xOf(data.test), data.test.y]);
}
