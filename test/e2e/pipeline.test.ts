import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { openRuntime, reconcile } from '@recon/cli/reconcile';
import { DEFAULT_SERVICE_OPTIONS, type EmbeddedRuntime, type JobOutcome } from '@recon/cli/runtime';
import { BARRIERS, TIPOS, type VendorChunkUnit } from '@recon/contracts';
import type { GeneratedDay } from '@recon/generator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OracleRow, oracleReconcile } from '../oracle/duckdb-oracle.ts';
import { smallMixedDay } from '../support/day.ts';
import { readParquet } from '../support/parquet.ts';

let dir: string;
let day: GeneratedDay;

beforeAll(async () => {
  ({ dir, day } = await smallMixedDay('recon-e2e-', 7));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The columns both recon and the oracle produce (everything but job_id, detalhes, linha, timestamp). */
const ORACLE_COLUMNS = [
  'tipo_divergencia',
  'ordem_id',
  'severidade',
  'campo',
  'fornecedor_id',
  'nome',
  'ativo_id',
  'data',
  'data_base',
  'valor_csv',
  'valor_base',
  'diferenca',
  'hash_linha',
] as const satisfies readonly (keyof OracleRow)[];

const oracleColumns = (r: Pick<OracleRow, (typeof ORACLE_COLUMNS)[number]>) =>
  Object.fromEntries(ORACLE_COLUMNS.map((column) => [column, r[column]]));

describe.each(['date-window', 'all'] as const)('a generated day, CSV base, scope %s', (scope) => {
  it('reconciles to exactly the planted counts and to the rows an independent SQL implementation finds', async () => {
    const out = join(dir, `out-${scope}`);
    // Small chunks and several shards: many units meet at every fan-in point.
    const { summary } = await reconcile({
      file: day.vendorPath,
      base: { kind: 'csv', path: day.basePath },
      out,
      scope,
      // The generated day's (the generator's default): not the day before today's date, which
      // moves with the clock.
      referenceDate: '2026-11-21',
      shards: 5,
      chunkBytes: 128 << 10,
      workers: 2,
    });
    const expected = day.expected[scope];
    expect(summary.status).toBe('SUCCEEDED');
    expect(summary.total_lines).toBe(expected.total_lines);
    expect(summary.valid_lines).toBe(expected.valid_lines);
    expect(summary.invalid_lines).toBe(expected.invalid_lines);
    expect(summary.valid_lines + summary.invalid_lines).toBe(summary.total_lines);
    expect(summary.base_rows).toBe(expected.base_rows);
    expect(summary.matched).toBe(expected.matched);
    expect(summary.divergences).toEqual(expected.divergences);
    expect(summary.divergence_rate).toBeCloseTo(expected.divergence_rate, 12);
    const { rejects_by_reason } = summary;
    for (const [motivo, n] of Object.entries(expected.rejects))
      expect(rejects_by_reason?.[motivo] ?? 0).toBe(n);
    expect(summary.by_severity.HIGH + summary.by_severity.MEDIUM + summary.by_severity.LOW).toBe(
      TIPOS.reduce((n, t) => n + summary.divergences[t], 0),
    );

    const files = summary.outputs.divergences as string[];
    expect(files).toHaveLength(1);
    expect(files[0]).toContain(`divergencias/dt=2026-11-21/${summary.job_id}.parquet`);
    const { rows, jobIds } = await readParquet(files);
    expect(jobIds).toEqual([summary.job_id]);
    const oracle = await oracleReconcile({ vendorCsv: day.vendorPath, baseCsv: day.basePath, scope });
    expect(rows.map(oracleColumns)).toEqual(oracle.rows.map(oracleColumns));

    // Every rejected line is in rejeitados.csv with its line, reason and raw content.
    const rejects = (await readFile(summary.outputs.rejects as string, 'utf8')).trimEnd().split('\n');
    expect(rejects[0]).toBe('linha;motivo;mensagem;conteudo');
    expect(rejects).toHaveLength(summary.invalid_lines + 1);
    const vendorLines = (await readFile(day.vendorPath, 'utf8')).split('\r\n');
    for (const line of rejects.slice(1, 40)) {
      const linha = Number(line.split(';')[0]);
      const raw = vendorLines[linha - 1]!;
      expect(line).toContain(raw.includes(';') ? `"${raw.replaceAll('"', '""')}"` : raw);
    }
    // Intermediate objects are gone after success.
    expect(await readdir(join(out, 'work')).catch(() => [])).toEqual([]);
  });
});

describe('a report written in parts', () => {
  it('by several reporters at once, or by one, holding the shard results or reading them again, holds the rows of the one-file report, in the same order', async () => {
    const logs: string[] = [];
    const run = (out: string, workers: number, rowsPerFile?: number, heldResultBytes?: number) =>
      reconcile({
        file: day.vendorPath,
        base: { kind: 'csv', path: day.basePath },
        out: join(dir, out),
        scope: 'date-window',
        referenceDate: '2026-11-21',
        workers,
        shards: 4,
        logLevel: 'info',
        logDestination: (line) => logs.push(line),
        ...(rowsPerFile === undefined
          ? {}
          : {
              options: {
                ...DEFAULT_SERVICE_OPTIONS,
                reporter: {
                  ...DEFAULT_SERVICE_OPTIONS.reporter,
                  rowsPerFile,
                  ...(heldResultBytes === undefined ? {} : { heldResultBytes }),
                },
              },
            }),
      });
    // One file (the day is too small to be worth parts); four, written by two reporters at once
    // (report.part-requested); four, written one after another by the only one.
    const one = await run('parts-1', 2);
    const parallel = await run('parts-parallel', 2, 600);
    const handledParts = logs
      .map((l) => JSON.parse(l) as { msg: string; event?: string; event_id?: string })
      .filter((l) => l.msg === 'handled' && l.event === 'report.part-requested')
      .map((l) => l.event_id!.split(':').slice(-2).join('/'));
    expect(handledParts.sort()).toEqual(['4/2', '4/3', '4/4']);
    const sequential = await run('parts-sequential', 1, 600);
    // Each reporter holding no result: every part reads the results again for its own rows.
    const reread = await run('parts-reread', 2, 600, 0);
    for (const r of [one, parallel, sequential, reread])
      expect(r.summary.status, JSON.stringify(r.summary.error)).toBe('SUCCEEDED');
    const rowCount = TIPOS.reduce((n, t) => n + one.summary.divergences[t], 0);
    expect(rowCount).toBeGreaterThan(1_800); // four parts of ~500 rows
    expect(one.summary.outputs.divergences).toHaveLength(1);
    const expected = (await readParquet(one.summary.outputs.divergences as string[])).rows;
    for (const r of [parallel, sequential, reread]) {
      const files = r.summary.outputs.divergences as string[];
      expect(files.map((f) => f.slice(f.lastIndexOf('/') + 1))).toEqual(
        [1, 2, 3, 4].map((k) => `${r.summary.job_id}-part-${k}.parquet`),
      );
      // Even parts, in the output order: read one after another, the one file's rows.
      const parts = await Promise.all(files.map((f) => readParquet([f])));
      for (const part of parts) expect(Math.abs(part.rows.length - rowCount / 4)).toBeLessThanOrEqual(1);
      expect(parts.flatMap((part) => part.rows)).toEqual(expected);
      expect(r.summary.divergences).toEqual(one.summary.divergences);
      expect(r.summary.by_severity).toEqual(one.summary.by_severity);
      expect(await readFile(r.summary.outputs.rejects as string, 'utf8')).toBe(
        await readFile(one.summary.outputs.rejects as string, 'utf8'),
      );
    }
  });
});

describe('determinism', () => {
  /** A job of the day, small chunks and 3 shards, writing under `out`. */
  const dayJob = (out: string) => ({
    file: day.vendorPath,
    base: { kind: 'csv' as const, path: day.basePath },
    out: join(dir, out),
    scope: 'date-window' as const,
    workers: 2,
    shards: 3,
    chunkBytes: 64 << 10,
  });

  /** Both jobs succeeded with the same counts, the same Parquet bytes and the same rejects. */
  async function expectSameFiles(a: JobOutcome, b: JobOutcome): Promise<void> {
    for (const r of [a, b]) expect(r.summary.status, JSON.stringify(r.summary.error)).toBe('SUCCEEDED');
    expect(b.summary.divergences).toEqual(a.summary.divergences);
    const [fileA] = a.summary.outputs.divergences as string[];
    const [fileB] = b.summary.outputs.divergences as string[];
    expect(Buffer.compare(await readFile(fileA!), await readFile(fileB!))).toBe(0);
    expect(await readFile(b.summary.outputs.rejects as string, 'utf8')).toBe(
      await readFile(a.summary.outputs.rejects as string, 'utf8'),
    );
  }

  it('gives byte-identical Parquet for the same inputs, job id and clock, and the same rows otherwise', async () => {
    const run = (out: string, fixed: boolean) =>
      reconcile({
        ...dayJob(out),
        ...(fixed ? { jobId: 'JOB-20261122-000042', fixedNow: '2026-11-22T06:00:00.000Z' } : {}),
      });
    const a = await run('det-a', true);
    const b = await run('det-b', true);
    // (A job that did not succeed has no divergence file: its status is checked first, with why.)
    await expectSameFiles(a, b);
    const fileA = (a.summary.outputs.divergences as string[])[0]!;
    const c = await run('det-c', false);
    expect((await readParquet(c.summary.outputs.divergences as string[])).rows).toEqual(
      (await readParquet([fileA])).rows,
    );
    expect(await readFile(c.summary.outputs.rejects as string, 'utf8')).toBe(
      await readFile(a.summary.outputs.rejects as string, 'utf8'),
    );
  });

  it('writes the same files when the parts keep each shard in buckets (matched a bucket at a time)', async () => {
    const runtimes: EmbeddedRuntime[] = [];
    const run = (out: string, shardBuckets: number) =>
      reconcile({
        ...dayJob(out),
        onRuntime: (runtime) => runtimes.push(runtime),
        shardBuckets,
        jobId: 'JOB-20261122-000046',
        fixedNow: '2026-11-22T06:00:00.000Z',
      });
    await expectSameFiles(await run('buckets-1', 1), await run('buckets-8', 8));
    // The second job's parts were written in buckets (3 shards × 8), the first one's were not.
    const [plain, bucketed] = await Promise.all(
      runtimes.map((runtime) =>
        runtime.jobs.listUnits<VendorChunkUnit>('JOB-20261122-000046', BARRIERS.vendorChunks),
      ),
    );
    expect(plain!.length).toBeGreaterThan(1);
    for (const unit of plain!) expect(unit.data.part.buckets).toBeUndefined();
    for (const unit of bucketed!) {
      expect(unit.data.part.buckets).toBe(8);
      expect(unit.data.part.offsets).toHaveLength(3 * 8 + 1);
    }
  });

  it('jobs on a shared runtime (warm workers) write the same files as jobs on runtimes of their own', async () => {
    const params = { ...dayJob('shared'), fixedNow: '2026-11-22T06:00:00.000Z' };
    const alone = await reconcile({ ...params, out: join(dir, 'alone'), jobId: 'JOB-20261122-000043' });
    const shared = openRuntime(params);
    const used: unknown[] = [];
    const onRuntime = (runtime: unknown) => used.push(runtime);
    try {
      await reconcile({ ...params, jobId: 'JOB-20261122-000044', onRuntime }, shared);
      const second = await reconcile({ ...params, jobId: 'JOB-20261122-000043', onRuntime }, shared);
      // The same runtime (the same workers) ran both.
      expect(used).toHaveLength(2);
      for (const runtime of used) expect(runtime).toBe(shared.runtime);
      await expectSameFiles(alone, second);
      // A job for another output folder cannot use it: its services write where it was opened for.
      await expect(
        reconcile({ ...params, out: join(dir, 'elsewhere'), jobId: 'JOB-20261122-000045' }, shared),
      ).rejects.toThrow(/shared runtime was opened for/);
    } finally {
      await shared.runtime.close();
    }
  });
});
