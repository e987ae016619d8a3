import { InMemoryJobStore } from '@recon/adapters/embedded';
import {
  BARRIERS,
  type DivergenceRow,
  type JobRecord,
  resumeJob,
  type ServiceContext,
  type ShardCounts,
  type TextColumnData,
} from '@recon/contracts';
import { jobRequest } from '@recon/contracts/testing';
import { describe, expect, it } from 'vitest';
import type { BiRefresh } from './bi-refresh.ts';
import { csvField, rejectsCsv } from './csv-writer.ts';
import { DEFAULT_REPORTER_OPTIONS, partCount, refreshBi } from './handlers/matching-completed.ts';
import { mergeOrder, sortKeyTexts } from './merge.ts';
import { buildSummary, DEFAULT_ALERTS } from './summary.ts';

describe('mergeOrder', () => {
  /** The merged rows as `tipo:ordem@list`. */
  function merged(lists: [string, string][][]): string[] {
    const { list, at } = mergeOrder(
      lists.map((l) => l.map(([t]) => t)),
      lists.map((l) => l.map(([, o]) => o)),
    );
    return Array.from(list, (l, k) => {
      const [t, o] = lists[l]![at[k]!]!;
      return `${t}:${o}@${l}`;
    });
  }

  it('merges sorted lists into one sorted list, keeping every row', () => {
    const lists: [string, string][][] = [
      [
        ['TIPO_1', 'A'],
        ['TIPO_1', 'D'],
        ['TIPO_3_VALOR', 'B'],
      ],
      [],
      [
        ['TIPO_1', 'B'],
        ['TIPO_2', 'A'],
      ],
      [['TIPO_1', 'C']],
    ];
    expect(merged(lists)).toEqual([
      'TIPO_1:A@0',
      'TIPO_1:B@2',
      'TIPO_1:C@3',
      'TIPO_1:D@0',
      'TIPO_2:A@2',
      'TIPO_3_VALOR:B@0',
    ]);
    expect(merged([])).toEqual([]);
    expect(merged([[], []])).toEqual([]);
  });

  it('gives the order of a stable sort of the lists one after another, ties included', () => {
    let seed = 3;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const TIPOS = ['TIPO_1', 'TIPO_2', 'TIPO_3_DATA', 'TIPO_3_VALOR', 'TIPO_3_NOME'];
    const byKey = ([ta, oa]: [string, string], [tb, ob]: [string, string]) =>
      ta < tb ? -1 : ta > tb ? 1 : oa < ob ? -1 : oa > ob ? 1 : 0;
    for (let round = 0; round < 200; round++) {
      const count = Math.floor(random() * 40);
      const lists: [string, string][][] = [];
      for (let l = 0; l < count; l++) {
        const rows = Array.from(
          { length: Math.floor(random() * 30) },
          // Few distinct keys: equal keys within and across lists.
          () =>
            [
              TIPOS[Math.floor(random() * TIPOS.length)]!,
              // UTF-8 and UTF-16 orders differ between U+FF01 and a surrogate pair (🙂).
              `O${Math.floor(random() * 20)}${['é', '\uFF01', '🙂', ''][Math.floor(random() * 4)]}`,
            ] as [string, string],
        );
        lists.push(rows.sort(byKey));
      }
      const expected = lists
        .flatMap((rows, l) => rows.map((r) => ({ r, l })))
        .sort((a, b) => byKey(a.r, b.r))
        .map(({ r: [t, o], l }) => `${t}:${o}@${l}`);
      // Array.prototype.sort is stable: rows of equal keys stay in list order, then row order.
      expect(merged(lists)).toEqual(expected);
    }
  });
});

describe('sortKeyTexts', () => {
  /** A text column of these values (null: a null), as a shard result holds it. */
  function column(values: readonly (string | null)[]): TextColumnData {
    const parts = values.map((v) => Buffer.from(v ?? '', 'utf8'));
    const offsets = new Int32Array(values.length + 1);
    parts.forEach((p, i) => {
      offsets[i + 1] = offsets[i]! + p.length;
    });
    const nulls = Uint8Array.from(values, (v) => (v === null ? 1 : 0));
    return { bytes: Buffer.concat(parts), offsets, nulls };
  }

  it('decodes every value, telling apart neighbours of the same length, and a null as the empty string', () => {
    const values = [
      'TIPO_1',
      'TIPO_1',
      'TIPO_2',
      'TIPO_2',
      'ORD-1',
      'ORD-2',
      'ORD-2',
      'ação',
      'açãp',
      null,
      'x',
      '',
      'x',
    ];
    const col = column(values);
    expect(sortKeyTexts(col, values.length)).toEqual(values.map((v) => v ?? ''));
    // Only the first n values.
    expect(sortKeyTexts(col, 3)).toEqual(['TIPO_1', 'TIPO_1', 'TIPO_2']);
  });
});

describe('rejeitados.csv', () => {
  it('quotes fields that need it (RFC 4180) and keeps raw content exactly', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a;b')).toBe('"a;b"');
    expect(csvField('diz "oi"')).toBe('"diz ""oi"""');
    expect(csvField(' edge')).toBe('" edge"');
    expect(csvField('a\nb')).toBe('"a\nb"');
    expect(
      rejectsCsv([
        {
          linha: 7,
          motivo: 'FIELD_COUNT',
          mensagem: 'esperados 6 campos separados por ";"',
          conteudo: 'F;"x"',
        },
      ]),
    ).toBe(
      'linha;motivo;mensagem;conteudo\n7;FIELD_COUNT;"esperados 6 campos separados por "";""";"F;""x"""\n',
    );
  });
});

describe('buildSummary', () => {
  const counts = (o: Partial<ShardCounts>): ShardCounts => ({
    vendorValid: 0,
    vendorDuplicates: 0,
    baseInScope: 0,
    baseDuplicates: 0,
    matched: 0,
    divergentOrders: 0,
    distinctOrders: 0,
    rows: 0,
    byType: {
      TIPO_1: 0,
      TIPO_2: 0,
      TIPO_3_VALOR: 0,
      TIPO_3_DATA: 0,
      TIPO_3_NOME: 0,
      TIPO_3_ATIVO: 0,
      TIPO_3_FORNECEDOR: 0,
    },
    bySeverity: { HIGH: 0, MEDIUM: 0, LOW: 0 },
    bySupplier: {},
    ...o,
  });
  const job: JobRecord = {
    jobId: 'JOB-20261122-000001',
    request: jobRequest('JOB-20261122-000001', {
      base: { kind: 'csv', key: 'b.csv' },
      shardCount: 2,
      chunkBytes: 1024,
    }),
    status: 'REPORTING',
    history: [{ status: 'RECEIVED', at: '2026-11-22T06:00:00.000Z' }],
    stages: { ingest: { startedAt: '2026-11-22T06:00:00.000Z', finishedAt: '2026-11-22T06:00:01.500Z' } },
    facts: { total_lines: 100 },
    error: null,
  };
  const shards = [
    counts({
      vendorValid: 50,
      vendorDuplicates: 2,
      matched: 40,
      baseInScope: 45,
      divergentOrders: 15,
      distinctOrders: 55,
      bySupplier: { F1: 9, F2: 3 },
    }),
    counts({
      vendorValid: 40,
      vendorDuplicates: 1,
      matched: 40,
      baseInScope: 40,
      divergentOrders: 0,
      distinctOrders: 40,
      bySupplier: { F2: 6 },
    }),
  ];
  const chunks = [{ records: 100, valid: 93, invalid: 7 }];

  it('adds up shards and chunks, closes the accounting and raises the alerts of RULES §7', () => {
    const { summary, alerts } = buildSummary({
      job,
      shards,
      chunks,
      rejectsByReason: {},
      baseInvalid: 0,
      finishedAt: new Date('2026-11-22T06:19:00.000Z'),
      outputs: {},
      alerts: DEFAULT_ALERTS,
    });
    expect(summary).toMatchObject({
      total_lines: 100,
      valid_lines: 90,
      invalid_lines: 10,
      matched: 80,
      base_rows: 85,
    });
    expect(summary.divergence_rate).toBeCloseTo(15 / 95, 12);
    expect(summary.top_suppliers).toEqual([
      { fornecedor_id: 'F1', count: 9 },
      { fornecedor_id: 'F2', count: 9 },
    ]);
    expect(summary.stage_seconds).toEqual({ ingest: 1.5, total: 1140 });
    expect(alerts.map((a) => [a.alert, a.severity])).toEqual([
      ['ERROR_RATE', 'CRITICAL'],
      ['DIVERGENCE_RATE', 'MEDIUM'],
      ['PROCESSING_TIME', 'HIGH'],
    ]);
  });

  it('refuses to report when the line accounting does not close', () => {
    expect(() =>
      buildSummary({
        job,
        shards,
        chunks: [{ records: 101, valid: 93, invalid: 7 }],
        rejectsByReason: {},
        baseInvalid: 0,
        finishedAt: new Date(),
        outputs: {},
        alerts: DEFAULT_ALERTS,
      }),
    ).toThrow(/line accounting does not close/);
  });
});

describe('the BI refresh step', () => {
  const lines: string[] = [];
  const ctx = {
    log: {
      info: (f: Record<string, unknown>, m: string) => lines.push(`info ${m} ${JSON.stringify(f)}`),
      warn: () => {},
      error: (f: Record<string, unknown>, m: string) => lines.push(`error ${m} ${JSON.stringify(f)}`),
    },
  } as unknown as ServiceContext;

  it('refreshes the day with the job id as ingestion id, and a failure is logged, not thrown', async () => {
    const calls: unknown[] = [];
    const ok: BiRefresh = {
      refresh: async (r) => {
        calls.push(r);
        return { partition: 'created', ingestionId: r.ingestionId ?? '', ingestionStatus: 'INITIALIZED' };
      },
    };
    await refreshBi(ctx, { ...DEFAULT_REPORTER_OPTIONS, biRefresh: ok }, 'JOB-20261122-000001', '2026-11-21');
    expect(calls).toEqual([
      { jobId: 'JOB-20261122-000001', referenceDate: '2026-11-21', ingestionId: 'JOB-20261122-000001' },
    ]);
    const failing: BiRefresh = {
      refresh: async () => {
        throw new Error('QuickSight throttled');
      },
    };
    await expect(
      refreshBi(
        ctx,
        { ...DEFAULT_REPORTER_OPTIONS, biRefresh: failing },
        'JOB-20261122-000002',
        '2026-11-21',
      ),
    ).resolves.toBeUndefined();
    expect(
      lines.some((l) => l.startsWith('error BI refresh failed') && l.includes('QuickSight throttled')),
    ).toBe(true);
    await refreshBi(ctx, DEFAULT_REPORTER_OPTIONS, 'JOB-20261122-000003', '2026-11-21');
    expect(lines).toHaveLength(2);
  });
});

describe('shard results written by older matchers (version 1, JSON)', () => {
  it('read to the same columns as version 2', async () => {
    const { decodeShardResult } = await import('./shard-result.ts');
    const { divergenceRowsToColumns, encodeShardResult } = await import('@recon/contracts');
    const rows = [
      {
        job_id: 'JOB-20261122-000001',
        tipo_divergencia: 'TIPO_1',
        severidade: 'HIGH',
        ordem_id: 'O1',
        fornecedor_id: 'F',
        nome: 'Ana Souza',
        ativo_id: 'A',
        data: '2026-11-20',
        data_base: null,
        valor_csv: '1.00',
        valor_base: null,
        diferenca: null,
        campo: null,
        detalhes: 'ordem O1 está no arquivo (linha 2) e não está na base',
        hash_linha: 'b'.repeat(64),
        linha_arquivo: 2,
        timestamp: 1_763_800_000_000,
      } as DivergenceRow,
    ];
    const output = { divergences: rows, vendorDuplicates: [], baseDuplicates: [], counts: {} as never };
    const v1 = decodeShardResult(Buffer.from(JSON.stringify(output)), 'v1');
    const v2 = decodeShardResult(
      encodeShardResult({ ...output, divergences: divergenceRowsToColumns(rows) }),
      'v2',
    );
    const text = (c: typeof v1.divergences, col: 'nome' | 'data_base') =>
      c.text[col].nulls[0] === 1
        ? null
        : c.text[col].bytes.toString('utf8', c.text[col].offsets[0], c.text[col].offsets[1]);
    expect(text(v1.divergences, 'nome')).toBe('Ana Souza');
    expect(text(v1.divergences, 'data_base')).toBeNull();
    expect([text(v2.divergences, 'nome'), text(v2.divergences, 'data_base')]).toEqual(['Ana Souza', null]);
    expect(Array.from(v1.divergences.linhaArquivo)).toEqual(Array.from(v2.divergences.linhaArquivo));
  });
});

describe('a report written in parts', () => {
  it('has as many parts as rowsPerFile asks, or one per reporter when each gets 20,000 rows or more', () => {
    const parts = (rows: number, reportParts?: number, rowsPerFile = 250_000) =>
      partCount(rows, {
        ...DEFAULT_REPORTER_OPTIONS,
        rowsPerFile,
        ...(reportParts === undefined ? {} : { reportParts }),
      });
    expect(parts(0)).toBe(1);
    expect(parts(102_000)).toBe(1);
    expect(parts(102_000, 2)).toBe(2);
    expect(parts(39_999, 2)).toBe(1);
    expect(parts(40_000, 2)).toBe(2);
    expect(parts(50_000, 4)).toBe(2);
    expect(parts(600_000, 2)).toBe(3);
    expect(parts(2_000, 2, 600)).toBe(4);
  });

  it('finishes once per run: a report resumed after a stop fires its parts barrier again', async () => {
    const jobs = new InMemoryJobStore();
    const request = jobRequest('JOB-20261122-000007', { shardCount: 1, chunkBytes: 1 << 20 });
    const at = '2026-11-22T06:00:00.000Z';
    await jobs.createJob(request, at);
    await jobs.mergeFacts(request.jobId, { vendor_chunks: 1 });
    await jobs.completeUnit(request.jobId, BARRIERS.vendorChunks, '000000', null);
    await jobs.completeUnit(request.jobId, BARRIERS.base, '000000', null);
    await jobs.completeUnit(request.jobId, BARRIERS.shards, '000000', null);
    await jobs.setStatus(request.jobId, 'REPORTING', at);
    const writeParts = async () => {
      await jobs.setExpected(request.jobId, BARRIERS.reportParts, 2);
      return [
        await jobs.completeUnit(request.jobId, BARRIERS.reportParts, '000002-000001', null),
        await jobs.completeUnit(request.jobId, BARRIERS.reportParts, '000002-000002', null),
      ];
    };
    expect(await writeParts()).toEqual([false, true]);
    // Stopped before the report was announced (the deadline, say), then reprocessed.
    await jobs.fail(
      request.jobId,
      'TIMEOUT',
      { stage: 'reporting', code: 'DEADLINE_EXCEEDED', message: 'x' },
      at,
    );
    const published: string[] = [];
    const events = { publish: async (type: string) => void published.push(type) };
    expect(await resumeJob({ jobs, events }, request.jobId, undefined, at)).toBe('report');
    expect(published).toEqual(['matching.completed']);
    expect(await writeParts()).toEqual([false, true]);
  });
});
