import type { CallNode } from '../ir';
import { MinHeap } from '../read/topoSort';

/**
 * Ancestor queries on a call graph whose nodes come topologically sorted, each answered by a walk
 * that never leaves the window between the two nodes asked about (an ancestor always has a smaller
 * index). A residual block is local, so finding every site costs about the size of the model, where
 * one ancestor set per call costs its square. Ancestors are strict: a node is not its own ancestor.
 */
export class DagQueries {
  /** Input node indices of each node (inputs that name no node are left out, as the sort does). */
  private readonly inputs: number[][];
  /** Visit stamps: seen[i] === stamp means node i was visited by the current walk. */
  private readonly seen: Int32Array;
  private stamp = 0;

  /** `inputs`: each node's input positions where already known (graphIndex), -1 for none. */
  constructor(nodes: CallNode[], inputs?: number[][]) {
    // The index's own lists where every input names a node (they are not changed here).
    if (inputs) this.inputs = inputs.every((at) => at.every((i) => i >= 0)) ? inputs : inputs.map((at) => at.filter((i) => i >= 0));
    else {
      const index = new Map(nodes.map((n, i) => [n.id, i]));
      this.inputs = nodes.map((n) => n.inputs.map((t) => index.get(t.node)).filter((i): i is number => i !== undefined));
    }
    this.seen = new Int32Array(nodes.length);
  }

  /** Whether node `u` is a (strict) ancestor of node `v`. */
  isAncestor(u: number, v: number): boolean {
    if (u >= v) return false;
    const seen = this.mark();
    const stack = [v];
    while (stack.length) {
      for (const i of this.inputs[stack.pop()!]!) {
        if (i === u) return true;
        if (i > u && this.seen[i] !== seen) {
          this.seen[i] = seen;
          stack.push(i);
        }
      }
    }
    return false;
  }

  /**
   * The common ancestor of `a` and `b` latest in topological order, or -1. Walks both ancestor sets
   * together from the latest index down (a max-heap): a node's marks are complete when it comes out,
   * so the first node marked from both sides is the answer; once one side has nothing left to walk,
   * there is none.
   */
  nearestCommon(a: number, b: number): number {
    const marks = new Map<number, number>();
    const heap = new MinHeap(); // holds -index: the latest node first
    const open = [0, 0, 0]; // nodes in the heap carrying mark 1, mark 2
    const reach = (i: number, m: number): void => {
      const had = marks.get(i);
      if (had === undefined) heap.push(-i);
      const now = (had ?? 0) | m;
      marks.set(i, now);
      if (!((had ?? 0) & 1) && now & 1) open[1]!++;
      if (!((had ?? 0) & 2) && now & 2) open[2]!++;
    };
    for (const i of this.inputs[a]!) reach(i, 1);
    for (const i of this.inputs[b]!) reach(i, 2);
    while (open[1]! > 0 && open[2]! > 0) {
      const x = -heap.pop()!;
      const m = marks.get(x)!;
      if (m === 3) return x;
      open[m]!--;
      for (const i of this.inputs[x]!) reach(i, m);
    }
    return -1;
  }

  /** Nodes that descend from `from` and are ancestors of `to`, in topological order. */
  between(from: number, to: number): number[] {
    // Ancestors of `to` later than `from` (only they can descend from it), then, in order, those with an
    // input that is `from` or already known to descend from it.
    const seen = this.mark();
    const window: number[] = [];
    const stack = [to];
    while (stack.length) {
      for (const i of this.inputs[stack.pop()!]!) {
        if (i > from && this.seen[i] !== seen) {
          this.seen[i] = seen;
          window.push(i);
          stack.push(i);
        }
      }
    }
    window.sort((x, y) => x - y);
    // Descendants marked with a second stamp (no set per query).
    const desc = this.mark();
    const out: number[] = [];
    for (const x of window) {
      for (const i of this.inputs[x]!) {
        if (i === from || this.seen[i] === desc) {
          this.seen[x] = desc;
          out.push(x);
          break;
        }
      }
    }
    return out;
  }

  private mark(): number {
    return ++this.stamp;
  }
}
