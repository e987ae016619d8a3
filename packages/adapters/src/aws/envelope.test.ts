import { describe, expect, it } from 'vitest';
import { toBatches } from './batches.ts';
import { createEnvelope, decodeEnvelope } from './envelope.ts';
import { isObjectNotFound, isTransientAwsError, toReconError } from './errors.ts';

const JOB = 'JOB-20240315-000042';

describe('envelopes on the wire', () => {
  const envelope = createEnvelope(
    { type: 'matching.completed', id: 'm1', payload: { jobId: JOB } },
    'matcher',
    new Date('2024-03-15T10:00:00Z'),
  );

  it('decodes what createEnvelope produced, bare or inside an EventBridge event', () => {
    expect(decodeEnvelope(JSON.stringify(envelope))).toEqual({ ok: true, envelope });
    const event = { version: '0', 'detail-type': 'matching.completed', source: 'recon', detail: envelope };
    expect(decodeEnvelope(JSON.stringify(event))).toEqual({ ok: true, envelope });
  });

  it('rejects bodies that are not JSON, not envelopes, or whose payload breaks its schema', () => {
    for (const body of [
      undefined,
      'not json',
      '{"id":"x"}',
      JSON.stringify({ ...envelope, schemaVersion: 2 }),
      JSON.stringify({ ...envelope, type: 'unknown.event' }),
      JSON.stringify({ ...envelope, payload: { jobId: 'nope' } }),
    ]) {
      const result = decodeEnvelope(body);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error.code).toBe('INVALID_MESSAGE');
    }
  });
});

describe('toBatches', () => {
  it('caps batches by entry count and by bytes, keeping order', () => {
    const sizes = [100, 100, 100, 250, 10, 10];
    const batches = toBatches(sizes, { maxEntries: 3, maxBytes: 300, sizeOf: (n) => n });
    expect(batches).toEqual([
      [100, 100, 100],
      [250, 10, 10],
    ]);
    expect(toBatches([400, 1], { maxEntries: 10, maxBytes: 300, sizeOf: (n) => n })).toEqual([[400], [1]]);
    expect(
      toBatches(
        Array.from({ length: 23 }, () => 1),
        { maxEntries: 10, maxBytes: 1e6, sizeOf: () => 1 },
      ).map((b) => b.length),
    ).toEqual([10, 10, 3]);
  });
});

describe('AWS error classification', () => {
  const sdkError = (name: string, status: number) =>
    Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

  it('tells missing objects, transient failures and configuration errors apart', () => {
    expect(isObjectNotFound(sdkError('NoSuchKey', 404))).toBe(true);
    expect(isObjectNotFound(sdkError('NotFound', 404))).toBe(true);
    expect(isObjectNotFound(sdkError('NoSuchBucket', 404))).toBe(false);
    expect(isTransientAwsError(sdkError('SlowDown', 503))).toBe(true);
    expect(isTransientAwsError(sdkError('ThrottlingException', 400))).toBe(true);
    expect(isTransientAwsError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isTransientAwsError(sdkError('AccessDenied', 403))).toBe(false);
    expect(toReconError(sdkError('AccessDenied', 403), 'x')).toMatchObject({
      code: 'INVALID_CONFIG',
      transient: false,
    });
    const transient = toReconError(sdkError('InternalError', 500), 'reading s3://b/k');
    expect(transient).toMatchObject({ code: 'INTERNAL', transient: true });
    expect(transient.cause).toBeInstanceOf(Error);
  });
});
