/** Reusable per-encode symbol arrays (a doubly linked list over a word's symbols). */
export class SymbolBuffer {
  key = new Int32Array(256);
  size = new Int32Array(256);
  prev = new Int32Array(256);
  next = new Int32Array(256);
  frozen = new Uint8Array(256);

  ensure(n: number): void {
    if (n <= this.key.length) return;
    let cap = this.key.length;
    while (cap < n) cap *= 2;
    this.key = new Int32Array(cap);
    this.size = new Int32Array(cap);
    this.prev = new Int32Array(cap);
    this.next = new Int32Array(cap);
    this.frozen = new Uint8Array(cap);
  }

  /** Links symbols 0..n-1 in order. */
  link(n: number): void {
    const prev = this.prev;
    const next = this.next;
    for (let i = 0; i < n; i++) {
      prev[i] = i - 1;
      next[i] = i + 1;
    }
    if (n > 0) next[n - 1] = -1;
  }
}
