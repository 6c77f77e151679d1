/**
 * Jobs per second from a counter read now and then: the difference between the newest
 * reading and the oldest one within `window` ms. Pure: the caller passes the time.
 */
export class RateMeter {
  private readonly times: number[] = [];
  private readonly values: number[] = [];

  constructor(private readonly window = 10_000) {}

  /** Records a reading of the counter at `now` (ms) and returns the rate, or `undefined` until two readings a while apart exist. */
  read(now: number, value: number): number | undefined {
    const last = this.times.length - 1;
    // Readings closer than 100 ms add nothing but noise; a counter that went down was reset.
    if (last >= 0 && value < this.values[last]) {
      this.times.length = 0;
      this.values.length = 0;
    } else if (last >= 0 && now - this.times[last] < 100) {
      return this.rate();
    }
    this.times.push(now);
    this.values.push(value);
    while (this.times.length > 2 && now - this.times[1] >= this.window) {
      this.times.shift();
      this.values.shift();
    }
    return this.rate();
  }

  private rate(): number | undefined {
    const n = this.times.length;
    if (n < 2) return undefined;
    const seconds = (this.times[n - 1] - this.times[0]) / 1000;
    return (this.values[n - 1] - this.values[0]) / seconds;
  }
}
