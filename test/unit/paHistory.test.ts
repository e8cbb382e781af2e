import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { earlierSameShape, paTermsAt, previousActivations } from '../../src/core/laurel/history';
import { openModel } from '../../src/core/model';
import type { OpenModel } from '../../src/core/model';
import { synthModelText } from '../../bench/synthModels';
import { fixturePath } from './fixturePath';

/** The definition, by brute force: earlier sites of the same graph and shape, in list order. */
const earlier = (m: OpenModel, i: number) => m.sites.slice(0, i).filter((s) => s.scope.join('/') === m.sites[i]!.scope.join('/') && JSON.stringify(s.shape) === JSON.stringify(m.sites[i]!.shape));

describe('PA history (grouped once per site list) against its definition', () => {
  const models: [string, OpenModel][] = [
    ['tfjs-legacy-resnet50-tensorspace.json (four stages of different shapes)', openModel('r50.json', readFileSync(fixturePath('tfjs-legacy-resnet50-tensorspace.json')))],
    ['keras-resnet18-custom-doubleencoded.json', openModel('r18.json', readFileSync(fixturePath('keras-resnet18-custom-doubleencoded.json')))],
    ['a synthetic 600-layer dense chain', openModel('d.json', new TextEncoder().encode(synthModelText({ layers: 600, block: 'dense' })))],
  ];
  for (const [name, m] of models) {
    it(name, () => {
      assert.ok(m.sites.length > 5);
      m.sites.forEach((site, i) => {
        const want = earlier(m, i);
        assert.deepEqual(earlierSameShape(site, m.sites), want, site.id);
        for (const k of [1, 2, 3, 7]) assert.equal(paTermsAt(site, m.sites, k), Math.min(k, 1 + want.length), `${site.id} k=${k}`);
        const got = previousActivations(site, m.sites, m.doc.graph, 3);
        const expected = want.reverse().slice(0, 3).map((s) => {
          const n = m.doc.graph.nodes.find((x) => x.id === s.shortcut.node)!;
          return { layer: n.layer, callIndex: n.callIndex, index: s.shortcut.index };
        });
        assert.deepEqual(got, expected, site.id);
      });
    });
  }

  it('a list changed after it was grouped is grouped again', () => {
    const m = models[2]![1];
    const list = m.sites.slice(0, 10);
    assert.equal(paTermsAt(list[9]!, list, 50), 10);
    list.push(m.sites[10]!);
    assert.equal(paTermsAt(list[10]!, list, 50), 11);
  });
});
