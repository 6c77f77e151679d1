export { Heap } from './heap.js';
export type { HeapOptions, IndexTracker } from './heap.js';
export { NumberHeap } from './number-heap.js';
