import assert from 'node:assert/strict';
import { PROTOCOL_LIMITS, validateWebviewMessage } from '../../src/protocol/webviewProtocol';

describe('webview protocol: validateWebviewMessage', () => {
  it('accepts every well-formed message and keeps only the known fields', () => {
    assert.deepEqual(validateWebviewMessage({ type: 'ready', extra: 1 }), { type: 'ready' });
    assert.deepEqual(validateWebviewMessage({ type: 'applyVariant', siteIds: ['add_1', 'block/add_2'], variant: 'rw+lr', rank: 8, k: 2, evil: true }), {
      type: 'applyVariant',
      siteIds: ['add_1', 'block/add_2'],
      variant: 'rw+lr',
      rank: 8,
      k: 2,
    });
    assert.deepEqual(validateWebviewMessage({ type: 'applyVariant', siteIds: ['a', 'a'], variant: 'plain' }), { type: 'applyVariant', siteIds: ['a'], variant: 'plain' });
    assert.deepEqual(validateWebviewMessage({ type: 'reveal', layer: 'conv1' }), { type: 'reveal', layer: 'conv1' });
    assert.deepEqual(validateWebviewMessage({ type: 'reveal', layer: 'c_attn', line: 56, extra: 1 }), { type: 'reveal', layer: 'c_attn', line: 56 });
    assert.deepEqual(validateWebviewMessage({ type: 'exportImage', format: 'svg', data: '<svg xmlns="http://www.w3.org/2000/svg"></svg>' })?.type, 'exportImage');
    assert.deepEqual(validateWebviewMessage({ type: 'exportImage', format: 'png', data: 'data:image/png;base64,iVBORw0KGgo=' })?.type, 'exportImage');
  });

  it('rejects what is not an object with a known type', () => {
    for (const x of [undefined, null, 0, 'ready', [], [{ type: 'ready' }], {}, { type: 3 }, { type: 'READY' }, { type: 'applyPlan' }, { type: '__proto__' }, { type: 'toString' }]) {
      assert.equal(validateWebviewMessage(x), undefined, JSON.stringify(x));
    }
  });

  it('applyVariant: missing or mistyped fields, unknown variants, bad rank and k', () => {
    const ok = { type: 'applyVariant', siteIds: ['add_1'], variant: 'lr' };
    const bad: unknown[] = [
      { ...ok, siteIds: undefined },
      { ...ok, siteIds: 'add_1' },
      { ...ok, siteIds: [] },
      { ...ok, siteIds: [1] },
      { ...ok, siteIds: [''] },
      { ...ok, siteIds: [null] },
      { ...ok, siteIds: ['x'.repeat(PROTOCOL_LIMITS.maxIdLength + 1)] },
      { ...ok, variant: undefined },
      { ...ok, variant: 'LR' },
      { ...ok, variant: 'lr+rw' },
      { ...ok, variant: ['lr'] },
      { ...ok, rank: 0 },
      { ...ok, rank: -4 },
      { ...ok, rank: 2.5 },
      { ...ok, rank: '16' },
      { ...ok, rank: Number.NaN },
      { ...ok, rank: Infinity },
      { ...ok, rank: PROTOCOL_LIMITS.maxRank + 1 },
      { ...ok, k: 0 },
      { ...ok, k: null },
      { ...ok, k: PROTOCOL_LIMITS.maxK + 1 },
    ];
    for (const x of bad) assert.equal(validateWebviewMessage(x), undefined, JSON.stringify(x));
    assert.ok(validateWebviewMessage(ok));
  });

  it('applyVariant: huge arrays are refused without walking them', () => {
    const huge = new Array(PROTOCOL_LIMITS.maxSiteIds + 1).fill('add_1');
    assert.equal(validateWebviewMessage({ type: 'applyVariant', siteIds: huge, variant: 'rw' }), undefined);
    const sparse: unknown[] = [];
    sparse.length = 1e9;
    assert.equal(validateWebviewMessage({ type: 'applyVariant', siteIds: sparse, variant: 'rw' }), undefined);
    assert.ok(validateWebviewMessage({ type: 'applyVariant', siteIds: huge.slice(1), variant: 'rw' }));
  });

  it('reveal and exportImage: wrong types, formats and payloads', () => {
    for (const x of [
      { type: 'reveal' },
      { type: 'reveal', layer: 5 },
      { type: 'reveal', layer: '' },
      { type: 'reveal', layer: { name: 'x' } },
      { type: 'reveal', layer: 'x', line: 0 },
      { type: 'reveal', layer: 'x', line: 2.5 },
      { type: 'reveal', layer: 'x', line: '56' },
      { type: 'reveal', layer: 'x', line: 1e9 },
      { type: 'exportImage', format: 'jpg', data: 'x' },
      { type: 'exportImage', format: 'svg' },
      { type: 'exportImage', format: 'svg', data: '' },
      { type: 'exportImage', format: 'svg', data: 'hello' },
      { type: 'exportImage', format: 'svg', data: 42 },
      { type: 'exportImage', format: 'png', data: '<svg></svg>' },
      { type: 'exportImage', format: 'png', data: 'data:image/png;base64,@@@' },
      { type: 'exportImage', format: 'png', data: 'data:text/html;base64,AAAA' },
      { type: 'exportImage', format: 'png', data: 'data:image/png;base64,' + 'A'.repeat(PROTOCOL_LIMITS.maxImageChars) },
    ]) {
      assert.equal(validateWebviewMessage(x), undefined, JSON.stringify(x).slice(0, 80));
    }
  });
});
