/**
 * `pnpm bench`: generates a day (default 1M lines, 5/3/2 mix), reconciles it with the base as a
 * CSV snapshot and as a PostgreSQL relation, and prints wall time, per-stage time, lines/s and
 * peak RSS next to DuckDB doing the same join in the same run. Figures, not assertions.
 *
 *   pnpm bench [--rows 1000000] [--skip-pg] [--workers N] [--shards N] [--distributed]
 *
 * `--distributed` adds the distributed stack (bench/distributed.ts).
 */
import { execFile } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { startEmbeddedPostgres } from '@recon/adapters';
import type { JobSummary } from '@recon/contracts';
import { generateDay } from '@recon/generator';
import { baseLoad } from '../apps/cli/src/commands/base-load.ts';
import type { ReconcileParams } from '../apps/cli/src/reconcile.ts';

const exec = promisify(execFile);
const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    'skip-pg': { type: 'boolean', default: false },
    workers: { type: 'string' },
    shards: { type: 'string' },
    distributed: { type: 'boolean', default: false },
  },
});
const rows = Number(values.rows as string);
const root = resolve('.recon/bench');
const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 2 });

console.log(
  `recon bench · ${fmt(rows)} lines · ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}) · ${fmt(totalmem() / 2 ** 30)} GiB · Node ${process.version}`,
);

let t = performance.now();
const day = await generateDay({
  rows,
  tipo1Pct: 5,
  tipo2Pct: 3,
  tipo3Pct: 2,
  seed: 42,
  outDir: join(root, `day-${rows}`),
});
console.log(`generate          ${fmt((performance.now() - t) / 1000)} s`);

const duck = await duckdbReference(day.vendorPath, day.basePath, join(root, 'duckdb.parquet'));
console.log(
  `duckdb reference  ${fmt(duck.seconds)} s  (read_csv ×2 → full outer join → Parquet, ${fmt(duck.rows)} rows; plain rules)`,
);

const results: { name: string; seconds: number; summary: JobSummary; maxRssMb: number }[] = [];
const common = {
  file: day.vendorPath,
  scope: 'date-window' as const,
  ...(values.workers ? { workers: Number(values.workers) } : {}),
  ...(values.shards ? { shards: Number(values.shards) } : {}),
};
await rm(join(root, 'out'), { recursive: true, force: true });
results.push({
  name: 'recon, CSV base',
  ...(await job({ ...common, base: { kind: 'csv', path: day.basePath }, out: join(root, 'out', 'csv') })),
});

if (!values['skip-pg']) {
  await mkdir(root, { recursive: true });
  const server = await startEmbeddedPostgres({ dataDir: join(root, 'pg') });
  try {
    t = performance.now();
    const loaded = await baseLoad({
      file: day.basePath,
      url: server.url,
      relation: 'transacoes',
      mode: 'replace',
      quiet: true,
    });
    console.log(
      `base load (COPY)  ${fmt((performance.now() - t) / 1000)} s  (${fmt(loaded.rows)} rows; not part of a job)`,
    );
    results.push({
      name: 'recon, PostgreSQL base',
      ...(await job({
        ...common,
        base: { kind: 'postgres', url: server.url, relation: 'transacoes' },
        out: join(root, 'out', 'pg'),
      })),
    });
  } finally {
    await server.stop();
  }
}

for (const r of results) {
  const s = r.summary;
  const expected = day.expected['date-window'];
  const exact = JSON.stringify(s.divergences) === JSON.stringify(expected.divergences);
  console.log(
    `${r.name.padEnd(24)} ${fmt(r.seconds)} s wall · ${fmt(Math.round(s.total_lines / r.seconds))} lines/s · peak RSS ${fmt(Math.round(r.maxRssMb))} MiB · ${fmt(r.seconds / duck.seconds)}× DuckDB · counts ${exact ? 'exact' : 'WRONG'}`,
  );
  console.log(
    `  stages: ${Object.entries(s.stage_seconds)
      .map(([k, v]) => `${k} ${fmt(v)} s`)
      .join(' · ')}`,
  );
}

if (values.distributed) {
  const { benchDistributed } = await import('./distributed.ts');
  const embedded = results.find((r) => r.name === 'recon, PostgreSQL base');
  await benchDistributed({
    day,
    root,
    ...(embedded === undefined ? {} : { embeddedSeconds: embedded.seconds }),
  });
}

async function job(params: ReconcileParams) {
  const { stdout } = await exec(
    process.execPath,
    ['--import', 'tsx', 'bench/job.ts', JSON.stringify(params)],
    {
      maxBuffer: 64 << 20,
    },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as {
    seconds: number;
    maxRssMb: number;
    summary: JobSummary;
  };
}

/**
 * The yardstick of the issue: DuckDB reading both CSVs, full outer join on ordem_id, Parquet out.
 * Deliberately plain (trim, cast, compare; none of RULES §2–§3's corner cases), so the ratio is
 * a strict one: recon does more work per line than this.
 */
async function duckdbReference(vendor: string, base: string, out: string) {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  const started = performance.now();
  const csv = (path: string) => `read_csv('${path}', delim=';', quote='"', header=true, all_varchar=true)`;
  await conn.run(`
    COPY (
      WITH v AS (SELECT trim(ordem_id) AS ordem_id, trim(fornecedor_id) AS f, trim(nome) AS nome, trim(ativo_id) AS a,
                        trim(data) AS data, TRY_CAST(replace(trim(valor), ',', '.') AS DECIMAL(18,2)) AS valor FROM ${csv(vendor)}),
           b AS (SELECT ordem_id, fornecedor_id AS f, nome, ativo_id AS a, data, CAST(valor AS DECIMAL(18,2)) AS valor FROM ${csv(base)})
      SELECT CASE WHEN b.ordem_id IS NULL THEN 'TIPO_1' WHEN v.ordem_id IS NULL THEN 'TIPO_2' ELSE 'TIPO_3' END AS tipo,
             coalesce(v.ordem_id, b.ordem_id) AS ordem_id, v.valor AS valor_csv, b.valor AS valor_base, v.valor - b.valor AS diferenca
      FROM v FULL OUTER JOIN b ON v.ordem_id = b.ordem_id
      WHERE b.ordem_id IS NULL OR v.ordem_id IS NULL OR v.valor <> b.valor OR v.data <> b.data OR v.nome <> b.nome OR v.a <> b.a OR v.f <> b.f
      ORDER BY 1, 2
    ) TO '${out}' (FORMAT parquet, COMPRESSION snappy)`);
  const seconds = (performance.now() - started) / 1000;
  const count = await conn.runAndReadAll(`SELECT count(*) AS n FROM read_parquet('${out}')`);
  const n = Number((count.getRowObjectsJson()[0] as { n: string }).n);
  conn.closeSync();
  instance.closeSync();
  return { seconds, rows: n };
}
