/** p50 and p99 of the recent samples, ms. */
export interface Percentiles {
  p50: number;
  p99: number;
  /** Samples the figures are drawn from (the most recent ones, up to the window). */
  count: number;
}

/** Samples kept: a power of two, so that the ring index is a mask. */
const WINDOW = 1024;

/**
 * The most recent durations in a fixed ring: recording is one store, and percentiles
 * are computed only when asked (by `stats()`).
 */
export class LatencyWindow {
  private readonly samples = new Float64Array(WINDOW);
  private recorded = 0;

  record(ms: number): void {
    this.samples[this.recorded++ & (WINDOW - 1)] = ms;
  }

  percentiles(): Percentiles {
    const count = Math.min(this.recorded, this.samples.length);
    if (count === 0) return { p50: 0, p99: 0, count: 0 };
    const sorted = this.samples.slice(0, count).sort();
    const at = (q: number): number => sorted[Math.min(count - 1, Math.ceil(q * count) - 1)];
    return { p50: at(0.5), p99: at(0.99), count };
  }
}
