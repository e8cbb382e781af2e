import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { graphSnapshot } from '../../src/extension/graphSnapshot';
import { openModel, planModel, plannedBytes } from '../../src/core/model';
import type { GraphSnapshot } from '../../src/protocol/webviewProtocol';
import { layoutGraph } from '../../webview/layout';
import type { Box, ElkLike } from '../../webview/layout';
import { fixturePath } from './fixturePath';

const root = join(__dirname, '..', '..', '..');
const measure = (text: string, bold: boolean): number => text.length * (bold ? 7.5 : 7);

function planned(file: string, spec: string): GraphSnapshot {
  const m = openModel(file, readFileSync(file));
  return graphSnapshot(openModel(file, plannedBytes(m, planModel(m, spec))));
}

const overlap = (a: Box, b: Box): boolean => a.x < b.x + b.width - 0.5 && b.x < a.x + a.width - 0.5 && a.y < b.y + b.height - 0.5 && b.y < a.y + a.height - 0.5;

describe('graph variant labels', function () {
  this.timeout(120_000);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ELK = require('elkjs/lib/elk.bundled.js') as new () => ElkLike;
  for (const [name, file, spec] of [
    ['resnet-mini rw+lr+pa', join(root, 'examples', 'resnet-mini.json'), 'all=rw+lr+pa:r=8'],
    ['ResNet-50 rw+lr', fixturePath('tfjs-legacy-resnet50-tensorspace.json'), 'all=rw+lr:r=8'],
    ['ResNet1D gemma', fixturePath('keras3-resnet1d-dotkeras-config.json'), 'all=gemma:r=4'],
  ]) {
    for (const shapes of [false, true]) {
      it(`${name}${shapes ? ', shapes shown' : ''}: every switched residual is labelled, clear of every box and every other label`, async () => {
        const g = planned(file!, spec!);
        const l = await layoutGraph(new ELK(), g, measure, { edgeShapes: shapes });
        const boxes = [...l.nodes.values()].filter((n) => !n.node.group);
        const switched = g.sites.filter((s) => s.current.variant !== 'plain');
        assert.equal(switched.length, g.sites.length, 'the plan switched every site');
        const labels: (Box & { text: string; edge: string })[] = [];
        for (const e of g.edges) {
          const label = l.edges.get(e.id)!.label;
          const site = e.residual === undefined ? undefined : g.sites.find((s) => s.id === e.residual);
          if (!shapes && !site) {
            assert.equal(label, undefined, `${e.id}: no shape label unless asked`);
            continue;
          }
          assert.ok(label, `${e.id} is labelled`);
          assert.equal(label.text, site ? (shapes ? `${site.current.label} · ${e.shape}` : site.current.label) : e.shape);
          labels.push({ ...label, edge: e.id });
        }
        for (const lab of labels) {
          for (const b of boxes) assert.ok(!overlap(lab, b), `${lab.edge}'s label '${lab.text}' overlaps box ${b.node.id}`);
        }
        for (let i = 0; i < labels.length; i++) {
          for (let j = i + 1; j < labels.length; j++) assert.ok(!overlap(labels[i]!, labels[j]!), `labels of ${labels[i]!.edge} and ${labels[j]!.edge} overlap`);
        }
      });
    }
  }
});
