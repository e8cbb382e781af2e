import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { logicalCores, threadedCap } from '../../src/trainer/wasmThreads';
import { selectBackend } from '../../src/trainer/backend';
import { describeLibrary, describeLoadFailure } from '../../src/trainer/backendReasons';

function err(message: string, code?: string): Error {
  return Object.assign(new Error(message), code ? { code } : {});
}

describe('describeLoadFailure', function () {
  const GPU = '@tensorflow/tfjs-node-gpu';
  const NODE = '@tensorflow/tfjs-node';

  it('reports a package that is not installed', function () {
    const e = err(`Cannot find module '${GPU}'\nRequire stack:\n- /work/main/out/test/unit/backend.test.js\n- /work/main/node_modules/mocha/lib/mocha.js`, 'MODULE_NOT_FOUND');
    assert.equal(describeLoadFailure(GPU, e), 'not installed');
  });

  it('uses the real error Node throws for a missing package', function () {
    let thrown: unknown;
    try {
      require('@tensorflow/tfjs-node-gpu');
    } catch (e) {
      thrown = e;
    }
    assert.ok(thrown, 'the GPU package is not installed in this checkout');
    assert.equal(describeLoadFailure(GPU, thrown), 'not installed');
  });

  it('names a missing dependency rather than the package', function () {
    const e = err(`Cannot find module '@mapbox/node-pre-gyp'\nRequire stack:\n- /p/node_modules/${NODE}/dist/index.js`, 'MODULE_NOT_FOUND');
    assert.equal(describeLoadFailure(NODE, e), 'dependency @mapbox/node-pre-gyp not installed');
  });

  it('recognises the missing native binding (install step skipped or failed)', function () {
    const msg = 'The Node.js native addon module (tfjs_binding.node) can not be found at path: /p/node_modules/@tensorflow/tfjs-node/lib/napi-v8/tfjs_binding.node. \n' +
      "Please run command 'npm rebuild @tensorflow/tfjs-node --build-addon-from-source' to rebuild the native addon module. \n" +
      'If you have problem with building the addon module, please check https://github.com/tensorflow/tfjs/blob/master/tfjs-node/WINDOWS_TROUBLESHOOTING.md or file an issue.';
    assert.match(describeLoadFailure(NODE, err(msg)), /^native binding tfjs_binding\.node not found/);
    const req = err("Cannot find module '/p/node_modules/@tensorflow/tfjs-node/lib/napi-v8/tfjs_binding.node'", 'MODULE_NOT_FOUND');
    assert.match(describeLoadFailure(NODE, req), /^native binding not built \(tfjs_binding\.node missing/);
  });

  it('names the missing CUDA, cuDNN and TensorFlow libraries from dlopen errors', function () {
    const binding = `/p/node_modules/${GPU}/lib/napi-v8/tfjs_binding.node`;
    const cases: Array<[string, string]> = [
      [`${binding}: libcudart.so.11.0: cannot open shared object file: No such file or directory`, 'CUDA library libcudart.so.11.0 not found'],
      ['libcudnn.so.8: cannot open shared object file: No such file or directory', 'cuDNN library libcudnn.so.8 not found'],
      ['libcublasLt.so.11: cannot open shared object file: No such file or directory', 'CUDA library libcublasLt.so.11 not found'],
      [`${binding}: libtensorflow.so.2: cannot open shared object file: No such file or directory`, 'TensorFlow C library libtensorflow.so.2 not found'],
      ['/usr/lib/libfoo.so: cannot open shared object file: No such file or directory', 'native library libfoo.so not found'],
      ["Could not load dynamic library 'libcusolver.so.11'; dlerror: libcusolver.so.11: cannot open shared object file", 'CUDA library libcusolver.so.11 not found'],
      [`dlopen(${binding}, 0x0001): Library not loaded: @rpath/libtensorflow.2.dylib\n  Referenced from: ${binding}\n  Reason: tried: '/p/lib/libtensorflow.2.dylib' (no such file)`, 'TensorFlow C library libtensorflow.2.dylib not found'],
    ];
    for (const [message, want] of cases) assert.equal(describeLoadFailure(GPU, err(message, 'ERR_DLOPEN_FAILED')), want, message);
  });

  it('explains old system runtimes, symbol mismatches, foreign binaries and Windows DLL errors', function () {
    assert.equal(
      describeLoadFailure(NODE, err(`/lib/x86_64-linux-gnu/libstdc++.so.6: version \`GLIBCXX_3.4.29' not found (required by /p/node_modules/${NODE}/lib/napi-v8/../../deps/lib/libtensorflow.so.2)`)),
      'system C++ runtime (libstdc++) too old: GLIBCXX_3.4.29 not found',
    );
    assert.equal(
      describeLoadFailure(NODE, err("/lib64/libc.so.6: version `GLIBC_2.27' not found (required by /p/deps/lib/libtensorflow_framework.so.2)")),
      'system C library (glibc) too old: GLIBC_2.27 not found',
    );
    assert.equal(describeLoadFailure(NODE, err('/p/tfjs_binding.node: undefined symbol: TF_NewStatus')), 'native library mismatch: undefined symbol TF_NewStatus');
    assert.match(describeLoadFailure(NODE, err('/p/tfjs_binding.node: invalid ELF header')), /^native binary built for another platform/);
    assert.match(
      describeLoadFailure(NODE, err('The specified module could not be found.\r\n\\\\?\\C:\\p\\node_modules\\@tensorflow\\tfjs-node\\lib\\napi-v8\\tfjs_binding.node')),
      /^native library failed to load: a DLL it depends on/,
    );
  });

  it('falls back to the first line of anything else', function () {
    assert.equal(describeLoadFailure(NODE, err('Something odd happened\n    at foo (bar.js:1:1)')), 'Something odd happened');
    assert.equal(describeLoadFailure(NODE, 'plain string'), 'plain string');
    assert.equal(describeLoadFailure(NODE, undefined), 'undefined');
  });

  it('classifies library names', function () {
    assert.equal(describeLibrary('/usr/local/cuda/lib64/libcufft.so.10'), 'CUDA library libcufft.so.10');
    assert.equal(describeLibrary('cudnn64_8.dll'), 'cuDNN library cudnn64_8.dll');
    assert.equal(describeLibrary('libtensorflow_framework.so.2'), 'TensorFlow C library libtensorflow_framework.so.2');
  });
});

describe('selectBackend', function () {
  let previous: string;

  before(async function () {
    await tf.ready();
    previous = tf.getBackend();
  });

  after(async function () {
    if (previous) await tf.setBackend(previous);
  });

  it("'auto' here: the tfjs-node packages are not installed, so it takes wasm", async function () {
    const choice = await selectBackend('auto');
    assert.deepEqual(choice.tried.slice(0, 2), [
      { candidate: 'tfjs-node-gpu', ok: false, reason: 'not installed' },
      { candidate: 'tfjs-node', ok: false, reason: 'not installed' },
    ]);
    assert.deepEqual(choice.tried[2], { candidate: 'wasm', ok: true });
    assert.equal(choice.tried.length, 3);
    assert.equal(choice.name, 'wasm');
    assert.equal(choice.package, '@tensorflow/tfjs-backend-wasm');
    assert.equal(tf.getBackend(), 'wasm');
    // SIMD is used when the runtime validates it (Node 20 does); threads: the threaded build's where it gains any
    // (half the logical cores, its files beside the bundle), else 1 with the reason (wasmThreads.test.ts).
    assert.ok(choice.threadNote, 'the log says why this many threads');
    assert.equal(choice.threads, choice.threadNote!.startsWith('threaded SIMD build') ? threadedCap(logicalCores(), logicalCores()) : 1, choice.threadNote);
    assert.equal(choice.simd, true);
    // The composed gradient kernels are in place.
    assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm'));
  });

  it("'cpu' gives the plain cpu backend", async function () {
    const choice = await selectBackend('cpu');
    assert.deepEqual(choice, { name: 'cpu', package: '@tensorflow/tfjs', tried: [{ candidate: 'cpu', ok: true }] });
    assert.equal(tf.getBackend(), 'cpu');
  });

  it("'tfjs-node' falls through to wasm with the reason, and 'wasm' can be selected again", async function () {
    const choice = await selectBackend('tfjs-node');
    assert.deepEqual(choice.tried.map((t) => [t.candidate, t.ok, t.reason]), [['tfjs-node', false, 'not installed'], ['wasm', true, undefined]]);
    const again = await selectBackend('wasm');
    assert.equal(again.name, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    const y = tf.tidy(() => tf.conv2d(tf.ones([1, 4, 4, 1]) as tf.Tensor4D, tf.ones([2, 2, 1, 1]) as tf.Tensor4D, 1, 'valid').dataSync());
    assert.deepEqual(Array.from(y), [4, 4, 4, 4, 4, 4, 4, 4, 4]);
  });

  it('rejects an unknown preference', async function () {
    await assert.rejects(selectBackend('metal' as never), /unknown backend preference 'metal'/);
  });
});
