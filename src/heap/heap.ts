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
    this.siftUp(this.length++, item, key, this.nextSeq++);
  }

  /** Removes and returns the item with the smallest key (the oldest among equals). */
  pop(): T | undefined {
    if (this.length === 0) return undefined;
    const top = this.items[0];
    // Array#pop rather than a store of `undefined` into the freed slot: the heap lets go of
    // the item either way, but only pop keeps an array of numbers an unboxed double array.
    const item = this.items.pop() as T;
    const key = this.keys.pop() as number;
    const seq = this.seqs.pop() as number;
    if (--this.length > 0) this.siftDown(0, item, key, seq);
    if (this.track !== undefined) this.track(top, -1);
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
    const { items, keys, seqs } = this;
    const removed = items[index];
    const last = --this.length;
    const item = items.pop() as T;
    const key = keys.pop() as number;
    const seq = seqs.pop() as number;
    if (index !== last) {
      // The last item fills the hole; it may belong above it (it came from another subtree)
      // or below it, never both.
      const parent = (index - 1) >> 1;
      if (index > 0 && (key < keys[parent] || (key === keys[parent] && seq < seqs[parent]))) {
        this.siftUp(index, item, key, seq);
      } else {
        this.siftDown(index, item, key, seq);
      }
    }
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
    // Copies of exactly the live length: the arrays already end at the last item (pop and
    // removal shorten them), but their backing stores may still have room for more.
    this.items = this.items.slice();
    this.keys = this.keys.slice();
    this.seqs = this.seqs.slice();
  }

  /** Items in heap (not sorted) order. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.length; i++) yield this.items[i];
  }

  /**
   * Puts (item, key, seq) into the hole at `pos`, first moving down the parents that rank
   * after it. Each moved item is read once and written once (hole, not swap).
   */
  private siftUp(pos: number, item: T, key: number, seq: number): void {
    const { items, keys, seqs, track } = this;
    while (pos > 0) {
      const parent = (pos - 1) >> 1;
      const parentKey = keys[parent];
      if (parentKey < key || (parentKey === key && seqs[parent] < seq)) break;
      const moved = items[parent];
      items[pos] = moved;
      keys[pos] = parentKey;
      seqs[pos] = seqs[parent];
      if (track !== undefined) track(moved, pos);
      pos = parent;
    }
    items[pos] = item;
    keys[pos] = key;
    seqs[pos] = seq;
    if (track !== undefined) track(item, pos);
  }

  /** Puts (item, key, seq) into the hole at `pos`, first moving up the children that rank before it. */
  private siftDown(pos: number, item: T, key: number, seq: number): void {
    const { items, keys, seqs, track } = this;
    const length = this.length;
    const half = length >> 1;
    while (pos < half) {
      let child = (pos << 1) + 1;
      let childKey = keys[child];
      const right = child + 1;
      if (right < length) {
        const rightKey = keys[right];
        if (rightKey < childKey || (rightKey === childKey && seqs[right] < seqs[child])) {
          child = right;
          childKey = rightKey;
        }
      }
      if (key < childKey || (key === childKey && seq < seqs[child])) break;
      const moved = items[child];
      items[pos] = moved;
      keys[pos] = childKey;
      seqs[pos] = seqs[child];
      if (track !== undefined) track(moved, pos);
      pos = child;
    }
    items[pos] = item;
    keys[pos] = key;
    seqs[pos] = seq;
    if (track !== undefined) track(item, pos);
  }
}
