/**
 * The PyTorch engine's Python side: the folder it runs (the module toPyTorch() generates, the training loop of
 * src/python/laurel_train*.py and a launcher) and the .npy files it reads. The loop takes one JSON config (argv[1])
 * and prints one JSON event per line on stdout: log, batchEnd (throttled), epochEnd, done. Errors go to stderr as a
 * traceback (exit code 1). Under torchrun (WORLD_SIZE > 1) every rank trains its share of each global batch with
 * DistributedDataParallel and only rank 0 prints events and saves.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PyTorchExport } from '../core/export/pytorch';
import trainLoop from '../python/laurel_train.py';
import trainEvents from '../python/laurel_train_events.py';
import trainInputs from '../python/laurel_train_inputs.py';
import trainLoss from '../python/laurel_train_loss.py';
import trainOptim from '../python/laurel_train_optim.py';
import trainSetup from '../python/laurel_train_setup.py';
import trainSteps from '../python/laurel_train_steps.py';
import laurelResidualPy from '../python/laurel_residual.py';
import pySourceModule from '../python/laurel_pysource.py';
import moduleRunner from '../python/laurel_import.py';

/** The generated module's file name in the run folder (the launcher imports it by this name). */
export const MODEL_MODULE = 'laurel_model';

/** The training loop's modules by file name: every one goes into the run folder (laurel_train imports the others). */
export const TRAIN_LOOP_FILES: readonly [string, string][] = [
  ['laurel_train.py', trainLoop],
  ['laurel_train_events.py', trainEvents],
  ['laurel_train_inputs.py', trainInputs],
  ['laurel_train_loss.py', trainLoss],
  ['laurel_train_optim.py', trainOptim],
  ['laurel_train_setup.py', trainSetup],
  ['laurel_train_steps.py', trainSteps],
];

/** Writes the training loop's modules into `dir`. */
export function writeTrainLoop(dir: string): void {
  for (const [name, text] of TRAIN_LOOP_FILES) writeFileSync(join(dir, name), text);
}

/** The launcher: the script Python (or torchrun) runs, with the run folder first on sys.path. */
const LAUNCHER = `import sys

import laurel_train
import ${MODEL_MODULE}

laurel_train.main(${MODEL_MODULE}, sys.argv[1])
`;

/** The class name toPyTorch() gave the module (the last `class X(nn.Module):`). */
export function moduleClassName(code: string): string {
  const name = [...code.matchAll(/^class (\w+)\(nn\.Module\):/gm)].pop()?.[1];
  if (!name) throw new Error('the generated PyTorch code has no nn.Module class');
  return name;
}

/** Writes the generated module, the training loop and the launcher into `dir`; returns the launcher's path. */
export function writeTrainingFolder(dir: string, exp: PyTorchExport): string {
  writeFileSync(join(dir, `${MODEL_MODULE}.py`), exp.code);
  writeTrainLoop(dir);
  const script = join(dir, 'train.py');
  writeFileSync(script, LAUNCHER);
  return script;
}

/**
 * The folder for a PyTorch source's variant: its text in src/ (a copy; the user's file is never written) with
 * laurel_residual.py beside it, and laurel_pysource.py (with laurel_import.py) as the module the loop builds from. Returns the launcher
 * and the copy's path (config.json's pySource.file).
 */
export function writePySourceFolder(dir: string, fileName: string, text: string): { script: string; file: string } {
  mkdirSync(join(dir, 'src'));
  const file = join(dir, 'src', fileName);
  writeFileSync(file, text);
  writeFileSync(join(dir, 'src', 'laurel_residual.py'), laurelResidualPy);
  writeFileSync(join(dir, `${MODEL_MODULE}.py`), pySourceModule);
  writeFileSync(join(dir, 'laurel_import.py'), moduleRunner);
  writeTrainLoop(dir);
  const script = join(dir, 'train.py');
  writeFileSync(script, LAUNCHER);
  return { script, file };
}

/** A version 1.0 .npy file (C order, little-endian) of float32 or int32 values. */
export function npyBytes(data: Float32Array | Int32Array, shape: readonly number[]): Buffer {
  const descr = data instanceof Float32Array ? '<f4' : '<i4';
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  // Magic (6) + version (2) + length (2) + header, padded with spaces to a multiple of 64 ending in '\n'.
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}
