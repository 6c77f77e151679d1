/** Bucket bounds in seconds: from a few ms up to five minutes, as jobs wait and run. */
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** A cumulative histogram (Prometheus semantics): counts per upper bound, sum and count. */
export class Histogram {
  readonly bounds: readonly number[];
  private readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[] = DEFAULT_BUCKETS) {
    this.bounds = [...bounds].sort((a, b) => a - b);
    this.counts = new Array<number>(this.bounds.length).fill(0);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    // Each observation lands in its first bucket; `cumulative()` adds them up when read.
    const at = this.bounds.findIndex((bound) => value <= bound);
    if (at >= 0) this.counts[at]++;
  }

  /** `[bound, observations <= bound]` for each bound, then `[Infinity, count]`. */
  cumulative(): Array<[number, number]> {
    let running = 0;
    const out: Array<[number, number]> = this.bounds.map((bound, i) => [bound, (running += this.counts[i])]);
    out.push([Infinity, this.count]);
    return out;
  }
}
