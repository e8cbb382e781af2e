import type { CallNode } from '../ir';

export type TopoResult = { order: CallNode[] } | { cycle: CallNode[] };

/**
 * Kahn's algorithm; among ready nodes the earliest in file order goes first, so a file already in
 * order keeps its order. Inputs that name no node are ignored here (the reader checks them).
 */
export function topoSort(nodes: CallNode[]): TopoResult {
  const index = new Map<string, number>();
  for (let i = 0; i < nodes.length; i++) index.set(nodes[i]!.id, i);
  // A file in order (every input is an earlier call: Keras writes them so) is its own order, which is
  // the order Kahn's algorithm with the earliest ready node first would give.
  if (nodes.every((n, i) => n.inputs.every((t) => (index.get(t.node) ?? -1) < i))) return { order: nodes };
  const indegree = nodes.map(() => 0);
  const consumers: number[][] = nodes.map(() => []);
  nodes.forEach((n, i) => {
    for (const t of n.inputs) {
      const from = index.get(t.node);
      if (from === undefined) continue;
      indegree[i]!++;
      consumers[from]!.push(i);
    }
  });
  const ready = new MinHeap();
  indegree.forEach((d, i) => d === 0 && ready.push(i));
  const order: CallNode[] = [];
  for (let i = ready.pop(); i !== undefined; i = ready.pop()) {
    order.push(nodes[i]!);
    for (const c of consumers[i]!) if (--indegree[c]! === 0) ready.push(c);
  }
  if (order.length === nodes.length) return { order };
  return { cycle: findCycle(nodes, index, new Set(indegree.flatMap((d, i) => (d > 0 ? [i] : [])))) };
}

/** Walks inputs among the unsorted nodes until one repeats: that loop is a cycle. */
function findCycle(nodes: CallNode[], index: Map<string, number>, left: Set<number>): CallNode[] {
  const start = left.values().next().value as number;
  const seenAt = new Map<number, number>();
  const walk: number[] = [];
  for (let i: number | undefined = start; i !== undefined; ) {
    if (seenAt.has(i)) return walk.slice(seenAt.get(i)).reverse().map((k) => nodes[k]!);
    seenAt.set(i, walk.length);
    walk.push(i);
    // Every unsorted node has an unsorted input (else it would have been sorted).
    i = nodes[i]!.inputs.map((t) => index.get(t.node)).find((k): k is number => k !== undefined && left.has(k));
  }
  return walk.map((k) => nodes[k]!);
}

/** A binary min-heap of numbers (also the residual finder's walk over topological indices). */
export class MinHeap {
  private a: number[] = [];
  push(x: number): void {
    const a = this.a;
    a.push(x);
    for (let i = a.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (a[p]! <= a[i]!) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }
  pop(): number | undefined {
    const a = this.a;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]! < a[m]!) m = l;
        if (r < a.length && a[r]! < a[m]!) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}
