import { describe, expect, it } from 'vitest';
import { PagedIdMap } from '../src/paged-id-map.js';

describe('PagedIdMap', () => {
  it('finds each job by id across pages, and a page emptied and reused for other ids holds none of the old ones', () => {
    const map = new PagedIdMap<string>();
    map.set(1, 'one');
    map.set(2, 'two');
    map.set(1500, 'fifteen hundred');
    expect(map.delete(1)).toBe(true);
    // Page 0 still holds job 2: the next new page must not be it.
    map.set(4096 + 3, 'page four');
    expect(map.get(2)).toBe('two');
    expect(map.get(4096 + 2)).toBeUndefined();
    expect(map.get(4096 + 3)).toBe('page four');
    // Page 1 empties, and its memory serves the next new page.
    expect(map.delete(1500)).toBe(true);
    map.set(8192 + 7, 'page eight');
    expect(map.get(1500)).toBeUndefined();
    expect(map.get(8192 + 1500 - 1024)).toBeUndefined();
    expect(map.get(8192 + 7)).toBe('page eight');
    expect(map.size).toBe(3);
    expect([...map.values()].sort()).toEqual(['page eight', 'page four', 'two']);
    expect(map.delete(1500)).toBe(false);
  });

  it('keeps one job at a time (put, take, delete in turn) as it keeps many', () => {
    const map = new PagedIdMap<number>();
    for (let id = 1; id <= 5000; id++) {
      map.set(id, id);
      expect(map.get(id)).toBe(id);
      expect(map.get(id - 1)).toBeUndefined();
      expect(map.delete(id)).toBe(true);
    }
    expect(map.size).toBe(0);
    expect([...map.values()]).toEqual([]);
  });
});
