export { Heap } from './heap.js';
export type { HeapOptions, IndexTracker } from './heap.js';
