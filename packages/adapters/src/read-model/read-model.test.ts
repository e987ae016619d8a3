import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  compareDivergences,
  type DivergenceItem,
  type DivergenceRow,
  divergenceRowsToColumns,
  type JobSummary,
  SEVERIDADES,
  TIPOS,
  type TipoDivergencia,
  zeroPerSeveridade,
  zeroPerTipo,
} from '@recon/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PostgresHandle, startEmbeddedPostgres } from '../postgres/embedded.ts';
import { ApiKeyStore, parseApiKey } from './api-keys.ts';
import { divergenceCopyRows } from './copy-rows.ts';
import { PostgresReadModel } from './postgres.ts';

let root: string;
let server: PostgresHandle;
let model: PostgresReadModel;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'recon-read-model-'));
  server = await startEmbeddedPostgres({ dataDir: path.join(root, 'data') });
  model = new PostgresReadModel(server.url);
  expect(await model.migrate()).toEqual(['20261122150000_create_read_model']);
  expect(await model.migrate()).toEqual([]);
});

afterAll(async () => {
  await model?.close();
  await server?.stop();
  await fs.rm(root, { recursive: true, force: true });
});

const SUPPLIERS = ['F001', 'F002', 'F003', 'F004'];
const SEVERITY: Record<TipoDivergencia, DivergenceRow['severidade']> = {
  TIPO_1: 'HIGH',
  TIPO_2: 'HIGH',
  TIPO_3_VALOR: 'HIGH',
  TIPO_3_DATA: 'MEDIUM',
  TIPO_3_NOME: 'LOW',
  TIPO_3_ATIVO: 'MEDIUM',
  TIPO_3_FORNECEDOR: 'MEDIUM',
};

/** Deterministic rows of one job, sorted as the reporter writes them; some with text COPY must escape. */
function rowsOf(jobId: string, n: number, seed: number): DivergenceRow[] {
  const rows: DivergenceRow[] = [];
  for (let i = 0; i < n; i++) {
    const k = (i * 7 + seed) % 97;
    const tipo = TIPOS[k % TIPOS.length]!;
    const cents = BigInt(k * 1_234_567 + i) - 500_000n;
    const valor = (c: bigint) =>
      `${c < 0n ? '-' : ''}${(c < 0n ? -c : c) / 100n}.${String((c < 0n ? -c : c) % 100n).padStart(2, '0')}`;
    rows.push({
      job_id: jobId,
      tipo_divergencia: tipo,
      severidade: SEVERITY[tipo],
      // ordem ids shared across tipos of one order (several TIPO_3 on one order)
      ordem_id: `ORD-${String(Math.floor(i / 2) + seed * 1000).padStart(7, '0')}`,
      fornecedor_id: SUPPLIERS[k % SUPPLIERS.length]!,
      nome: i % 11 === 0 ? 'José\tda Silva\\Júnior\nSegundo' : `Cliente Ção ${i}`,
      ativo_id: `AT${k}`,
      data: '2026-11-21',
      data_base: tipo === 'TIPO_1' ? null : '2026-11-20',
      valor_csv: tipo === 'TIPO_2' ? null : valor(cents),
      valor_base: tipo === 'TIPO_1' ? null : valor(cents + 724n),
      diferenca: tipo === 'TIPO_1' || tipo === 'TIPO_2' ? null : valor(-724n),
      campo: tipo.startsWith('TIPO_3_') ? (tipo.slice(7).toLowerCase() as DivergenceRow['campo']) : null,
      detalhes: `valor no arquivo ${valor(cents)}; nome "José da Silva"`,
      hash_linha: `${i.toString(16).padStart(8, '0')}${'ab'.repeat(28)}`,
      linha_arquivo: tipo === 'TIPO_2' ? null : i + 2,
      timestamp: Date.parse('2026-11-22T06:00:00.123Z'),
    });
  }
  return rows.sort(compareDivergences);
}

function summaryOf(jobId: string, dt: string, rows: DivergenceRow[], finishedAt: string): JobSummary {
  const divergences = zeroPerTipo();
  const bySeverity = zeroPerSeveridade();
  for (const r of rows) {
    divergences[r.tipo_divergencia]++;
    bySeverity[r.severidade]++;
  }
  const divergentOrders = new Set(rows.map((r) => r.ordem_id)).size;
  return {
    job_id: jobId,
    status: 'SUCCEEDED',
    file_sha256: 'f'.repeat(64),
    reference_date: dt,
    total_lines: 10_000,
    valid_lines: 9_990,
    invalid_lines: 10,
    base_rows: 10_000,
    matched: 9_000,
    divergences,
    by_severity: bySeverity,
    divergence_rate: divergentOrders / 10_050,
    top_suppliers: [],
    stage_seconds: {},
    started_at: '2026-11-22T06:00:00.000Z',
    finished_at: finishedAt,
    outputs: {},
    distinct_orders: 10_050,
    divergent_orders: divergentOrders,
  };
}

/** Loads rows the way the reporter does: columns, split in two lists, merged order. */
async function load(summary: JobSummary, rows: DivergenceRow[]): Promise<void> {
  const half = Math.floor(rows.length / 2);
  // Two "shards" whose merged order is the sorted order: even rows in one, odd in the other.
  const a = rows.filter((_, i) => i % 2 === 0);
  const b = rows.filter((_, i) => i % 2 === 1);
  const list = new Int32Array(rows.length);
  const at = new Int32Array(rows.length);
  for (let k = 0; k < rows.length; k++) {
    list[k] = k % 2;
    at[k] = k >> 1;
  }
  expect(half).toBeLessThanOrEqual(rows.length);
  await model.load(
    summary,
    divergenceCopyRows(
      [divergenceRowsToColumns(a), divergenceRowsToColumns(b)],
      { list, at },
      summary.reference_date,
    ),
  );
}

function asItem(r: DivergenceRow, dt: string): DivergenceItem {
  return { ...r, dt, timestamp: new Date(r.timestamp).toISOString() } as DivergenceItem;
}

const DAY1 = rowsOf('JOB-20261122-000001', 530, 1);
const DAY2_OLD = rowsOf('JOB-20261122-000002', 120, 2);
const DAY2 = rowsOf('JOB-20261122-000003', 260, 3);

describe('PostgresReadModel', () => {
  beforeAll(async () => {
    await load(summaryOf('JOB-20261122-000001', '2026-11-20', DAY1, '2026-11-22T06:01:00.000Z'), DAY1);
    await load(
      summaryOf('JOB-20261122-000002', '2026-11-21', DAY2_OLD, '2026-11-22T07:00:00.000Z'),
      DAY2_OLD,
    );
    // A forced rerun of 2026-11-21, later: it becomes that date's current job.
    await load(summaryOf('JOB-20261122-000003', '2026-11-21', DAY2, '2026-11-22T08:00:00.000Z'), DAY2);
  });

  it('returns every loaded row exactly as it went in (escaped text, exact money, nulls), in page order', async () => {
    const got: DivergenceItem[] = [];
    for await (const batch of model.stream({ jobId: 'JOB-20261122-000001' }, 97)) got.push(...batch);
    expect(got).toEqual(DAY1.map((r) => asItem(r, '2026-11-20')));
  });

  it('loading a job again replaces its rows instead of adding to them', async () => {
    const summary = summaryOf('JOB-20261122-000001', '2026-11-20', DAY1, '2026-11-22T06:01:00.000Z');
    await load(summary, DAY1);
    expect(await model.count({ jobId: 'JOB-20261122-000001' })).toBe(DAY1.length);
  });

  it('refuses (and rolls back) a load whose rows do not match the summary', async () => {
    const summary = summaryOf('JOB-20261122-000009', '2026-11-19', DAY1, '2026-11-22T06:01:00.000Z');
    const rows = rowsOf('JOB-20261122-000009', 530, 1);
    await expect(load(summary, rows.slice(1))).rejects.toThrow(/530 divergences in its summary but 529 rows/);
    expect(await model.report('JOB-20261122-000009')).toBeUndefined();
    // Rows of another job are refused too.
    await expect(load(summary, DAY1)).rejects.toThrow(
      /job JOB-20261122-000009 collide .* rows of another job/,
    );
    const other = rowsOf('JOB-20261122-000001', 530, 1).map((r) => ({ ...r, job_id: 'JOB-20261122-000077' }));
    await expect(load(summary, other)).rejects.toThrow(/violates foreign key/);
    expect(await model.count({ jobId: 'JOB-20261122-000001' })).toBe(DAY1.length);
  });

  it('without job_id counts only the current job of each date; the replaced job stays reachable by id', async () => {
    expect(await model.count({})).toBe(DAY1.length + DAY2.length);
    expect(await model.count({ jobId: 'JOB-20261122-000002' })).toBe(DAY2_OLD.length);
    const page = await model.divergences({}, { page: 1 });
    expect(page.items.every((i) => i.job_id !== 'JOB-20261122-000002')).toBe(true);
    // Newest date first.
    expect(page.items[0]!.dt).toBe('2026-11-21');
  });

  it('filters by type, severity, supplier, order and period', async () => {
    const current = [
      ...DAY1.map((r) => asItem(r, '2026-11-20')),
      ...DAY2.map((r) => asItem(r, '2026-11-21')),
    ];
    const cases: [Parameters<PostgresReadModel['count']>[0], (i: DivergenceItem) => boolean][] = [
      [{ tipos: ['TIPO_1'] }, (i) => i.tipo_divergencia === 'TIPO_1'],
      [
        { tipos: ['TIPO_3_VALOR', 'TIPO_3_NOME'] },
        (i) => ['TIPO_3_VALOR', 'TIPO_3_NOME'].includes(i.tipo_divergencia),
      ],
      [{ severidades: ['MEDIUM'] }, (i) => i.severidade === 'MEDIUM'],
      [{ fornecedorId: 'F003' }, (i) => i.fornecedor_id === 'F003'],
      [{ ordemId: DAY2[5]!.ordem_id }, (i) => i.ordem_id === DAY2[5]!.ordem_id],
      [{ dtFrom: '2026-11-21' }, (i) => i.dt >= '2026-11-21'],
      [
        { dtTo: '2026-11-20', fornecedorId: 'F001', severidades: ['HIGH'] },
        (i) => i.dt <= '2026-11-20' && i.fornecedor_id === 'F001' && i.severidade === 'HIGH',
      ],
    ];
    for (const [filter, keep] of cases) {
      const expected = current.filter(keep).length;
      expect(expected).toBeGreaterThan(0);
      expect(await model.count(filter), JSON.stringify(filter)).toBe(expected);
      const page = await model.divergences(filter, { page: 1 });
      expect(page.total).toBe(expected);
      expect(page.items.every(keep)).toBe(true);
    }
  });

  it('pages by number and by cursor agree, 100 rows a page, no row twice or missing', async () => {
    const byPage: string[] = [];
    const total = await model.count({});
    for (let p = 1; p <= Math.ceil(total / 100); p++) {
      const page = await model.divergences({}, { page: p });
      expect(page.page_size).toBe(100);
      byPage.push(...page.items.map((i) => `${i.job_id}/${i.hash_linha}/${i.tipo_divergencia}`));
    }
    const byCursor: string[] = [];
    let cursor: string | undefined;
    do {
      const page: Awaited<ReturnType<PostgresReadModel['divergences']>> = await model.divergences(
        {},
        cursor === undefined ? {} : { cursor },
      );
      byCursor.push(...page.items.map((i) => `${i.job_id}/${i.hash_linha}/${i.tipo_divergencia}`));
      cursor = page.next_cursor ?? undefined;
    } while (cursor !== undefined);
    expect(byPage).toHaveLength(total);
    expect(byCursor).toEqual(byPage);
    expect(new Set(byPage).size).toBe(total);
    await expect(model.divergences({}, { cursor: 'not-a-cursor' })).rejects.toThrow(/cursor/);
  });

  it('stats: totals, rate, per type and severity, top suppliers and the daily series match the rows', async () => {
    const current = [...DAY1, ...DAY2];
    const stats = await model.stats({});
    expect(stats.jobs).toBe(2);
    expect(stats.total_divergences).toBe(current.length);
    expect(stats.total_lines).toBe(20_000);
    const divergent = new Set(DAY1.map((r) => r.ordem_id)).size + new Set(DAY2.map((r) => r.ordem_id)).size;
    expect(stats.divergence_rate).toBeCloseTo(divergent / 20_100, 12);
    for (const t of TIPOS)
      expect(stats.by_type[t]).toBe(current.filter((r) => r.tipo_divergencia === t).length);
    for (const s of SEVERIDADES)
      expect(stats.by_severity[s]).toBe(current.filter((r) => r.severidade === s).length);
    const bySupplier = new Map<string, number>();
    for (const r of current) bySupplier.set(r.fornecedor_id, (bySupplier.get(r.fornecedor_id) ?? 0) + 1);
    expect(stats.top_suppliers).toEqual(
      [...bySupplier.entries()]
        .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
        .map(([fornecedor_id, count]) => ({ fornecedor_id, count })),
    );
    expect(stats.daily.map((d) => [d.dt, d.divergences, d.total_lines])).toEqual([
      ['2026-11-20', DAY1.length, 10_000],
      ['2026-11-21', DAY2.length, 10_000],
    ]);

    const f = await model.stats({ fornecedorId: 'F002', dtFrom: '2026-11-21' });
    const rows = DAY2.filter((r) => r.fornecedor_id === 'F002');
    expect(f.total_divergences).toBe(rows.length);
    expect(f.jobs).toBe(1);
    expect(f.divergence_rate).toBeCloseTo(new Set(rows.map((r) => r.ordem_id)).size / 10_050, 12);
    expect(f.daily).toEqual([
      {
        dt: '2026-11-21',
        divergences: rows.length,
        total_lines: 10_000,
        divergence_rate: new Set(rows.map((r) => r.ordem_id)).size / 10_050,
      },
    ]);
    expect((await model.stats({ dtFrom: '2030-01-01' })).daily).toEqual([]);
  });
});

describe('PostgresReadModel retention', () => {
  it('prune removes the jobs loaded more than the given days ago, with their rows, and nothing else', async () => {
    const oldRows = rowsOf('JOB-20240110-000101', 40, 5);
    const keptRows = rowsOf('JOB-20240111-000102', 30, 6);
    await load(summaryOf('JOB-20240110-000101', '2024-01-09', oldRows, '2024-01-10T06:00:00.000Z'), oldRows);
    await load(
      summaryOf('JOB-20240111-000102', '2024-01-10', keptRows, '2024-01-11T06:00:00.000Z'),
      keptRows,
    );
    await model.query(
      "UPDATE recon_job_reports SET loaded_at = now() - interval '800 days' WHERE job_id = 'JOB-20240110-000101'",
    );
    await model.query(
      "UPDATE recon_job_reports SET loaded_at = now() - interval '700 days' WHERE job_id = 'JOB-20240111-000102'",
    );
    const before = await model.count({});
    expect(await model.prune(730)).toEqual(['JOB-20240110-000101']);
    expect(await model.report('JOB-20240110-000101')).toBeUndefined();
    const left = await model.query(
      "SELECT count(*) AS n FROM recon_divergences WHERE job_id = 'JOB-20240110-000101'",
    );
    expect(Number(left[0]!.n)).toBe(0);
    expect(await model.count({ jobId: 'JOB-20240111-000102' })).toBe(keptRows.length);
    expect(await model.count({})).toBe(before - oldRows.length);
    // Nothing else is old enough; the other days of the file's tests are untouched.
    expect(await model.prune(730)).toEqual([]);
    expect(await model.count({ jobId: 'JOB-20261122-000001' })).toBe(DAY1.length);
    await expect(model.prune(0)).rejects.toThrow(/expected a whole number above 0/);
    expect(await model.prune(600)).toEqual(['JOB-20240111-000102']);
  });
});

describe('ApiKeyStore', () => {
  it('creates keys shown once, verifies them by hash, and revokes them', async () => {
    const keys = new ApiKeyStore(model);
    const { key, record } = await keys.create('operator', 'ci');
    expect(parseApiKey(key)?.id).toBe(record.id);
    const stored = await model.query('SELECT secret_sha256 FROM recon_api_keys WHERE id = $1', [record.id]);
    expect(JSON.stringify(stored)).not.toContain(parseApiKey(key)!.secret);
    expect((await keys.verify(key))?.role).toBe('operator');
    expect(await keys.verify(`${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`)).toBeUndefined();
    expect(await keys.verify('rk_nothing')).toBeUndefined();
    expect(await keys.revoke(record.id)).toBe(true);
    expect(await keys.revoke(record.id)).toBe(false);
    expect(await keys.verify(key)).toBeUndefined();
    await expect(keys.create('root' as never, 'x')).rejects.toThrow(/viewer, operator, admin/);
    const a = await keys.secret('session');
    expect(await keys.secret('session')).toEqual(a);
    expect(a.length).toBe(32);
  });
});
