// Large graphs open folded, level by level, so the first view holds about a hundred boxes whatever the
// model's size (ELK's layered layout grows faster than linearly: 2,000 boxes took seconds). Every level (the
// top, a nested model, a module call, and each group made here) with more than FOLD.level boxes is
// structured in turn:
//   1. blocks: the level's boxes in topological order are cut where no edge passes over a box (the box is a
//      bottleneck every path goes through); the boxes between two cuts (a residual block) become one group;
//   2. runs: consecutive items of the same structure (a pattern of 1 to FOLD.period items: 16 identical
//      blocks, or ResNet's "7 identity blocks and a projection" repeated 40 times) become one group "×N";
//   3. parts: what is still too long is cut into consecutive parts.
// The made groups start folded; the view's fold toggles open them one at a time. DOM-free (tested in Node).
import type { GraphNode, GraphSnapshot } from '../src/protocol/webviewProtocol';

/** Ids of the groups made here start with this (the view folds and unfolds them like a .py model's groups). */
export const FOLD_PREFIX = 'fold:';

export const FOLD = {
  /** A graph showing more boxes than this at first (its own folds applied) is structured. */
  auto: 300,
  /** Most boxes a level shows once structured. */
  level: 100,
  /** Longest repeated pattern looked for, in items. */
  period: 16,
  /** Made groups open at first, breadth first, while the view stays within this many boxes (a run's repeats stay folded). */
  open: 60,
  /** A run of this many identical groups (a .py model's folded Blocks) folds into one box at any size. */
  groupRun: 4,
};
export type FoldLimits = typeof FOLD;

interface Level {
  /** The level's items (direct children) in order. */
  items: string[];
  /** Per item, the items at this level it reads from (-1: from outside the level). */
  inputs: number[][];
  /** Per item, whether it feeds something outside the level. */
  leaves: boolean[];
}

/** Builds the folded hierarchy; returns `g` itself when nothing needs folding. */
export function foldLarge(g: GraphSnapshot, limits: Partial<FoldLimits> = {}): GraphSnapshot {
  return new FoldBuilder(g, { ...FOLD, ...limits }).build();
}

class FoldBuilder {
  private readonly byId: Map<string, GraphNode>;
  private readonly children = new Map<string | undefined, string[]>();
  private readonly parent = new Map<string, string | undefined>();
  private readonly made = new Map<string, GraphNode>();
  private readonly sigOf = new Map<string, number>();
  private readonly interned = new Map<string, number>();
  /** Groups whose items are one repeated unit: never searched for repeats again. */
  private readonly runs = new Set<string>();
  private readonly leaves = new Map<string, number>();
  private inputsOf?: Map<string, string[]>;
  private outputsOf?: Map<string, string[]>;
  /** Leaf signatures by class, output shape and parameters (nested maps: no key strings to build). */
  private readonly leafSigs = new Map<string, Map<string, Map<number | null, number>>>();
  private changed = false;

  constructor(
    private readonly g: GraphSnapshot,
    private readonly L: FoldLimits,
  ) {
    this.byId = new Map(g.nodes.map((n) => [n.id, n]));
    for (const n of g.nodes) {
      this.parent.set(n.id, n.parent);
      this.list(n.parent).push(n.id);
    }
  }

  /** Edges by end, built when a level is first structured. */
  private edgeMaps(): { inputsOf: Map<string, string[]>; outputsOf: Map<string, string[]> } {
    if (!this.inputsOf || !this.outputsOf) {
      const inputsOf = new Map<string, string[]>();
      const outputsOf = new Map<string, string[]>();
      for (const e of this.g.edges) {
        const i = inputsOf.get(e.to);
        if (i) i.push(e.from);
        else inputsOf.set(e.to, [e.from]);
        const o = outputsOf.get(e.from);
        if (o) o.push(e.to);
        else outputsOf.set(e.from, [e.to]);
      }
      this.inputsOf = inputsOf;
      this.outputsOf = outputsOf;
    }
    return { inputsOf: this.inputsOf, outputsOf: this.outputsOf };
  }

  build(): GraphSnapshot {
    const large = this.visibleCount() > this.L.auto;
    const visit = (c: string | undefined): void => {
      const items = this.children.get(c) ?? [];
      if (items.length > this.L.level && large) this.structure(c);
      else if (items.length >= this.L.groupRun) this.groupRuns(c);
      for (const id of [...(this.children.get(c) ?? [])]) if (this.children.has(id)) visit(id);
    };
    visit(undefined);
    if (!this.changed) return this.g;
    this.openSmall();
    const nodes: GraphNode[] = [];
    const emit = (c: string | undefined): void => {
      for (const id of this.children.get(c) ?? []) {
        const n = this.node(id);
        const parent = this.parent.get(id);
        if (n.parent === parent) nodes.push(n);
        else {
          const copy = { ...n };
          if (parent === undefined) delete copy.parent;
          else copy.parent = parent;
          nodes.push(copy);
        }
        emit(id);
      }
    };
    emit(undefined);
    return { ...this.g, nodes };
  }

  /** Opens made groups, shallowest first, while the first view stays small; the repeats of a run stay folded. */
  private openSmall(): void {
    let shown = this.visibleCount();
    let queue = [...this.list(undefined)];
    while (queue.length) {
      const next: string[] = [];
      for (const id of queue) {
        const n = this.made.get(id);
        const kids = this.children.get(id);
        if (!kids || (!n && this.byId.get(id)?.folded)) continue;
        if (n) {
          // Open, the group is drawn around what it holds: its box stays.
          if (this.runs.has(this.parent.get(id) ?? '') || shown + kids.length > this.L.open) continue;
          n.folded = false;
          shown += kids.length;
        }
        next.push(...kids);
      }
      queue = next;
    }
  }

  private list(c: string | undefined): string[] {
    let l = this.children.get(c);
    if (!l) this.children.set(c, (l = []));
    return l;
  }

  /** Boxes shown with the snapshot's own folds (a .py model's repeated blocks start folded). */
  private visibleCount(): number {
    let n = 0;
    const walk = (c: string | undefined): void => {
      for (const id of this.children.get(c) ?? []) {
        n++;
        if (!this.node(id).folded) walk(id);
      }
    };
    walk(undefined);
    return n;
  }

  private structure(c: string | undefined): void {
    if (!this.runs.has(c ?? '')) {
      this.blocks(c);
      for (let i = 0; i < 3 && this.list(c).length > this.L.level; i++) if (!this.repeats(c, 2, false)) break;
    }
    this.parts(c);
  }

  /** Items of a level, edges between them lifted from the nodes inside. */
  private level(c: string | undefined): Level {
    const items = this.list(c);
    const index = new Map<string, number>();
    const inside = (id: string, i: number): void => {
      index.set(id, i);
      for (const k of this.children.get(id) ?? []) inside(k, i);
    };
    items.forEach((id, i) => inside(id, i));
    const { inputsOf, outputsOf } = this.edgeMaps();
    const inputs: number[][] = items.map(() => []);
    const leaves = items.map(() => false);
    for (const [id, i] of index) {
      const from = inputsOf.get(id);
      if (from) {
        for (const s of from) {
          const j = index.get(s) ?? -1;
          if (j !== i && !inputs[i]!.includes(j)) inputs[i]!.push(j);
        }
      }
      const to = outputsOf.get(id);
      if (to && !leaves[i]) for (const t of to) if (!index.has(t)) leaves[i] = true;
    }
    return { items, inputs, leaves };
  }

  /** Step 1: the boxes between two cuts as one group each. */
  private blocks(c: string | undefined): void {
    const { items, inputs, leaves } = this.level(c);
    const m = items.length;
    // cover[i] > 0: some edge passes over item i (from before it to after it).
    const diff = new Int32Array(m + 2);
    inputs.forEach((from, b) => {
      for (const a of from) if (b - a > 1) (diff[a + 1]! += 1), (diff[b]! -= 1);
    });
    leaves.forEach((out, a) => {
      if (out && a < m - 1) (diff[a + 1]! += 1), (diff[m]! -= 1);
    });
    const segments: number[][] = [];
    let seg: number[] = [];
    for (let i = 0, cover = 0; i < m; i++) {
      cover += diff[i]!;
      seg.push(i);
      if (cover === 0) segments.push(seg), (seg = []);
    }
    if (seg.length) segments.push(seg);
    if (segments.length < 2 || segments.length === m) return;
    const out: string[] = [];
    for (const s of segments) {
      if (s.length === 1) {
        out.push(items[s[0]!]!);
        continue;
      }
      const start = s[0]!;
      // Its structure: each member's kind and where its inputs come from, relative to it.
      const sig = s.map((i) => `${this.sig(items[i]!)}<${inputs[i]!.map((a) => (a < start ? 'o' : i - a)).sort().join(',')}`).join(';');
      out.push(this.group(c, s.map((i) => items[i]!), 'blk', `B${sig}`, (ms) => ({ layer: blockName(ms), className: '' })));
    }
    this.children.set(c, out);
  }

  /**
   * Step 2: runs of a repeated pattern as one group (each repeat a group of its own when the pattern is
   * longer than one item). `min` repeats at least; `groupsOnly`: only runs of groups.
   */
  private repeats(c: string | undefined, min: number, groupsOnly: boolean): boolean {
    const items = this.list(c);
    const sig = items.map((id) => this.sig(id));
    const out: string[] = [];
    let folded = false;
    for (let i = 0; i < items.length; ) {
      let best = { p: 0, n: 1 };
      for (let p = 1; p <= this.L.period && i + 2 * p <= items.length; p++) {
        let n = 1;
        while (i + (n + 1) * p <= items.length && sameRange(sig, i, i + n * p, p)) n++;
        if (n >= min && n * p > best.n * best.p) best = { p, n };
      }
      const { p, n } = best;
      const covered = items.slice(i, i + n * p);
      // groupsOnly: the groups of the snapshot (a .py model's Blocks), not those made here.
      if (p === 0 || (groupsOnly && !covered.every((id) => this.byId.get(id)?.group)) || covered.length === items.length) {
        out.push(items[i]!);
        i++;
        continue;
      }
      const units: string[] = [];
      for (let r = 0; r < n; r++) {
        const unit = covered.slice(r * p, (r + 1) * p);
        units.push(p === 1 ? unit[0]! : this.group(c, unit, 'u', `U${unit.map((id) => this.sig(id)).join(';')}`, (ms) => ({ layer: rangeName(ms), className: '' })));
      }
      const unitNode = this.node(units[0]!);
      const id = this.group(c, units, 'run', `R${this.sig(units[0]!)}x${n}`, () => ({ layer: `${unitNode.layer} ×${n}`, className: `${n} repeats` }));
      this.runs.add(id);
      out.push(id);
      folded = true;
      i += n * p;
    }
    if (folded) this.children.set(c, out);
    return folded;
  }

  /** A run of identical groups (a .py model's folded Blocks) as one box, at any size. */
  private groupRuns(c: string | undefined): void {
    const items = this.list(c);
    if (!this.runs.has(c ?? '') && items.some((id) => this.byId.get(id)?.group)) this.repeats(c, this.L.groupRun, true);
  }

  /**
   * Step 3: consecutive parts of at most FOLD.level items (deeper parts below when needed): the stages (where
   * the output shape changes, as a ResNet's stages do) when there are few enough, else equal parts.
   */
  private parts(c: string | undefined): void {
    const items = this.list(c);
    if (items.length <= this.L.level) return;
    let cuts: number[] = [];
    for (let i = 1; i < items.length; i++) if (this.node(items[i]!).outputShape !== this.node(items[i - 1]!).outputShape) cuts.push(i);
    if (cuts.length + 1 < 2 || cuts.length + 1 > this.L.level) {
      // As many parts as items a part: both levels stay short (never more than FOLD.level parts).
      const size = Math.max(2, Math.ceil(items.length / this.L.level), Math.ceil(Math.sqrt(items.length)));
      cuts = [];
      for (let i = size; i < items.length; i += size) cuts.push(i);
    }
    const out: string[] = [];
    [0, ...cuts].forEach((start, k) => {
      const part = items.slice(start, cuts[k] ?? items.length);
      out.push(part.length === 1 ? part[0]! : this.group(c, part, 'part', `P${part[0]}`, (ms) => ({ layer: rangeName(ms), className: '' })));
    });
    this.children.set(c, out);
  }

  /** A new folded group of `members` (consecutive items of level `c`), placed where they were. */
  private group(c: string | undefined, members: string[], kind: string, sig: string, label: (ms: GraphNode[]) => { layer: string; className: string }): string {
    let id = `${FOLD_PREFIX}${kind}:${members[0]}`;
    if (this.made.has(id)) id = `${id}#${this.made.size}`;
    const ms = members.map((m) => this.node(m));
    const leaves = this.leafCount(members);
    let params: number | null = 0;
    let trainable: number | null = 0;
    let nonTrainable: number | null = 0;
    for (const n of ms) {
      params = params === null || n.params === null ? null : params + n.params;
      trainable = trainable === null || n.trainable === null ? null : trainable + n.trainable;
      nonTrainable = nonTrainable === null || n.nonTrainable === null ? null : nonTrainable + n.nonTrainable;
    }
    const { layer, className } = label(ms);
    const node: GraphNode = {
      id,
      layer,
      className: `${className ? `${className} · ` : ''}${grouped.format(leaves)} ${this.g.origin === 'trace' ? 'ops' : 'layers'}`,
      outputShape: ms.at(-1)!.outputShape,
      params,
      trainable,
      nonTrainable,
      group: true,
      folded: true,
    };
    if (c !== undefined) node.parent = c;
    this.made.set(id, node);
    this.parent.set(id, c);
    this.sigOf.set(id, this.intern(sig));
    this.children.set(id, members);
    for (const m of members) this.parent.set(m, id);
    this.changed = true;
    return id;
  }

  private node(id: string): GraphNode {
    return this.byId.get(id) ?? this.made.get(id)!;
  }

  /** Boxes of the snapshot inside these items (a group of the snapshot counts itself too). */
  private leafCount(ids: string[]): number {
    let n = 0;
    for (const id of ids) {
      let k = this.leaves.get(id);
      if (k === undefined) {
        const kids = this.children.get(id);
        k = (this.made.has(id) ? 0 : 1) + (kids ? this.leafCount(kids) : 0);
        this.leaves.set(id, k);
      }
      n += k;
    }
    return n;
  }

  /** One number per structure: class, output shape and parameters (a group: also its size). */
  private sig(id: string): number {
    let s = this.sigOf.get(id);
    if (s === undefined) {
      const n = this.byId.get(id)!;
      if (n.group) s = this.intern(`G${this.children.get(id)?.length ?? 0}${n.className}|${n.outputShape}|${n.params}`);
      else {
        const byClass = this.leafSigs.get(n.className) ?? this.leafSigs.set(n.className, new Map()).get(n.className)!;
        const byShape = byClass.get(n.outputShape) ?? byClass.set(n.outputShape, new Map()).get(n.outputShape)!;
        s = byShape.get(n.params);
        if (s === undefined) byShape.set(n.params, (s = this.intern(`L${n.className}|${n.outputShape}|${n.params}`)));
      }
      this.sigOf.set(id, s);
    }
    return s;
  }

  private intern(key: string): number {
    let s = this.interned.get(key);
    if (s === undefined) this.interned.set(key, (s = this.interned.size));
    return s;
  }
}

const grouped = new Intl.NumberFormat('en-US');

function sameRange(sig: number[], a: number, b: number, p: number): boolean {
  for (let k = 0; k < p; k++) if (sig[a + k] !== sig[b + k]) return false;
  return true;
}

/** A block's name: its members' common name prefix up to a separator ('conv2_block1'), else its last member (the merge) + ' block'. */
function blockName(ms: GraphNode[]): string {
  const names = ms.map((m) => m.layer);
  let p = names[0]!;
  for (const n of names) while (!n.startsWith(p)) p = p.slice(0, -1);
  const cut = p.search(/[_./:-]+$/);
  return cut >= 2 ? p.slice(0, cut) : `${names.at(-1)} block`;
}

/** 'first … last' of a range of items (of ranges: 'b0 … b159', not 'b0 … b7 … b152 … b159'). */
function rangeName(ms: GraphNode[]): string {
  if (ms.length === 1) return ms[0]!.layer;
  return `${ms[0]!.layer.split(' … ')[0]} … ${ms.at(-1)!.layer.split(' … ').at(-1)}`;
}
