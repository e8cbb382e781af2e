// Turns the error thrown while loading a TF.js backend package into a short, plain reason for the
// "why not the faster backend" report. Pure: no I/O, so it is unit-tested on real-world error strings.

interface ErrorLike {
  code?: unknown;
  message?: unknown;
}

function errorText(err: unknown): { code: string; message: string } {
  if (typeof err === 'string') return { code: '', message: err };
  if (err != null && typeof err === 'object') {
    const e = err as ErrorLike;
    return { code: typeof e.code === 'string' ? e.code : '', message: typeof e.message === 'string' ? e.message : String(err) };
  }
  return { code: '', message: String(err) };
}

/** Names the kind of a shared library from its file name (Linux .so, macOS .dylib, Windows .dll). */
export function describeLibrary(lib: string): string {
  const base = lib.replace(/^.*[\\/]/, '').replace(/^@rpath\//, '');
  if (/^(lib)?cudnn/i.test(base)) return `cuDNN library ${base}`;
  if (/^(lib)?(cuda|cudart|cublas|cublasLt|cufft|curand|cusolver|cusparse|cupti|nvrtc|nvinfer|nvToolsExt|nccl)/i.test(base)) return `CUDA library ${base}`;
  if (/^(lib)?tensorflow/i.test(base)) return `TensorFlow C library ${base}`;
  if (/tfjs_binding\.node$/.test(base)) return `native binding ${base}`;
  return `native library ${base}`;
}

function firstLine(message: string): string {
  return message.split('\n')[0].trim();
}

/**
 * Why `pkg` could not be used. Recognises: the package itself missing ('not installed'); its native
 * binding file missing (the install step that downloads libtensorflow did not run or failed); dlopen
 * failures on Linux/macOS naming the missing shared library; old C++ runtimes; foreign binaries.
 * Anything else is returned as the raw first line of the message.
 */
export function describeLoadFailure(pkg: string, err: unknown): string {
  const { code, message } = errorText(err);
  const line = firstLine(message);

  // tfjs-node's own check before loading its addon: the install step that fetches libtensorflow and
  // the prebuilt binding failed or was skipped (e.g. --ignore-scripts, or a Node version without a binary).
  if (/native addon module \(tfjs_binding\.node\) can not be found/.test(message)) {
    return 'native binding tfjs_binding.node not found (the install step that downloads libtensorflow did not complete)';
  }

  const missingModule = /Cannot find module '([^']+)'/.exec(message);
  if (code === 'MODULE_NOT_FOUND' || missingModule) {
    const name = missingModule?.[1] ?? '';
    if (name === pkg || name === '') return 'not installed';
    if (/tfjs_binding\.node$/.test(name)) {
      return `native binding not built (${name.replace(/^.*[\\/]/, '')} missing; the package's install step, which downloads libtensorflow, did not complete)`;
    }
    return `dependency ${name} not installed`;
  }

  // Linux dlopen: "libcudart.so.11.0: cannot open shared object file: No such file or directory"
  const soMissing = /([^\s:'"]+\.so(?:\.[\w.]+)?): cannot open shared object file/.exec(message);
  if (soMissing) return `${describeLibrary(soMissing[1])} not found`;

  // TensorFlow's own loader: "Could not load dynamic library 'libcudnn.so.8'; dlerror: ..."
  const tfDso = /Could not load dynamic library '([^']+)'/.exec(message);
  if (tfDso) return `${describeLibrary(tfDso[1])} not found`;

  // macOS dyld: "Library not loaded: @rpath/libtensorflow.2.dylib"
  const dyld = /Library not loaded: '?([^\s']+)'?/.exec(message);
  if (dyld) return `${describeLibrary(dyld[1])} not found`;

  // "/lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.29' not found (required by ...)"
  const version = /version [`']([A-Z]+_[\d.]+)' not found/.exec(message);
  if (version) {
    const runtime = version[1].startsWith('GLIBCXX') ? 'C++ runtime (libstdc++)' : version[1].startsWith('GLIBC') ? 'C library (glibc)' : 'system library';
    return `system ${runtime} too old: ${version[1]} not found`;
  }

  const undef = /undefined symbol: (\S+)/.exec(message);
  if (undef) return `native library mismatch: undefined symbol ${undef[1]}`;

  if (/wrong ELF class|invalid ELF header|not a mach-o file|incompatible architecture|is not a valid Win32 application/i.test(message)) {
    return `native binary built for another platform or architecture (${line})`;
  }

  // Windows: "The specified module could not be found. \\?\C:\...\tfjs_binding.node" does not say which DLL.
  if (/The specified module could not be found/i.test(message)) {
    return 'native library failed to load: a DLL it depends on (tensorflow.dll, or CUDA/cuDNN DLLs for the GPU build) was not found';
  }

  return line || 'unknown error';
}
