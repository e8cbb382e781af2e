/**
 * One transport-agnostic request/notification channel (style-anchors §4.2) for host↔trainer and, later,
 * host↔webview. It never touches a transport itself: the owner injects `post` and feeds every incoming
 * message to `receive`, so the same class runs over `process.send`, `postMessage` or an in-memory pair.
 *
 * Both ends share one request map and one notification map; each end registers handlers only for what
 * it serves. Unlike hexeditor's MessageHandler, a failed handler replies `{inReplyTo, error}` and the
 * caller's promise rejects; `dispose()` (and a timeout) reject pending requests instead of leaving them
 * hanging.
 */

/** Method name → its params and result, e.g. `{ train: { params: TrainParams; result: RunRecord } }` (interfaces welcome). */
export type RequestMap<T> = { [K in keyof T]: { params: unknown; result: unknown } };

/** A request; the peer answers with a reply carrying `inReplyTo: id`. */
export interface RequestMessage {
  type: 'request';
  id: number;
  method: string;
  params: unknown;
}

/** An error as it crosses the wire (Error objects do not survive JSON or every structured clone). */
export interface WireError {
  name: string;
  message: string;
  stack?: string;
  /** The error's own enumerable fields (e.g. `offers` of a dataset mismatch), when JSON-safe. */
  data?: Record<string, unknown>;
}

export type ReplyMessage = { type: 'reply'; inReplyTo: number; result: unknown } | { type: 'reply'; inReplyTo: number; error: WireError };

/** A one-way message; no reply. */
export interface NotificationMessage {
  type: 'notification';
  method: string;
  params: unknown;
}

export type RpcMessage = RequestMessage | ReplyMessage | NotificationMessage;

/** A request the peer answered with an error; `name`, `data` and the remote stack are the peer's. */
export class RpcError extends Error {
  readonly data: Record<string, unknown> | undefined;
  readonly remoteStack: string | undefined;

  constructor(wire: WireError) {
    super(wire.message);
    this.name = wire.name || 'Error';
    this.data = wire.data;
    this.remoteStack = wire.stack;
  }
}

/** A request that got no reply in time, or was pending when the channel was disposed. */
export class RpcAbandonedError extends Error {
  override readonly name = 'RpcAbandonedError';
}

export interface RpcChannelOptions {
  /** Default time a request may wait for its reply (ms); none when absent. */
  timeoutMs?: number;
  /** Called for incoming messages that are not RPC messages, and for handler errors of notifications. */
  onProblem?: (problem: string, detail?: unknown) => void;
}

export interface RequestOptions {
  /** Overrides the channel's default timeout for this request; 0 or Infinity means none. */
  timeoutMs?: number;
}

interface Pending {
  method: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

type RequestHandler<P, R> = (params: P) => R | Promise<R>;
type NotificationHandler<P> = (params: P) => void;

export function toWireError(e: unknown): WireError {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e) };
  const out: WireError = { name: e.name, message: e.message };
  if (e.stack) out.stack = e.stack;
  const own = Object.fromEntries(Object.entries(e).filter(([k]) => k !== 'name' && k !== 'message' && k !== 'stack'));
  if (Object.keys(own).length) {
    try {
      out.data = JSON.parse(JSON.stringify(own)) as Record<string, unknown>;
    } catch {
      // Cyclic or otherwise unserialisable extras: the message still says what went wrong.
    }
  }
  return out;
}

/** Narrows an incoming value to an RPC message (untrusted input: a webview or a child process). */
export function isRpcMessage(m: unknown): m is RpcMessage {
  if (typeof m !== 'object' || m === null) return false;
  const r = m as Record<string, unknown>;
  switch (r.type) {
    case 'request':
      return typeof r.id === 'number' && typeof r.method === 'string';
    case 'reply':
      // JSON drops `result: undefined`, so a reply without either key is a void result.
      return typeof r.inReplyTo === 'number' && (r.error === undefined || (typeof r.error === 'object' && r.error !== null));
    case 'notification':
      return typeof r.method === 'string';
    default:
      return false;
  }
}

/** `TNotifications`: method name → its params. */
export class RpcChannel<TRequests extends RequestMap<TRequests>, TNotifications extends object> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly requestHandlers = new Map<string, RequestHandler<never, unknown>>();
  private readonly notificationHandlers = new Map<string, Set<NotificationHandler<never>>>();
  private disposed = false;

  constructor(
    private readonly post: (msg: RpcMessage) => void,
    private readonly options: RpcChannelOptions = {},
  ) {}

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Sends a request; resolves with the peer's result, rejects with its error, a timeout or dispose. */
  request<K extends keyof TRequests & string>(method: K, params: TRequests[K]['params'], opts: RequestOptions = {}): Promise<TRequests[K]['result']> {
    if (this.disposed) return Promise.reject(new RpcAbandonedError(`'${method}' not sent: the channel is closed`));
    const id = this.nextId++;
    return new Promise<TRequests[K]['result']>((resolve, reject) => {
      const timeoutMs = opts.timeoutMs ?? this.options.timeoutMs;
      const timer =
        timeoutMs && Number.isFinite(timeoutMs)
          ? setTimeout(() => {
              this.pending.delete(id);
              reject(new RpcAbandonedError(`'${method}' got no reply within ${timeoutMs} ms`));
            }, timeoutMs)
          : undefined;
      this.pending.set(id, { method, resolve: resolve as (v: unknown) => void, reject, timer });
      try {
        this.post({ type: 'request', id, method, params });
      } catch (e) {
        this.settle(id);
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  }

  /** Sends a notification; silently dropped once the channel is disposed. */
  notify<K extends keyof TNotifications & string>(method: K, params: TNotifications[K]): void {
    if (this.disposed) return;
    this.post({ type: 'notification', method, params });
  }

  /** Serves `method` for the peer; one handler per method. The returned function unregisters it. */
  onRequest<K extends keyof TRequests & string>(method: K, handler: RequestHandler<TRequests[K]['params'], TRequests[K]['result']>): () => void {
    if (this.requestHandlers.has(method)) throw new Error(`a handler for '${method}' is already registered`);
    this.requestHandlers.set(method, handler as RequestHandler<never, unknown>);
    return () => {
      if (this.requestHandlers.get(method) === handler) this.requestHandlers.delete(method);
    };
  }

  /** Listens to a notification from the peer; several listeners may share a method. */
  onNotification<K extends keyof TNotifications & string>(method: K, handler: NotificationHandler<TNotifications[K]>): () => void {
    let set = this.notificationHandlers.get(method);
    if (!set) this.notificationHandlers.set(method, (set = new Set()));
    set.add(handler as NotificationHandler<never>);
    return () => void set.delete(handler as NotificationHandler<never>);
  }

  /** Feeds one incoming message. Returns false for anything that is not an RPC message (left to the caller). */
  receive(msg: unknown): boolean {
    if (!isRpcMessage(msg)) {
      this.options.onProblem?.('ignored a message that is not an RPC message', msg);
      return false;
    }
    if (this.disposed) return true;
    if (msg.type === 'reply') this.onReply(msg);
    else if (msg.type === 'request') void this.onRequestMessage(msg);
    else this.onNotificationMessage(msg);
    return true;
  }

  /** Rejects every pending request (with `reason` when given), drops handlers, and stops sending. */
  dispose(reason?: Error): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const [id, p] of [...this.pending]) {
      this.settle(id);
      p.reject(reason ?? new RpcAbandonedError(`'${p.method}' abandoned: the channel was closed before the reply`));
    }
    this.requestHandlers.clear();
    this.notificationHandlers.clear();
  }

  private settle(id: number): Pending | undefined {
    const p = this.pending.get(id);
    if (!p) return undefined;
    this.pending.delete(id);
    if (p.timer) clearTimeout(p.timer);
    return p;
  }

  private onReply(msg: ReplyMessage): void {
    const p = this.settle(msg.inReplyTo);
    if (!p) return; // timed out already, or not ours
    if ('error' in msg && msg.error) p.reject(new RpcError(msg.error));
    else p.resolve((msg as { result?: unknown }).result);
  }

  private async onRequestMessage(msg: RequestMessage): Promise<void> {
    const handler = this.requestHandlers.get(msg.method);
    let reply: ReplyMessage;
    if (!handler) {
      reply = { type: 'reply', inReplyTo: msg.id, error: { name: 'Error', message: `no handler for request '${msg.method}'` } };
    } else {
      try {
        reply = { type: 'reply', inReplyTo: msg.id, result: await handler(msg.params as never) };
      } catch (e) {
        reply = { type: 'reply', inReplyTo: msg.id, error: toWireError(e) };
      }
    }
    if (this.disposed) return;
    try {
      this.post(reply);
    } catch (e) {
      this.options.onProblem?.(`could not send the reply to '${msg.method}'`, e);
    }
  }

  private onNotificationMessage(msg: NotificationMessage): void {
    for (const h of this.notificationHandlers.get(msg.method) ?? []) {
      try {
        h(msg.params as never);
      } catch (e) {
        this.options.onProblem?.(`the '${msg.method}' listener threw`, e);
      }
    }
  }
}
