import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { traceSource } from '../../src/trainer/pySourceTrace';
import { pytorchFixture } from './fixturePath';
import { tempFolder } from './tempFolder';

// Which Python a one-shot measurement runs, found without importing torch (the tracer's own import is the check):
// through wrappers of Debian's python3 that log how they are called.
const PYTHON = process.env['LAUREL_PYTHON'] ?? '/usr/bin/python3';
const RESNET = { model: 'ResNet18()', input: 'torch.randn(1, 3, 32, 32)' };

describe('.py measurement: the Python is found without importing torch twice', function () {
  this.timeout(120_000);
  const work = tempFolder('laurel-tracepy-');

  /** A python3 wrapper that logs one line per run (the probe, the spec check or the tracer) and runs PYTHON. */
  const wrapper = (name: string, extraPath = ''): string => {
    const p = join(work(), name);
    const log = join(work(), `${name}.log`);
    writeFileSync(p, `#!/bin/sh\ncase "$2" in *torch_probe*|*"can run LAuReL"*) echo probe;; *find_spec*) echo spec;; *laurel_trace*) echo trace;; *) echo other;; esac >> ${log}\n${extraPath ? `PYTHONPATH=${extraPath} ` : ''}exec ${PYTHON} "$@"\n`);
    chmodSync(p, 0o755);
    return p;
  };
  const calls = (name: string): string[] => readFileSync(join(work(), `${name}.log`), 'utf8').trim().split('\n');

  it('one measurement runs a spec check and the tracer, not the probe (one import of torch)', async () => {
    const py = wrapper('python-a');
    const r = await traceSource(pytorchFixture('cifar_resnet.py'), { env: { ...process.env, LAUREL_PYTHON: py }, ...RESNET });
    assert.equal(r.ok ? r.trace.params.total : r.error.message, 11_173_962);
    assert.deepEqual(calls('python-a'), ['spec', 'trace']);
  });

  it('a candidate whose torch is installed but does not import is left for the next one, as the probe decides', async () => {
    const fake = join(work(), 'fake');
    mkdirSync(join(fake, 'torch'), { recursive: true });
    writeFileSync(join(fake, 'torch', '__init__.py'), 'raise ImportError("this torch is broken")\n');
    const broken = wrapper('python-broken', fake);
    const good = wrapper('python-good');
    const env = { ...process.env, PATH: work(), LAUREL_PYTHON: '' };
    // Candidates: the editor's interpreter (broken), then python3 on PATH (none here), then /usr/bin/python3.
    writeFileSync(join(work(), 'python3'), `#!/bin/sh\nexec ${good} "$@"\n`);
    chmodSync(join(work(), 'python3'), 0o755);
    const r = await traceSource(pytorchFixture('cifar_resnet.py'), { env, pythonPath: broken, ...RESNET });
    assert.equal(r.ok ? r.trace.params.total : r.error.message, 11_173_962);
    assert.deepEqual(calls('python-broken'), ['spec', 'trace', 'probe']);
    // The probe passes over it to python3 on PATH, and the tracer runs the interpreter that probe names (sys.executable).
    assert.deepEqual(calls('python-good'), ['probe']);
  });
});
