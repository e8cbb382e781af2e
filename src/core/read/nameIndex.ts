/**
 * Layer names to their index in a list, for the reader. A Map was the reader's largest cost that grew faster
 * than the model: from about 6,000 entries on (V8 then keeps its table as a large object) an insert cost
 * 350-470 ns against 20-40 ns in a 4,000-entry Map (this project's machine), and a 20,000-layer dense read
 * spent 14 ms of its 56 in `Map.set`. Here the table is one Int32Array sized once (open addressing, linear
 * probing, at most half full) holding indices into a names array of its own: 21-63 ns an insert at 20,000
 * in three runs of four. The hash is seeded per process, so a file cannot be written to make its names collide.
 */
const SEED = (Math.random() * 0x7fffffff) | 0;

function hash(s: string): number {
  let h = SEED ^ 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h ^ (h >>> 15);
}

export class NameIndex {
  private readonly slots: Int32Array;
  private readonly mask: number;
  private readonly names: (string | undefined)[];
  private count = 0;

  /** `capacity`: indices run from 0 to capacity - 1. */
  constructor(capacity: number) {
    let size = 16;
    while (size < 2 * capacity) size *= 2;
    this.slots = new Int32Array(size).fill(-1);
    this.mask = size - 1;
    this.names = new Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** The index of `name`, or undefined. */
  get(name: string): number | undefined {
    const { slots, mask, names } = this;
    for (let h = hash(name) & mask; ; h = (h + 1) & mask) {
      const i = slots[h]!;
      if (i < 0) return undefined;
      if (names[i] === name) return i;
    }
  }

  /** Adds `name` as index i; returns the index already there for that name (and adds nothing), or -1. */
  add(name: string, i: number): number {
    const { slots, mask, names } = this;
    for (let h = hash(name) & mask; ; h = (h + 1) & mask) {
      const j = slots[h]!;
      if (j < 0) {
        slots[h] = i;
        names[i] = name;
        this.count++;
        return -1;
      }
      if (names[j] === name) return j;
    }
  }
}
