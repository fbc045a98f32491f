/**
 * Open-addressing hash map from a pair of non-negative int32 keys (left, right) to an
 * int32 value: the merge lookup of both BPE variants. Typed arrays and a packed probe
 * keep the hot loop free of string building and Map boxing.
 */
export class PairTable {
  private readonly lefts: Int32Array;
  private readonly rights: Int32Array;
  private readonly values: Int32Array;
  private readonly mask: number;
  private count = 0;

  constructor(expectedEntries: number) {
    let capacity = 16;
    while (capacity < expectedEntries * 2) capacity *= 2;
    this.lefts = new Int32Array(capacity).fill(-1);
    this.rights = new Int32Array(capacity);
    this.values = new Int32Array(capacity);
    this.mask = capacity - 1;
  }

  get size(): number {
    return this.count;
  }

  private slot(left: number, right: number): number {
    let h = Math.imul(left, 0x9e3779b1) ^ Math.imul(right + 0x7f4a7c15, 0x85ebca77);
    h ^= h >>> 15;
    return h & this.mask;
  }

  /** Sets (left, right) -> value; returns false (and keeps the old value) if present. */
  setIfAbsent(left: number, right: number, value: number): boolean {
    const i = this.slotForInsert(left, right);
    if (this.lefts[i] !== -1) return false;
    this.claim(i, left, right);
    this.values[i] = value;
    return true;
  }

  /** Sets (left, right) -> value, replacing any earlier value. */
  set(left: number, right: number, value: number): void {
    const i = this.slotForInsert(left, right);
    if (this.lefts[i] === -1) this.claim(i, left, right);
    this.values[i] = value;
  }

  /** The slot holding (left, right), or the empty slot where it goes (the table must have room). */
  private slotForInsert(left: number, right: number): number {
    if (this.count * 2 >= this.lefts.length) throw new Error('PairTable capacity exceeded');
    let i = this.slot(left, right);
    for (;;) {
      const l = this.lefts[i]!;
      if (l === -1 || (l === left && this.rights[i] === right)) return i;
      i = (i + 1) & this.mask;
    }
  }

  private claim(i: number, left: number, right: number): void {
    this.lefts[i] = left;
    this.rights[i] = right;
    this.count++;
  }

  /** The value stored for (left, right), or -1. */
  get(left: number, right: number): number {
    const lefts = this.lefts;
    let i = this.slot(left, right);
    for (;;) {
      const l = lefts[i]!;
      if (l === -1) return -1;
      if (l === left && this.rights[i] === right) return this.values[i]!;
      i = (i + 1) & this.mask;
    }
  }
}
