import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { DatasetError } from '../../src/trainer/data/loadDataset';
import type { Dataset, Task } from '../../src/trainer/data/loadDataset';
import { tempFolder } from './tempFolder';

// What datasets.test.ts and dataFiles.test.ts share: their set-up, a classifier's task, the error a promise must
// reject with, disposal.

export const classifier = (input: (number | null)[], classes: number, loss = 'categoricalCrossentropy'): Task => ({
  inputShape: [null, ...input],
  outputShape: [null, classes],
  loss,
});

export async function rejects(p: Promise<unknown>, re: RegExp, ctor: new (...a: never[]) => Error = DatasetError): Promise<Error> {
  let thrown: unknown;
  try {
    await p;
  } catch (e) {
    thrown = e;
  }
  assert.ok(thrown instanceof ctor, `expected a ${ctor.name}, got ${String(thrown)}`);
  assert.match(thrown.message, re);
  return thrown;
}

export const dispose = (d: Dataset): void => tf.dispose([d.x, d.y]);

/** The file's tests run on the cpu backend with a temporary folder (its path), removed after them. */
export function dataTestSetup(): () => string {
  before(async function () {
    await tf.setBackend('cpu');
  });
  return tempFolder('laurel-data-');
}
