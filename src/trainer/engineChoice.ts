/**
 * Which engine trains a run: `config.engine` (absent: TF.js), and for 'auto' what the machine offers (a GPU
 * engine when one works) and what each engine can build. Sits above both engines; train.ts and compare.ts ask it.
 */
import type { BackendChoice } from '../protocol/backends';
import type { EngineChoice, TrainConfig } from '../protocol/runRecords';
import { findTorchPython, PythonNotFoundError } from './pythonFinder';
import type { FindPythonOptions, PythonFound } from './pythonFinder';
import type { RunSpec } from './run';

const pythonOptions = (config: TrainConfig): FindPythonOptions => ({
  ...(config.python ? { explicit: config.python } : {}),
  ...(config.pythonPath ? { pythonPath: config.pythonPath } : {}),
});

function pytorchChoice(found: PythonFound, reason: string): EngineChoice {
  const p = found.probe;
  return {
    name: 'pytorch',
    reason,
    python: found.python,
    pythonSource: found.source,
    pythonVersion: p.pythonVersion,
    torch: p.torch,
    device: p.cuda ? 'cuda' : 'cpu',
    deviceName: p.deviceName,
    bf16: p.bf16,
    compile: p.compile,
    ...(found.skipped.length ? { skipped: found.skipped } : {}),
  };
}

const skippedText = (s: { python: string; reason: string }[]): string => s.map((x) => `${x.python}: ${x.reason}`).join('; ');

/** Why the PyTorch export cannot run a spec's model (its layers without a PyTorch form), or undefined. */
function pytorchProblem(spec: RunSpec): string | undefined {
  const u = spec.pytorch?.().unsupported ?? [];
  return u.length ? `the PyTorch engine cannot run ${u.map((l) => `${l.layer} (${l.className})`).join(', ')}` : undefined;
}

/**
 * The engine for `config.engine` (absent: 'tfjs'). 'pytorch' needs a Python with torch (else throws, saying
 * what to install). 'auto' never picks an engine that cannot build the model (`runs`: the models to train): a
 * model TF.js cannot build goes to PyTorch, saying which layer sent it there, and one PyTorch cannot run stays
 * on TF.js. Otherwise it takes a GPU engine when one works: TF.js when the backend is tfjs-node-gpu on a GPU,
 * else PyTorch when torch sees CUDA; on the CPU it keeps TF.js, whose run saves a TF.js model.json that the
 * extension and the CLI read back (PyTorch on the CPU is faster, see `npm run bench`: ask for it with --engine pytorch).
 */
export async function resolveEngine(config: TrainConfig, backend: BackendChoice, runs: RunSpec[] = []): Promise<EngineChoice> {
  const pref = config.engine ?? 'tfjs';
  if (pref === 'tfjs') return { name: 'tfjs', reason: config.engine ? 'asked for (engine tfjs)' : 'the default engine' };
  if (pref === 'pytorch') return pytorchChoice(await findTorchPython(pythonOptions(config)), 'asked for (engine pytorch)');
  if (pref !== 'auto') throw new Error(`unknown engine '${String(pref)}'; expected auto, tfjs or pytorch`);
  const tfjsWhy = runs.map((r) => r.tfjsProblem?.()).find((w) => w !== undefined);
  const torchWhy = runs.map(pytorchProblem).find((w) => w !== undefined);
  if (tfjsWhy !== undefined) {
    if (torchWhy !== undefined) throw new Error(`no engine can build this model: TF.js: ${tfjsWhy}; PyTorch: ${torchWhy}`);
    let found: PythonFound;
    try {
      found = await findTorchPython(pythonOptions(config));
    } catch (e) {
      if (e instanceof PythonNotFoundError) throw new Error(`TF.js cannot build this model (${tfjsWhy}) and the PyTorch engine needs a Python with torch: ${e.message}`);
      throw e;
    }
    return pytorchChoice(found, `auto: TF.js cannot build this model (${tfjsWhy}), so PyTorch`);
  }
  if (torchWhy !== undefined) return { name: 'tfjs', reason: `auto: ${torchWhy}, so TF.js ${backend.name}` };
  if (backend.name === 'tensorflow-gpu') return { name: 'tfjs', reason: 'auto: tfjs-node-gpu runs on the GPU' };
  const gpuSkip = backend.tried.find((t) => t.candidate === 'tfjs-node-gpu');
  const tfjsGpu = `tfjs-node-gpu ${gpuSkip?.reason ?? 'not tried'}`;
  let noCuda: string;
  try {
    const found = await findTorchPython(pythonOptions(config));
    if (found.probe.cuda) return pytorchChoice(found, `auto: no TF.js GPU backend (${tfjsGpu}); PyTorch ${found.probe.torch} sees CUDA (${found.probe.deviceName})`);
    noCuda = `PyTorch ${found.probe.torch} (${found.python}) sees no CUDA device`;
  } catch (e) {
    if (!(e instanceof PythonNotFoundError)) throw e;
    noCuda = `no Python with torch (${skippedText(e.skipped)})`;
  }
  return {
    name: 'tfjs',
    reason:
      `auto: no GPU engine (${tfjsGpu}; ${noCuda}), so TF.js ${backend.name} on the CPU: its run saves the TF.js model.json ` +
      'that the extension and the CLI read back (--engine pytorch trains faster on the CPU but saves a PyTorch state_dict)',
  };
}

/** One line for the log: the engine, its device and why. */
export function describeEngine(e: EngineChoice): string {
  if (e.name === 'tfjs') return `engine tfjs: ${e.reason}`;
  const skipped = e.skipped?.length ? `; skipped ${skippedText(e.skipped)}` : '';
  return `engine pytorch: ${e.python} [${e.pythonSource}] (Python ${e.pythonVersion}, torch ${e.torch}, ${e.device === 'cuda' ? `CUDA ${e.deviceName}${e.bf16 ? ', bf16' : ''}` : 'CPU'}): ${e.reason}${skipped}`;
}
