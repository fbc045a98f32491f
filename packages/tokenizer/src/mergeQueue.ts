/**
 * Binary min-heap of candidate merges ordered by (priority, position): lower
 * priority first, then the leftmost position, which is the tie rule of both
 * SentencePiece (highest score, then leftmost; we store -score) and Hugging Face
 * BPE (lowest merge rank, then leftmost). Entries live in growable typed arrays
 * reused across calls, so one encode allocates nothing per merge.
 */
export class MergeQueue {
  priority = new Float64Array(256);
  position = new Int32Array(256);
  /** Free payload slots (right index, size, merged id...) for the caller. */
  payloadA = new Int32Array(256);
  payloadB = new Int32Array(256);
  payloadC = new Int32Array(256);
  private heap = new Int32Array(256);
  private entries = 0;
  private heapSize = 0;

  /**
   * Empties the queue and makes room for `capacity` pushes, so the typed arrays are
   * not replaced while a caller holds them (a word of n symbols queues < 3n pairs).
   */
  reset(capacity: number): void {
    this.entries = 0;
    this.heapSize = 0;
    while (this.priority.length < capacity) this.grow();
  }

  get isEmpty(): boolean {
    return this.heapSize === 0;
  }

  private grow(): void {
    const n = this.priority.length * 2;
    const f = new Float64Array(n);
    f.set(this.priority);
    this.priority = f;
    const widen = (a: Int32Array): Int32Array<ArrayBuffer> => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    this.position = widen(this.position);
    this.payloadA = widen(this.payloadA);
    this.payloadB = widen(this.payloadB);
    this.payloadC = widen(this.payloadC);
    this.heap = widen(this.heap);
  }

  push(priority: number, position: number, a: number, b: number, c: number): void {
    if (this.entries === this.priority.length) this.grow();
    const e = this.entries++;
    this.priority[e] = priority;
    this.position[e] = position;
    this.payloadA[e] = a;
    this.payloadB[e] = b;
    this.payloadC[e] = c;
    // sift up
    const heap = this.heap;
    const pr = this.priority;
    const pos = this.position;
    let i = this.heapSize++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (pr[p]! < priority || (pr[p] === priority && pos[p]! < position)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = e;
  }

  /** Removes and returns the best entry index (valid until the next reset). */
  pop(): number {
    const heap = this.heap;
    const top = heap[0]!;
    const n = --this.heapSize;
    if (n === 0) return top;
    const last = heap[n]!;
    const pr = this.priority;
    const pos = this.position;
    const lp = pr[last]!;
    const lpos = pos[last]!;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n) {
        const c = heap[child]!;
        const r = heap[right]!;
        if (pr[r]! < pr[c]! || (pr[r] === pr[c] && pos[r]! < pos[c]!)) child = right;
      }
      const c = heap[child]!;
      if (lp < pr[c]! || (lp === pr[c] && lpos < pos[c]!)) break;
      heap[i] = c;
      i = child;
    }
    heap[i] = last;
    return top;
  }
}
