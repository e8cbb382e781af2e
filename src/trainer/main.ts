/**
 * The trainer child process (bundled to dist/trainer.js, forked by TrainerClient). It selects the backend
 * (`--backend X` or LAUREL_BACKEND, default auto), then serves TrainerRequests over process.send with
 * RpcChannel. One job at a time; `cancel` stops it after the batch in progress. It exits when the parent
 * goes away (the IPC channel disconnects).
 */
import { RpcChannel } from '../protocol/rpcChannel';
import type { TrainerNotifications, TrainerRequests } from '../protocol/trainerProtocol';
import { selectBackend } from './backend';
import type { BackendPreference } from './backend';
import type { BackendChoice } from '../protocol/backends';
import { compareJob, trainJob } from './jobs';
import type { JobContext } from './jobs';

const PREFERENCES: readonly BackendPreference[] = ['auto', 'tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'];

function preference(argv: string[], env: NodeJS.ProcessEnv): BackendPreference {
  const i = argv.indexOf('--backend');
  const value = (i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith('--backend='))?.slice('--backend='.length)) ?? env.LAUREL_BACKEND ?? 'auto';
  if (!(PREFERENCES as readonly string[]).includes(value)) throw new Error(`unknown backend '${value}'; expected ${PREFERENCES.join(', ')}`);
  return value as BackendPreference;
}

function describe(b: BackendChoice): string {
  const skipped = b.tried.filter((t) => !t.ok).map((t) => `${t.candidate}: ${t.reason}`);
  const note = b.tried.find((t) => t.ok)?.reason;
  const threads = b.threads ?? 1;
  const wasm = b.name === 'wasm' ? `, ${b.simd ? 'SIMD' : 'no SIMD'}, ${threads} thread${threads === 1 ? '' : 's'}${b.threadNote ? ` (${b.threadNote})` : ''}` : '';
  return `backend ${b.name} (${b.package}${wasm})${note ? `: ${note}` : ''}${skipped.length ? `; skipped ${skipped.join('; ')}` : ''}`;
}

function serve(): void {
  const send = process.send?.bind(process);
  if (!send) {
    console.error('dist/trainer.js is the trainer child process: run it through `laurel train` / `laurel compare` or the extension');
    process.exit(2);
  }
  const channel = new RpcChannel<TrainerRequests, TrainerNotifications>((msg) => void send(msg), {
    onProblem: (problem) => process.stderr.write(`trainer: ${problem}\n`),
  });
  process.on('message', (m) => channel.receive(m));
  process.on('disconnect', () => process.exit(0));

  let current: AbortController | null = null;
  const cancel = (): void => current?.abort();
  channel.onNotification('cancel', cancel);
  // Ctrl-C in a terminal reaches the whole process group: treat it as the cancel the parent also sends.
  process.on('SIGINT', cancel);

  let announced = false;
  const backend = (async (): Promise<BackendChoice> => selectBackend(preference(process.argv.slice(2), process.env)))();
  backend.catch(() => undefined); // reported by the first request

  const exclusive = async <T>(job: (ctx: JobContext) => Promise<T>): Promise<T> => {
    if (current) throw new Error('the trainer is busy with another job; cancel it first');
    const controller = new AbortController();
    current = controller;
    try {
      const b = await backend;
      if (!announced) {
        announced = true;
        channel.notify('log', { level: 'info', message: describe(b) });
      }
      return await job({
        backend: b,
        signal: controller.signal,
        sink: {
          batchEnd: (e) => channel.notify('batchEnd', e),
          epochEnd: (e) => channel.notify('epochEnd', e),
          log: (e) => channel.notify('log', e),
          runDone: (record) => channel.notify('runDone', { record }),
        },
      });
    } finally {
      current = null;
    }
  };
  channel.onRequest('train', (p) => exclusive((ctx) => trainJob(p, ctx)));
  channel.onRequest('compare', (p) => exclusive((ctx) => compareJob(p, ctx)));
}

serve();
