import { describe, expect, it } from 'vitest';
import { holds, until } from './wait.ts';

describe('until', () => {
  it('returns the first value the probe gives, probing again while it gives undefined or throws', async () => {
    let calls = 0;
    const value = await until(
      'the third probe',
      () => {
        calls++;
        if (calls === 1) throw new Error('not there yet');
        return calls === 3 ? 'ready' : undefined;
      },
      { intervalMs: 1 },
    );
    expect(value).toBe('ready');
    expect(calls).toBe(3);
  });

  it('gives up after the timeout, saying what it waited for and what it last saw', async () => {
    let seen = 0;
    await expect(
      until(
        () => `a count of 10 (is ${seen})`,
        () => holds(++seen >= 10_000),
        { timeoutMs: 30, intervalMs: 5 },
      ),
    ).rejects.toThrow(/^timed out after 30 ms waiting for a count of 10 \(is \d+\)$/);
    expect(seen).toBeGreaterThan(1);
  });
});
