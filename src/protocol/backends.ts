// The TF.js backend a trainer runs on, as the trainer reports it to the host and records it in run.json.
// The trainer (`trainer/backend.ts`) picks it; these are the types both sides carry.

export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

export interface BackendAttempt {
  candidate: string;
  ok: boolean;
  reason?: string;
}

export interface BackendChoice {
  name: BackendName;
  /** npm package that provides the backend. */
  package: string;
  /** Every candidate tried, fastest first, with the reason each failed one was skipped. */
  tried: BackendAttempt[];
  /** wasm only: worker threads in use (1 = single-threaded). */
  threads?: number;
  /** wasm only: why that many threads (the threaded build, or why not), for the log. */
  threadNote?: string;
  /** wasm only: whether the SIMD build was loaded. */
  simd?: boolean;
}
