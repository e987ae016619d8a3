import { DEFAULT_MAX_INVALID_RATE, type JobRequested } from './events.ts';

/**
 * TEST ONLY: a job request with settled defaults (a PostgreSQL base `transacoes`, the date window,
 * reference date 2026-11-21, arrived 2026-11-22 06:00 UTC, 4 shards of 1 MiB chunks), with
 * `overrides`: tests name only what matters to them.
 */
export function jobRequest(jobId: string, overrides: Partial<JobRequested> = {}): JobRequested {
  return {
    jobId,
    file: { key: '2026-11-21/vendor.csv' },
    base: { kind: 'postgres', relation: 'transacoes' },
    scope: 'date-window',
    referenceDate: '2026-11-21',
    arrivedAt: '2026-11-22T06:00:00.000Z',
    maxInvalidRate: DEFAULT_MAX_INVALID_RATE,
    shardCount: 4,
    chunkBytes: 1 << 20,
    ...overrides,
  };
}
