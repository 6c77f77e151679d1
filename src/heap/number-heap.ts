/**
 * A binary min-heap of plain numbers: what {@link Heap} is for items with keys, for the
 * case where the number is the item. Equal numbers cannot be told apart, so there is no
 * order among them to keep, and so no insertion sequence to store: one array, sifted by
 * moving a hole.
 *
 * @example
 * ```ts
 * const heap = new NumberHeap();
 * heap.push(3); heap.push(1); heap.push(2);
 * heap.pop(); // 1
 * heap.peek(); // 2
 * ```
 */
export class NumberHeap {
  // Only ever numbers: the array stays an unboxed double (or small integer) array. Slots past
  // `length` keep stale numbers, which hold nothing alive, so that the steady push/pop of a
  // scheduler never resizes the array.
  private values: number[] = [];
  private length = 0;

  /** Number of values in the heap. */
  get size(): number {
    return this.length;
  }

  /** Adds a value. O(log n); O(1) when values arrive in ascending order. Throws a `RangeError` for `NaN`, which has no place in an order. */
  push(value: number): void {
    // `NaN` compares false with everything: once inside, it would corrupt the order silently.
    if (Number.isNaN(value)) throw new RangeError('NumberHeap.push: NaN cannot be ordered');
    const values = this.values;
    let pos = this.length++;
    while (pos > 0) {
      const parent = (pos - 1) >> 1;
      const parentValue = values[parent];
      if (parentValue <= value) break;
      values[pos] = parentValue;
      pos = parent;
    }
    values[pos] = value;
  }

  /** Removes and returns the smallest value, or `undefined` when empty. */
  pop(): number | undefined {
    if (this.length === 0) return undefined;
    const values = this.values;
    const top = values[0];
    const length = --this.length;
    if (length === 0) return top;
    const last = values[length];
    const half = length >> 1;
    let pos = 0;
    while (pos < half) {
      let child = (pos << 1) + 1;
      let childValue = values[child];
      const right = child + 1;
      if (right < length && values[right] < childValue) {
        child = right;
        childValue = values[right];
      }
      if (last <= childValue) break;
      values[pos] = childValue;
      pos = child;
    }
    values[pos] = last;
    return top;
  }

  /** The smallest value, left in place, or `undefined` when empty. */
  peek(): number | undefined {
    return this.length === 0 ? undefined : this.values[0];
  }

  /** Removes every value. */
  clear(): void {
    this.values = [];
    this.length = 0;
  }

  /** Values in heap (not sorted) order. */
  *[Symbol.iterator](): IterableIterator<number> {
    for (let i = 0; i < this.length; i++) yield this.values[i];
  }
}
