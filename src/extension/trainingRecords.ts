/**
 * From the trainer's records and errors to what the training panel and the prompts show. Pure (no
 * `vscode`, no tfjs): only types cross from the trainer.
 */
import type { RunRecord } from '../protocol/runRecords';
import type { BackendChoice } from '../trainer/backend';
import type { BackendView, RunSummaryView } from './trainingView';

export function runSummaryView(r: RunRecord): RunSummaryView {
  return {
    status: r.status,
    ...(r.message !== undefined ? { message: r.message } : {}),
    params: r.params.total,
    added: r.params.added,
    addedPercent: r.params.addedPercent,
    final: { ...r.final },
    best: { ...r.best },
    stepMs: r.stepMs,
    samplesPerSec: r.samplesPerSec,
    peakBytes: r.peakBytes,
    steps: r.steps,
    ...(r.saved ? { savedDir: r.saved.dir } : {}),
  };
}

export function backendView(b: BackendChoice): BackendView {
  const wasm = b.name === 'wasm' ? ` (${b.simd ? 'SIMD' : 'no SIMD'}, ${b.threads ?? 1} thread${(b.threads ?? 1) === 1 ? '' : 's'})` : '';
  const skipped: BackendView['skipped'] = [];
  // `tried` is fastest first and stops at the one that loaded: the failures before it are the faster ones.
  for (const t of b.tried) {
    if (t.ok) break;
    skipped.push({ candidate: t.candidate, reason: t.reason ?? 'did not load' });
  }
  return { label: `${b.name}${wasm}`, skipped };
}

/**
 * The trainer's first log line of a job names the backend ("backend wasm (…); skipped tfjs-node: …"): the
 * panel shows it until the first run's record brings the structured choice.
 */
export function backendFromLog(message: string): BackendView | undefined {
  if (!message.startsWith('backend ')) return undefined;
  const text = message.slice('backend '.length);
  const cut = text.indexOf('; skipped ');
  const label = (cut < 0 ? text : text.slice(0, cut)).replace(/ \(.*$/, '');
  const skipped = cut < 0 ? [] : text.slice(cut + '; skipped '.length).split('; ').map((s) => {
    const i = s.indexOf(': ');
    return i < 0 ? { candidate: s, reason: '' } : { candidate: s.slice(0, i), reason: s.slice(i + 2) };
  });
  return { label, skipped, note: text };
}

/** The trainer's "data NAME, N samples…" log line, for the panel's header. */
export const dataFromLog = (message: string): string | undefined => (message.startsWith('data ') ? message.slice('data '.length) : undefined);

/** A mismatch the trainer reported (RpcError named DatasetMismatchError) and the adaptations it offers, in words. */
export function mismatchOffers(e: unknown): string[] | undefined {
  if (!(e instanceof Error) || e.name !== 'DatasetMismatchError') return undefined;
  const offers = (e as Error & { data?: { offers?: unknown } }).data?.offers;
  if (!Array.isArray(offers) || offers.length === 0) return undefined;
  return offers.map(describeAdaptation);
}

function describeAdaptation(a: unknown): string {
  if (typeof a !== 'object' || a === null) return String(a);
  const o = a as { kind?: unknown; to?: unknown; classes?: unknown };
  const kind = typeof o.kind === 'string' ? o.kind : '?';
  if (Array.isArray(o.to)) return `${kind} to ${o.to.join('×')}`;
  if (typeof o.to === 'number') return `${kind} to ${o.to}`;
  if (typeof o.classes === 'number') return `${kind} (${o.classes} classes)`;
  return kind;
}
