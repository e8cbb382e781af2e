/**
 * The free memory of the CUDA devices a PyTorch run will use, read when the run starts (torch.cuda.mem_get_info
 * in the run's own Python: what the driver reports free now, other processes included), so the memory check
 * refuses a run that cannot fit the GPU instead of the host's memory.
 */
import { execFile } from 'node:child_process';
import CUDA_MEMORY from '../python/cuda_memory.py';

export interface CudaDevice {
  index: number;
  name: string;
  freeBytes: number;
  totalBytes: number;
}

/** What cuda_memory.py reports: the devices, or why there are none to read. */
export type CudaMemory = { cuda: true; devices: CudaDevice[] } | { cuda: false; reason: string };

const isDevice = (d: unknown): d is CudaDevice => {
  const o = d as Record<string, unknown>;
  return !!o && typeof o === 'object' && Number.isInteger(o['index']) && typeof o['name'] === 'string' && Number.isFinite(o['freeBytes']) && Number.isFinite(o['totalBytes']);
};

/** Reads the probe's JSON line; anything else is a reason, never a number. */
export function parseCudaMemory(stdout: string): CudaMemory {
  const line = stdout.trim().split('\n').pop() ?? '';
  let j: { cuda?: unknown; devices?: unknown; reason?: unknown };
  try {
    j = JSON.parse(line) as typeof j;
  } catch {
    return { cuda: false, reason: `the GPU memory probe printed no JSON (${line.slice(0, 200) || 'nothing'})` };
  }
  if (j.cuda === true && Array.isArray(j.devices) && j.devices.length > 0 && j.devices.every(isDevice)) return { cuda: true, devices: j.devices };
  return { cuda: false, reason: typeof j.reason === 'string' ? j.reason : 'the GPU memory probe reported no device' };
}

/** Runs the probe in `python` (the run's interpreter). Never throws: a failure is a reason. */
export function probeCudaMemory(python: string, timeoutMs = 60_000): Promise<CudaMemory> {
  return new Promise((resolve) => {
    execFile(python, ['-c', CUDA_MEMORY], { timeout: timeoutMs, encoding: 'utf8', maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err && !stdout.trim()) return resolve({ cuda: false, reason: `the GPU memory probe failed (${stderr.trim().split('\n').pop() || err.message})` });
      resolve(parseCudaMemory(stdout));
    });
  });
}
