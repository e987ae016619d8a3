import { InMemoryJobStore } from '@recon/adapters/embedded';
import { BARRIERS, encodeShardRecord, type ServiceContext, type ShardUnit } from '@recon/contracts';
import { jobRequest } from '@recon/contracts/testing';
import { describe, expect, it } from 'vitest';
import { handleShardReady } from './shard-ready.ts';

const AT = '2026-11-22T06:00:00.000Z';
const request = jobRequest('JOB-20261122-000001', { arrivedAt: AT, shardCount: 2, chunkBytes: 8 << 20 });

function unit(shard: number): ShardUnit {
  return {
    shard,
    resultKey: `work/${request.jobId}/results/shard-000${shard}.rsr`,
    counts: {} as ShardUnit['counts'],
  };
}

async function setup() {
  const jobs = new InMemoryJobStore();
  const published: { type: string; id: string }[] = [];
  const ctx = {
    jobs,
    events: {
      publish: async (type: string, id: string) => {
        published.push({ type, id });
      },
    },
    clock: { now: () => new Date(AT) },
    log: { info() {}, warn() {}, error() {} },
  } as unknown as ServiceContext;
  await jobs.createJob(request, AT);
  await jobs.setExpected(request.jobId, BARRIERS.shards, 2);
  return { jobs, ctx, published };
}

const msg = (shard: number) => ({
  jobId: request.jobId,
  shard,
  shardCount: 2,
  scope: 'date-window' as const,
  window: null,
  vendorParts: [],
  baseParts: [],
});

describe('handleShardReady when its shard is already done', () => {
  it('moves the job to the report when every shard is done but nobody did (the barrier fired while the job was stopped)', async () => {
    const { jobs, ctx, published } = await setup();
    // Both shards completed while the job was CANCELLED: the barrier fired, nobody announced it.
    await jobs.setStatus(request.jobId, 'MATCHING', AT);
    await jobs.fail(request.jobId, 'CANCELLED', { stage: 'matching', code: 'CANCELLED', message: 'x' }, AT);
    await jobs.completeUnit(request.jobId, BARRIERS.shards, '000000', unit(0));
    expect(await jobs.completeUnit(request.jobId, BARRIERS.shards, '000001', unit(1))).toBe(true);
    // A reprocess (resumeJob: one resume more) reopens it and sends the shards again.
    await jobs.mergeFacts(request.jobId, { resumes: 1 });
    expect(await jobs.reopen(request.jobId, 'MATCHING', AT, [])).toBe(true);
    await handleShardReady(ctx, msg(1));
    expect((await jobs.getJob(request.jobId))?.status).toBe('REPORTING');
    expect(published).toEqual([{ type: 'matching.completed', id: `matching.completed:${request.jobId}` }]);
  });

  it('only skips while other shards are pending, and does nothing for a job that is not matching', async () => {
    const { jobs, ctx, published } = await setup();
    await jobs.setStatus(request.jobId, 'MATCHING', AT);
    await jobs.completeUnit(request.jobId, BARRIERS.shards, '000000', unit(0));
    await handleShardReady(ctx, msg(0));
    expect((await jobs.getJob(request.jobId))?.status).toBe('MATCHING');
    // A job never reprocessed: the delivery that completed the last shard moved it on; a
    // duplicate copy of a done shard announces nothing again.
    await jobs.completeUnit(request.jobId, BARRIERS.shards, '000001', unit(1));
    await handleShardReady(ctx, msg(1));
    expect(published).toEqual([]);
    await jobs.fail(
      request.jobId,
      'TIMEOUT',
      { stage: 'matching', code: 'DEADLINE_EXCEEDED', message: 'x' },
      AT,
    );
    await handleShardReady(ctx, msg(1));
    expect((await jobs.getJob(request.jobId))?.status).toBe('TIMEOUT');
    expect(published).toEqual([]);
  });

  it('reads the slices while checking the job; a shard with no work left drops them, failed or not', async () => {
    const { jobs, ctx, published } = await setup();
    await jobs.setStatus(request.jobId, 'MATCHING', AT);
    await jobs.completeUnit(request.jobId, BARRIERS.shards, '000000', unit(0));
    const reads: string[] = [];
    const reading = {
      ...ctx,
      store: {
        getRange: async (key: string) => {
          reads.push(key);
          // The slices are gone (e.g. the work folder was cleaned): harmless for a done shard.
          throw new Error(`${key} is gone`);
        },
      },
    } as unknown as ServiceContext;
    const parts = [{ key: 'work/p/vendor-0000.part', start: 0, end: 10 }];
    // Vitest fails the run on an unhandled rejection: the failed reads must be handled.
    await handleShardReady(reading, { ...msg(0), vendorParts: parts, baseParts: parts });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(reads).toHaveLength(2);
    expect(published).toEqual([]);
    // A shard with work to do gets the read's failure.
    await expect(
      handleShardReady(reading, { ...msg(1), vendorParts: parts, baseParts: parts }),
    ).rejects.toThrow('is gone');
  });
});

describe('handleShardReady when the base slices hold the window only', () => {
  const window = { from: '2026-11-01', to: '2026-11-21' };
  const line = (linha: number, ordem: string, data: string) =>
    encodeShardRecord(linha, {
      fornecedor_id: 'F',
      ordem_id: ordem,
      nome: 'n',
      ativo_id: 'a',
      data,
      valor: '1.00',
    });

  async function matchWith(base: ServiceContext['base']) {
    const { jobs, ctx } = await setup();
    await jobs.setStatus(request.jobId, 'MATCHING', AT);
    // 25,000 vendor orders, none in the shard's window slice: all are looked up.
    let vendor = '';
    for (let k = 0; k < 25_000; k++) vendor += line(k + 2, `O${k}`, '2026-11-20');
    const objects = new Map<string, Buffer>([['work/p/vendor.part', Buffer.from(vendor)]]);
    const matching = {
      ...ctx,
      base,
      store: {
        getRange: async (key: string, start: number, end: number) => objects.get(key)!.subarray(start, end),
        put: async (key: string, body: Uint8Array) => {
          objects.set(key, Buffer.from(body));
        },
      },
    } as unknown as ServiceContext;
    await handleShardReady(matching, {
      ...msg(0),
      window,
      lookupMissing: true,
      vendorParts: [{ key: 'work/p/vendor.part', start: 0, end: vendor.length }],
    });
    const [unit] = await jobs.listUnits<ShardUnit>(request.jobId, BARRIERS.shards);
    return unit?.data.counts;
  }

  it('looks the unmatched orders up in batches, and matches the rows found', async () => {
    const batches: number[] = [];
    const counts = await matchWith({
      lookupOrders: async (relation: string, ids: readonly string[], w: typeof window) => {
        expect([relation, w]).toEqual(['transacoes', window]);
        batches.push(ids.length);
        // Two orders moved out of the window; one row breaks a rule (no date): a base reject.
        return [
          ...(ids.includes('O7') ? [['F', 'O7', 'n', 'a', '2025-01-01', '1.00']] : []),
          ...(ids.includes('O24000') ? [['F', 'O24000', 'n', 'a', '2026-12-01', '1.00']] : []),
          ...(ids.includes('O9') ? [['F', 'O9', 'n', 'a', null, '1.00']] : []),
        ];
      },
    } as unknown as ServiceContext['base']);
    expect(batches).toEqual([10_000, 10_000, 5_000]);
    expect(counts).toMatchObject({ vendorValid: 25_000, matched: 2, baseInScope: 2 });
    expect(counts!.byType).toMatchObject({ TIPO_1: 24_998, TIPO_3_DATA: 2 });
  });

  it('fails clearly when the matcher has no database to look them up in', async () => {
    await expect(matchWith(undefined)).rejects.toThrow(/no database is configured for the matcher/);
  });
});
