import { describe, expect, it } from 'vitest';
import { Heap } from '../src/heap/heap.js';

interface Item {
  name: string;
  index: number;
}

function tracked(): Heap<Item> {
  return new Heap<Item>({ trackIndex: (item, index) => (item.index = index) });
}

function item(name: string): Item {
  return { name, index: -2 };
}

function drainNames(heap: Heap<Item>): string[] {
  const out: string[] = [];
  for (let it = heap.pop(); it !== undefined; it = heap.pop()) out.push(it.name);
  return out;
}

/** Every tracked item's index points at itself. */
function expectTrackedPositions(heap: Heap<Item>): void {
  let i = 0;
  for (const it of heap) {
    expect(it.index).toBe(i);
    expect(heap.at(it.index)).toBe(it);
    i++;
  }
}

describe('Heap removal with trackIndex', () => {
  it('reports each item position as it moves', () => {
    const heap = tracked();
    const items = [5, 3, 8, 1, 9, 2, 7].map((k) => ({ it: item(`k${k}`), k }));
    for (const { it, k } of items) {
      heap.push(it, k);
      expectTrackedPositions(heap);
    }
    expect(heap.at(items[3].it.index)).toBe(items[3].it);
  });

  it('removeAt removes exactly that item and returns it', () => {
    const heap = tracked();
    const items = Array.from({ length: 10 }, (_, i) => item(`k${i}`));
    items.forEach((it, i) => {
      heap.push(it, (i * 7) % 10);
    });
    const victim = items[4];
    expect(heap.removeAt(victim.index)).toBe(victim);
    expect(victim.index).toBe(-1);
    expect(heap.size).toBe(9);
    expectTrackedPositions(heap);
    expect(drainNames(heap)).not.toContain('k4');
  });

  it('removeAt of the last position and of the root', () => {
    const heap = tracked();
    const a = item('a');
    const b = item('b');
    const c = item('c');
    heap.push(a, 1);
    heap.push(b, 2);
    heap.push(c, 3);
    expect(heap.removeAt(2)).toBe(c);
    expect(c.index).toBe(-1);
    expect(heap.removeAt(a.index)).toBe(a);
    expect(heap.peek()).toBe(b);
    expect(b.index).toBe(0);
    expect(heap.removeAt(0)).toBe(b);
    expect(heap.size).toBe(0);
  });

  it('removeAt out of range returns undefined and changes nothing', () => {
    const heap = tracked();
    const a = item('a');
    heap.push(a, 1);
    expect(heap.removeAt(-1)).toBeUndefined();
    expect(heap.removeAt(1)).toBeUndefined();
    expect(heap.size).toBe(1);
    expect(a.index).toBe(0);
  });

  it('moves the replacement up when it ranks before the removed item parent', () => {
    // Tree: 0 -> (10, 1); 10 -> (11, 12); 1 -> (2, 3). Removing 11 moves the last item (3) into
    // its slot, below 10, so it must sift up past 10.
    const heap = tracked();
    const byKey = new Map<number, Item>();
    for (const k of [0, 10, 1, 11, 12, 2, 3]) {
      const it = item(`k${k}`);
      byKey.set(k, it);
      heap.push(it, k);
    }
    expect(byKey.get(11)!.index).toBe(3);
    heap.removeAt(byKey.get(11)!.index);
    expectTrackedPositions(heap);
    expect(byKey.get(3)!.index).toBe(1);
    expect(drainNames(heap)).toEqual(['k0', 'k1', 'k2', 'k3', 'k10', 'k12']);
  });

  it('moves the replacement down when it ranks after the removed item children', () => {
    const heap = tracked();
    const byKey = new Map<number, Item>();
    for (const k of [0, 1, 50, 2, 3, 60, 70, 4, 5, 6]) {
      const it = item(`k${k}`);
      byKey.set(k, it);
      heap.push(it, k);
    }
    // k1 sits at 1 with children k2 and k3; the last item (k6) must sift down two levels.
    expect(byKey.get(1)!.index).toBe(1);
    heap.removeAt(byKey.get(1)!.index);
    expectTrackedPositions(heap);
    expect(byKey.get(6)!.index).toBe(7);
    expect(drainNames(heap)).toEqual(['k0', 'k2', 'k3', 'k4', 'k5', 'k6', 'k50', 'k60', 'k70']);
  });

  it('keeps FIFO among equal keys after removals', () => {
    const heap = tracked();
    const items = Array.from({ length: 30 }, (_, i) => item(`i${i}`));
    items.forEach((it, i) => {
      heap.push(it, i % 2);
    });
    for (const i of [0, 3, 7, 12, 13, 28]) heap.removeAt(items[i].index);
    const rest = Array.from({ length: 30 }, (_, i) => i).filter((i) => ![0, 3, 7, 12, 13, 28].includes(i));
    const expected = [...rest.filter((i) => i % 2 === 0), ...rest.filter((i) => i % 2 === 1)].map((i) => `i${i}`);
    expect(drainNames(heap)).toEqual(expected);
  });

  it('a removed item pushed again goes behind items with the same key', () => {
    const heap = tracked();
    const a = item('a');
    const b = item('b');
    heap.push(a, 5);
    heap.push(b, 5);
    heap.removeAt(a.index);
    heap.push(a, 5);
    expect(drainNames(heap)).toEqual(['b', 'a']);
  });

  it('pop reports -1 for the popped item', () => {
    const heap = tracked();
    const a = item('a');
    const b = item('b');
    heap.push(b, 2);
    heap.push(a, 1);
    expect(heap.pop()).toBe(a);
    expect(a.index).toBe(-1);
    expect(b.index).toBe(0);
  });

  it('clear reports -1 for every item', () => {
    const heap = tracked();
    const items = Array.from({ length: 5 }, (_, i) => item(`i${i}`));
    items.forEach((it, i) => {
      heap.push(it, i);
    });
    heap.clear();
    expect(items.map((it) => it.index)).toEqual([-1, -1, -1, -1, -1]);
    expect(heap.size).toBe(0);
  });

  it('does not keep removed items reachable through its storage', () => {
    const heap = new Heap<object>();
    const a = {};
    const b = {};
    const c = {};
    heap.push(a, 1);
    heap.push(b, 2);
    heap.push(c, 3);
    heap.pop();
    heap.removeAt(1);
    // Private storage, read on purpose: a retained reference would leak the job payload.
    const storage = (heap as unknown as { items: unknown[] }).items;
    expect(storage).not.toContain(a);
    expect(storage).not.toContain(c);
    expect(storage).toContain(b);
  });
});
