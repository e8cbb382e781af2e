import assert from 'node:assert/strict';
import { synthModelText } from '../../bench/synthModels';
import { openModel } from '../../src/core/model';
import { graphSnapshot } from '../../src/extension/graphSnapshot';
import type { GraphSnapshot } from '../../src/protocol/webviewProtocol';
import { foldLarge } from '../../webview/foldTree';
import { foldedGroups, foldGroups } from '../../webview/groupFold';
import type { ElkLike, GraphLayout } from '../../webview/layout';
import { LevelLayout } from '../../webview/levelLayout';

// Layout by level (webview/levelLayout.ts) with the real elkjs in Node: every box inside its group, every edge
// one connected route from its source's box to its target's, and an unfold lays out only its group's level
// and those above it.

// eslint-disable-next-line @typescript-eslint/no-require-imports
const ELK = require('elkjs/lib/elk.bundled.js') as new () => ElkLike;
const measure = (text: string, bold: boolean): number => text.length * (bold ? 7.5 : 7);
const on = (p: { x: number; y: number }, b: { x: number; y: number; width: number; height: number }): boolean =>
  p.x >= b.x - 1 && p.x <= b.x + b.width + 1 && p.y >= b.y - 1 && p.y <= b.y + b.height + 1;

function check(g: GraphSnapshot, l: GraphLayout): void {
  assert.equal(l.nodes.size, g.nodes.length, 'every box laid out');
  for (const n of l.nodes.values()) {
    const p = n.node.parent === undefined ? { x: 0, y: 0, width: l.width, height: l.height } : l.nodes.get(n.node.parent)!;
    assert.ok(on({ x: n.x, y: n.y }, p) && on({ x: n.x + n.width, y: n.y + n.height }, p), `${n.node.id} inside ${n.node.parent ?? 'the graph'}`);
  }
  for (const e of g.edges) {
    const pts = l.edges.get(e.id)!.points;
    assert.ok(pts.length >= 2, `${e.id} routed`);
    assert.ok(on(pts[0]!, l.nodes.get(e.from)!), `${e.id} starts on ${e.from}`);
    assert.ok(on(pts.at(-1)!, l.nodes.get(e.to)!), `${e.id} ends on ${e.to}`);
    // Pieces meet: consecutive points are joined by horizontal or vertical steps (orthogonal routing, ports at the same x).
    for (let i = 1; i < pts.length; i++) {
      const a = pts[i - 1]!;
      const b = pts[i]!;
      assert.ok(Math.abs(a.x - b.x) < 1.5 || Math.abs(a.y - b.y) < 1.5, `${e.id}: a step from (${a.x}, ${a.y}) to (${b.x}, ${b.y})`);
    }
  }
}

describe('layout by level (elkjs in Node)', function () {
  this.timeout(120_000);

  it('a folded 2,000-layer model, then one block unfolded: only that level and those above it are laid out again', async () => {
    const src = graphSnapshot(openModel('synth.json', new TextEncoder().encode(synthModelText({ layers: 2000, block: 'conv' }))));
    const g = foldLarge(src);
    const levels = new LevelLayout();
    const elk = new ELK();
    const first = foldGroups(g, foldedGroups(g, new Set()));
    check(first, await levels.layout(elk, first, measure));
    const opened = new Set(first.nodes.filter((n) => n.group).map((n) => n.id));
    assert.equal(levels.laidOut.length, opened.size + 1, 'every open group and the top');

    // Unfold the fourth repeat and its first block: its residual edge is drawn, from the fork outside the block to its add.
    const unit = first.nodes.filter((n) => n.folded)[3]!;
    const block = g.nodes.find((n) => n.parent === unit.id)!;
    const toggles = new Set([unit.id, block.id]);
    const next = foldGroups(g, foldedGroups(g, toggles));
    const l = await levels.layout(elk, next, measure);
    check(next, l);
    const chain: string[] = [];
    for (let p: string | undefined = block.id; p !== undefined; p = next.nodes.find((n) => n.id === p)!.parent) chain.push(p);
    assert.deepEqual(levels.laidOut, [...chain, ''], 'the block, its repeat, the run, the top');
    const site = next.edges.find((e) => e.residual && next.nodes.find((n) => n.id === e.to)!.parent === block.id)!;
    assert.ok(site, 'the block\'s residual edge');
    assert.ok(next.nodes.find((n) => n.id === site.from)!.parent !== block.id, 'it comes from outside the block (the fork)');
    assert.ok(l.edges.get(site.id)!.points.length >= 4, 'in pieces across the borders');

    // Shapes on the edges: every level's input changes, the labels sit on the last piece.
    const shaped = await levels.layout(elk, next, measure, { edgeShapes: true });
    check(next, shaped);
    assert.ok(next.edges.every((e) => shaped.edges.get(e.id)!.label?.text === e.shape), 'every edge labelled with its shape');
  });
});
