/**
 * Called whenever an item changes position, with its new index, or -1 once it has left
 * the heap. Storing that index on the item is what makes {@link Heap.removeAt} O(log n).
 */
export type IndexTracker<T> = (item: T, index: number) => void;

/** Options of {@link Heap}. */
export interface HeapOptions<T> {
  /**
   * Receives each item's position as it moves, so that an arbitrary item can be removed
   * in O(log n) with {@link Heap.removeAt}.
   * @defaultValue none (no tracking)
   */
  trackIndex?: IndexTracker<T>;
}

/**
 * A binary min-heap of items keyed by a number, stable: items with equal keys come out in
 * the order they went in (FIFO). Flat parallel arrays and a hole-moving sift, after
 * mourner's flatqueue; unlike flatqueue, ties are broken by insertion order.
 *
 * @typeParam T - the item type
 * @example
 * ```ts
 * const heap = new Heap<string>();
 * heap.push('b', 2); heap.push('a', 1); heap.push('a2', 1);
 * heap.pop(); // 'a'
 * heap.pop(); // 'a2'
 * ```
 */
export class Heap<T> {
  private items: T[] = [];
  private keys: number[] = [];
  private seqs: number[] = [];
  private length = 0;
  private nextSeq = 0;
  private readonly track: IndexTracker<T> | undefined;

  constructor(options: HeapOptions<T> = {}) {
    this.track = options.trackIndex;
  }

  /** Number of items in the heap. */
  get size(): number {
    return this.length;
  }

  /** Adds an item with its key. O(log n); O(1) when keys arrive in ascending order. */
  push(item: T, key: number): void {
    const seq = this.nextSeq++;
    this.place(item, key, seq, this.siftUp(this.length++, key, seq));
  }

  /** Removes and returns the item with the smallest key (the oldest among equals). */
  pop(): T | undefined {
    if (this.length === 0) return undefined;
    const top = this.items[0];
    this.removeAt(0);
    return top;
  }

  /** The item with the smallest key, left in place. */
  peek(): T | undefined {
    return this.length === 0 ? undefined : this.items[0];
  }

  /** The smallest key, or `undefined` when empty. */
  peekKey(): number | undefined {
    return this.length === 0 ? undefined : this.keys[0];
  }

  /** The item at a position (as reported to the index tracker). */
  at(index: number): T | undefined {
    return index >= 0 && index < this.length ? this.items[index] : undefined;
  }

  /**
   * Removes the item at `index` (the position last reported to `trackIndex`) in O(log n)
   * and returns it.
   */
  removeAt(index: number): T | undefined {
    if (index < 0 || index >= this.length) return undefined;
    const removed = this.items[index];
    const last = --this.length;
    if (index !== last) {
      const item = this.items[last];
      const key = this.keys[last];
      const seq = this.seqs[last];
      // The moved item may belong above or below the hole; at most one of these loops runs.
      const pos = this.siftUp(index, key, seq);
      this.place(item, key, seq, pos === index ? this.siftDown(index, key, seq) : pos);
    }
    // Clear the slot so the heap does not keep a removed item alive.
    this.items[last] = undefined as T;
    if (this.track !== undefined) this.track(removed, -1);
    return removed;
  }

  /** Removes every item. */
  clear(): void {
    if (this.track !== undefined) for (let i = 0; i < this.length; i++) this.track(this.items[i], -1);
    this.items = [];
    this.keys = [];
    this.seqs = [];
    this.length = 0;
  }

  /**
   * Releases the spare capacity left behind by a large heap that has since shrunk. Not
   * automatic: re-growing costs more than the memory is usually worth while the heap is
   * in use.
   */
  shrink(): void {
    this.items.length = this.length;
    this.keys.length = this.length;
    this.seqs.length = this.length;
  }

  /** Items in heap (not sorted) order. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.length; i++) yield this.items[i];
  }

  private place(item: T, key: number, seq: number, pos: number): void {
    this.items[pos] = item;
    this.keys[pos] = key;
    this.seqs[pos] = seq;
    if (this.track !== undefined) this.track(item, pos);
  }

  /** Moves parents down into the hole at `pos` while they rank after (key, seq). */
  private siftUp(pos: number, key: number, seq: number): number {
    const { items, keys, seqs } = this;
    while (pos > 0) {
      const parent = (pos - 1) >> 1;
      const parentKey = keys[parent];
      if (parentKey < key || (parentKey === key && seqs[parent] < seq)) break;
      this.place(items[parent], parentKey, seqs[parent], pos);
      pos = parent;
    }
    return pos;
  }

  /** Moves children up into the hole at `pos` while they rank before (key, seq). */
  private siftDown(pos: number, key: number, seq: number): number {
    const { items, keys, seqs } = this;
    const half = this.length >> 1;
    while (pos < half) {
      let child = (pos << 1) + 1;
      const right = child + 1;
      if (right < this.length && (keys[right] < keys[child] || (keys[right] === keys[child] && seqs[right] < seqs[child]))) {
        child = right;
      }
      const childKey = keys[child];
      if (key < childKey || (key === childKey && seq < seqs[child])) break;
      this.place(items[child], childKey, seqs[child], pos);
      pos = child;
    }
    return pos;
  }
}
