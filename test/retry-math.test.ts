import { describe, expect, it } from 'vitest';
import { nextDelay } from '../src/index.js';

const error = new Error('x');
const never = () => 0.5;

describe('nextDelay', () => {
  it('fixed, linear and exponential grow as named', () => {
    const delays = (type: 'fixed' | 'linear' | 'exponential') => [1, 2, 3, 4].map((n) => nextDelay(n, { type, delay: 100 }, error, never));
    expect(delays('fixed')).toEqual([100, 100, 100, 100]);
    expect(delays('linear')).toEqual([100, 200, 300, 400]);
    expect(delays('exponential')).toEqual([100, 200, 400, 800]);
  });

  it('caps at max before jitter', () => {
    expect(nextDelay(20, { type: 'exponential', delay: 100, max: 30_000 }, error, never)).toBe(30_000);
    expect(nextDelay(2000, { type: 'exponential', delay: 100, max: 5 }, error, never)).toBe(5);
  });

  it('full jitter draws from [0, delay] with the injected random', () => {
    const policy = { type: 'fixed' as const, delay: 1000, jitter: true };
    expect(nextDelay(1, policy, error, () => 0)).toBe(0);
    expect(nextDelay(1, policy, error, () => 0.5)).toBe(500);
    expect(nextDelay(1, policy, error, () => 0.9999999)).toBe(1000);
  });

  it('a number is a fixed delay; a function decides per attempt and error', () => {
    expect(nextDelay(3, 250, error, never)).toBe(250);
    expect(nextDelay(3, (attempt, e) => attempt * 10 + e.message.length, error, never)).toBe(31);
  });

  it('a custom function returning garbage means no wait, never NaN', () => {
    expect(nextDelay(1, () => NaN, error, never)).toBe(0);
    expect(nextDelay(1, () => -5, error, never)).toBe(0);
  });
});
