import * as assert from 'node:assert/strict';
import { isRpcMessage, RpcAbandonedError, RpcChannel, RpcError } from '../../src/protocol/rpcChannel';
import type { RpcMessage } from '../../src/protocol/rpcChannel';

interface Requests {
  add: { params: { a: number; b: number }; result: number };
  fail: { params: { why: string }; result: never };
  slow: { params: Record<string, never>; result: string };
  nothing: { params: null; result: void };
}
interface Notifications {
  tick: { n: number };
}

/** Two channels wired to each other through a (structured-clone-like) JSON hop, delivered asynchronously. */
function pair(opts: { timeoutMs?: number } = {}): { a: RpcChannel<Requests, Notifications>; b: RpcChannel<Requests, Notifications>; sent: RpcMessage[] } {
  const sent: RpcMessage[] = [];
  const hop = (to: () => RpcChannel<Requests, Notifications>) => (m: RpcMessage) => {
    sent.push(m);
    const copy: unknown = JSON.parse(JSON.stringify(m));
    setImmediate(() => to().receive(copy));
  };
  const a: RpcChannel<Requests, Notifications> = new RpcChannel(hop(() => b), opts);
  const b: RpcChannel<Requests, Notifications> = new RpcChannel(hop(() => a), opts);
  return { a, b, sent };
}

describe('RpcChannel', function () {
  it('answers typed requests and delivers notifications', async function () {
    const { a, b, sent } = pair();
    b.onRequest('add', ({ a: x, b: y }) => x + y);
    const ticks: number[] = [];
    b.onNotification('tick', ({ n }) => ticks.push(n));
    assert.equal(await a.request('add', { a: 2, b: 3 }), 5);
    a.notify('tick', { n: 7 });
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(ticks, [7]);
    assert.deepEqual(sent[0], { type: 'request', id: 1, method: 'add', params: { a: 2, b: 3 } });
    assert.deepEqual(sent[1], { type: 'reply', inReplyTo: 1, result: 5 });
  });

  it('rejects the caller with the handler error, its name and extra fields', async function () {
    const { a, b } = pair();
    b.onRequest('fail', ({ why }) => {
      throw Object.assign(new RangeError(why), { offers: ['resize=32x32'] });
    });
    await assert.rejects(a.request('fail', { why: 'shapes differ' }), (e: unknown) => {
      assert.ok(e instanceof RpcError);
      assert.equal(e.name, 'RangeError');
      assert.equal(e.message, 'shapes differ');
      assert.deepEqual(e.data, { offers: ['resize=32x32'] });
      assert.match(e.remoteStack ?? '', /RangeError: shapes differ/);
      return true;
    });
  });

  it('rejects a request nobody serves, and resolves void results sent over JSON', async function () {
    const { a, b } = pair();
    await assert.rejects(a.request('add', { a: 1, b: 1 }), /no handler for request 'add'/);
    b.onRequest('nothing', () => undefined);
    assert.equal(await a.request('nothing', null), undefined);
  });

  it('times out (channel default and per request) and ignores the late reply', async function () {
    const { a, b } = pair({ timeoutMs: 20 });
    let release: (v: string) => void = () => undefined;
    b.onRequest('slow', () => new Promise<string>((r) => (release = r)));
    await assert.rejects(a.request('slow', {}), (e: unknown) => e instanceof RpcAbandonedError && /no reply within 20 ms/.test(e.message));
    release('late'); // must not throw or resolve anything
    await new Promise((r) => setTimeout(r, 5));
    const p = a.request('slow', {}, { timeoutMs: 0 }); // none
    await new Promise((r) => setTimeout(r, 40));
    release('in time');
    assert.equal(await p, 'in time');
  });

  it('rejects every pending request on dispose and refuses new ones', async function () {
    const { a, b } = pair();
    b.onRequest('slow', () => new Promise<string>(() => undefined));
    const p1 = a.request('slow', {});
    const p2 = a.request('slow', {});
    await new Promise((r) => setImmediate(r));
    a.dispose();
    await assert.rejects(p1, RpcAbandonedError);
    await assert.rejects(p2, /abandoned: the channel was closed/);
    await assert.rejects(a.request('add', { a: 1, b: 2 }), /not sent: the channel is closed/);
    assert.equal(a.isDisposed, true);
  });

  it('rejects pending requests with the reason given to dispose', async function () {
    const { a, b } = pair();
    b.onRequest('slow', () => new Promise<string>(() => undefined));
    const p = a.request('slow', {});
    a.dispose(new Error('the trainer process exited with code 1'));
    await assert.rejects(p, /exited with code 1/);
  });

  it('rejects at once when post throws', async function () {
    const ch = new RpcChannel<Requests, Notifications>(() => {
      throw new Error('channel closed');
    });
    await assert.rejects(ch.request('add', { a: 1, b: 1 }), /channel closed/);
  });

  it('leaves non-RPC messages to the caller and reports them', function () {
    const problems: string[] = [];
    const ch = new RpcChannel<Requests, Notifications>(() => undefined, { onProblem: (p) => problems.push(p) });
    assert.equal(ch.receive({ type: 'hello' }), false);
    assert.equal(ch.receive('text'), false);
    assert.equal(ch.receive({ type: 'reply', inReplyTo: 99, result: 1 }), true); // unknown id: ignored
    assert.equal(problems.length, 2);
    assert.equal(isRpcMessage({ type: 'request', id: '1', method: 'x' }), false);
  });

  it('refuses a second handler for the same request and unregisters', async function () {
    const { a, b } = pair();
    const off = b.onRequest('add', ({ a: x, b: y }) => x + y);
    assert.throws(() => b.onRequest('add', () => 0), /already registered/);
    off();
    await assert.rejects(a.request('add', { a: 1, b: 1 }), /no handler/);
  });
});
