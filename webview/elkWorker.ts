// ELK in a Web Worker, so the view stays responsive while a large graph is laid out, and a layout that a
// newer snapshot supersedes is cancelled by ending its worker. The worker's script (elkjs's elk-worker,
// bundled as text) starts from a blob: URL: a webview cannot start a worker from its resource URLs.
import ELK from 'elkjs/lib/elk-api.js';
import workerSource from 'elk-worker-source';
import type { ElkLike } from './layout';

type ElkNode = Parameters<ElkLike['layout']>[0];

interface ElkApi extends ElkLike {
  terminateWorker(): void;
}

/** The layout was cancelled: a newer one replaced it. */
export class LayoutCancelled extends Error {
  override readonly name = 'LayoutCancelled';
}

let url: string | undefined;

function newElk(): ElkApi {
  url ??= URL.createObjectURL(new Blob([workerSource], { type: 'text/javascript' }));
  return new ELK({ workerUrl: url, workerFactory: (u?: string) => new Worker(u ?? url!) }) as unknown as ElkApi;
}

/** One layout at a time: starting one cancels the one still running (its worker ends; a fresh one starts). */
export class WorkerElk implements ElkLike {
  private elk?: ElkApi;
  private running?: (e: Error) => void;

  layout(graph: ElkNode): Promise<ElkNode> {
    this.cancel();
    const elk = (this.elk ??= newElk());
    return new Promise<ElkNode>((resolve, reject) => {
      this.running = reject;
      elk.layout(graph).then(
        (out) => {
          if (this.running === reject) this.running = undefined;
          resolve(out);
        },
        (e: unknown) => {
          if (this.running === reject) this.running = undefined;
          reject(e instanceof Error ? e : new Error(String((e as { message?: unknown })?.message ?? e)));
        },
      );
    });
  }

  /**
   * Starts the worker and has it lay out one box, while the snapshot is on its way: the worker's script
   * (1.6 MB of ELK) is parsed and compiled by then. Not cancelled by the first real layout, which queues behind it.
   */
  warm(): void {
    const elk = (this.elk ??= newElk());
    elk.layout({ id: 'warm', children: [{ id: 'a', width: 10, height: 10 }], edges: [] }).catch(() => undefined);
  }

  /** Ends the running layout, if any: its promise rejects with LayoutCancelled. */
  cancel(): void {
    const reject = this.running;
    if (!reject) return;
    this.running = undefined;
    this.elk?.terminateWorker();
    this.elk = undefined;
    reject(new LayoutCancelled('superseded by a newer layout'));
  }
}
