import type { CallNode } from '../ir';
import { MinHeap } from '../read/topoSort';

/** Input positions of every node in compressed rows, as `GraphIndex` has them (-1: an input that names no node). */
export interface InputRows {
  inputStart: Int32Array;
  inputCalls: Int32Array;
}

/**
 * Ancestor queries on a call graph whose nodes come topologically sorted, each answered by a walk
 * that never leaves the window between the two nodes asked about (an ancestor always has a smaller
 * index). A residual block is local, so finding every site costs about the size of the model, where
 * one ancestor set per call costs its square. Ancestors are strict: a node is not its own ancestor.
 * Walks use typed arrays made once per graph (stack, visit stamps), so a query allocates nothing but its answer.
 */
export class DagQueries {
  private readonly start: Int32Array;
  private readonly calls: Int32Array;
  /** Visit stamps: seen[i] === stamp means node i was visited by the current walk. */
  private readonly seen: Int32Array;
  /** nearestCommon's marks (1, 2 or 3) of the nodes its current query stamped in `seen`. */
  private readonly marks: Uint8Array;
  /** A walk's stack, then between's window: each node enters once per walk, the start node included. */
  private readonly stack: Int32Array;
  private stamp = 0;

  /** `rows`: the inputs' positions where already known (graphIndex); found from the ids otherwise. */
  constructor(nodes: CallNode[], rows?: InputRows) {
    if (rows) {
      this.start = rows.inputStart;
      this.calls = rows.inputCalls;
    } else {
      const index = new Map(nodes.map((n, i) => [n.id, i]));
      this.start = new Int32Array(nodes.length + 1);
      nodes.forEach((n, i) => (this.start[i + 1] = this.start[i]! + n.inputs.length));
      this.calls = Int32Array.from(nodes.flatMap((n) => n.inputs.map((t) => index.get(t.node) ?? -1)));
    }
    this.seen = new Int32Array(nodes.length);
    this.marks = new Uint8Array(nodes.length);
    this.stack = new Int32Array(nodes.length + 1);
  }

  /** Whether node `u` is a (strict) ancestor of node `v`. */
  isAncestor(u: number, v: number): boolean {
    if (u >= v) return false;
    const { start, calls, seen, stack } = this;
    const stamp = this.mark();
    let top = 0;
    stack[top++] = v;
    while (top > 0) {
      const x = stack[--top]!;
      for (let e = start[x]!; e < start[x + 1]!; e++) {
        const i = calls[e]!;
        if (i === u) return true;
        if (i > u && seen[i] !== stamp) {
          seen[i] = stamp;
          stack[top++] = i;
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
    const { start, calls, seen, marks } = this;
    const stamp = this.mark();
    const heap = new MinHeap(); // holds -index: the latest node first
    let open1 = 0; // nodes in the heap carrying mark 1, mark 2
    let open2 = 0;
    const reach = (i: number, m: number): void => {
      if (i < 0) return;
      const had = seen[i] === stamp ? marks[i]! : 0;
      if (seen[i] !== stamp) {
        seen[i] = stamp;
        heap.push(-i);
      }
      const now = had | m;
      marks[i] = now;
      if (!(had & 1) && now & 1) open1++;
      if (!(had & 2) && now & 2) open2++;
    };
    for (let e = start[a]!; e < start[a + 1]!; e++) reach(calls[e]!, 1);
    for (let e = start[b]!; e < start[b + 1]!; e++) reach(calls[e]!, 2);
    while (open1 > 0 && open2 > 0) {
      const x = -heap.pop()!;
      const m = marks[x]!;
      if (m === 3) return x;
      if (m === 1) open1--;
      else open2--;
      for (let e = start[x]!; e < start[x + 1]!; e++) reach(calls[e]!, m);
    }
    return -1;
  }

  /** Nodes that descend from `from` and are ancestors of `to`, in topological order. */
  between(from: number, to: number): number[] {
    const { start, calls, seen, stack } = this;
    // Ancestors of `to` later than `from` (only they can descend from it), then, in order, those with an
    // input that is `from` or already known to descend from it. The stack's bottom keeps the window:
    // nodes below `size` are the window, those from `size` to `top` still to walk.
    const stamp = this.mark();
    let size = 0;
    let top = 0;
    let next = to;
    for (;;) {
      for (let e = start[next]!; e < start[next + 1]!; e++) {
        const i = calls[e]!;
        if (i > from && seen[i] !== stamp) {
          seen[i] = stamp;
          stack[top++] = i;
        }
      }
      if (size === top) break;
      next = stack[size++]!;
    }
    const window = stack.subarray(0, size).sort();
    // Descendants marked with a second stamp (no set per query).
    const desc = this.mark();
    const out: number[] = [];
    for (const x of window) {
      for (let e = start[x]!; e < start[x + 1]!; e++) {
        const i = calls[e]!;
        if (i === from || (i >= 0 && seen[i] === desc)) {
          seen[x] = desc;
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
