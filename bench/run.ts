/**
 * `pnpm bench`: generates a day (default 1M lines, 5/3/2 mix), reconciles it with the base as a
 * CSV snapshot and as a PostgreSQL relation, and prints wall time, per-stage time, lines/s and
 * peak RSS next to DuckDB doing the same join in the same run. Figures, not assertions.
 *
 *   pnpm bench [--rows 1000000] [--skip-pg] [--skip-warm] [--workers N] [--shards N] [--repeat N] [--root DIR] [--distributed]
 *
 * Each recon job runs in a fresh process (cold: worker threads start, V8 compiles and optimizes
 * their code during the job, as in `recon run`); "warm" is a second job in a process whose workers
 * already ran one (as in a long-running server), unless `--skip-warm`.
 * `--repeat N` runs DuckDB and each recon job N times, interleaved (other work on the machine then
 * weighs on all of them alike; every other round in reverse order), and prints min and median.
 * `--root` (default `.recon/bench`) keeps the day, outputs and database apart from another bench
 * running at the same time.
 * `--baseline DIR` also runs each recon job from another checkout (its own `bench/job.ts`), in the
 * same rounds: before/after figures under the same conditions.
 * `--distributed` adds the distributed stack (bench/distributed.ts).
 * The worker bundle is checked (and built if the sources changed) before the rounds; a run whose
 * workers still did not start from the cached bundle is marked, and noted under its figures.
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
    'skip-warm': { type: 'boolean', default: false },
    workers: { type: 'string' },
    shards: { type: 'string' },
    distributed: { type: 'boolean', default: false },
    repeat: { type: 'string', default: '1' },
    root: { type: 'string', default: '.recon/bench' },
    baseline: { type: 'string' },
  },
});
const rows = Number(values.rows as string);
const repeat = Math.max(1, Number(values.repeat as string));
const root = resolve(values.root as string);
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

interface JobRun {
  seconds: number;
  cpuSeconds: number;
  maxRssMb: number;
  summary: JobSummary;
  /** Where the job's workers started from (absent from checkouts older than this field). */
  workerBoot?: 'cached' | 'built' | 'tsx';
}
interface Series {
  name: string;
  runs: JobRun[];
}

const duckSeconds: number[] = [];
let duckRows = 0;
const csv: Series = { name: 'recon, CSV base', runs: [] };
const pg: Series = { name: 'recon, PostgreSQL base', runs: [] };
const baseline = values.baseline === undefined ? null : resolve(values.baseline);
const csvBefore: Series = { name: 'baseline, CSV base', runs: [] };
const pgBefore: Series = { name: 'baseline, PostgreSQL base', runs: [] };
const csvWarm: Series = { name: 'recon, CSV base, warm', runs: [] };
const pgWarm: Series = { name: 'recon, PostgreSQL, warm', runs: [] };
const warm = !values['skip-warm'];
const common = {
  file: day.vendorPath,
  scope: 'date-window' as const,
  ...(values.workers ? { workers: Number(values.workers) } : {}),
  ...(values.shards ? { shards: Number(values.shards) } : {}),
};

await mkdir(root, { recursive: true });
const server = values['skip-pg'] ? null : await startEmbeddedPostgres({ dataDir: join(root, 'pg') });
try {
  if (server !== null) {
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
  }
  // What each round runs: the checkout (null: this one), whether warm, the job and its series.
  const csvParams: ReconcileParams = {
    ...common,
    base: { kind: 'csv', path: day.basePath },
    out: join(root, 'out', 'csv'),
  };
  const pgParams: ReconcileParams | null =
    server === null
      ? null
      : {
          ...common,
          base: { kind: 'postgres', url: server.url, relation: 'transacoes' },
          out: join(root, 'out', 'pg'),
        };
  const runs: { checkout: string | null; warm: boolean; params: ReconcileParams; series: Series }[] = [];
  for (const checkout of baseline === null ? [null] : [baseline, null]) {
    runs.push({ checkout, warm: false, params: csvParams, series: checkout === null ? csv : csvBefore });
    if (pgParams !== null)
      runs.push({ checkout, warm: false, params: pgParams, series: checkout === null ? pg : pgBefore });
  }
  if (warm) {
    runs.push({ checkout: null, warm: true, params: csvParams, series: csvWarm });
    if (pgParams !== null) runs.push({ checkout: null, warm: true, params: pgParams, series: pgWarm });
  }
  // The workers' bundle is checked (built if the sources changed) before the rounds, in each
  // checkout: otherwise the first cold job would wait for esbuild, which is not the cold start measured.
  for (const checkout of baseline === null ? [null] : [baseline, null]) {
    const { seconds, source } = await prepareWorkers(checkout);
    console.log(
      `worker bundle     ${source}${checkout === null ? '' : ` (${checkout})`} in ${fmt(seconds)} s  (before the rounds)`,
    );
  }
  for (let round = 0; round < repeat; round++) {
    // Every other round runs in reverse order (DuckDB last): the machine's drift within a round
    // then favours no run over the others.
    const reversed = round % 2 === 1;
    const reference = () => duckdbReference(day.vendorPath, day.basePath, join(root, 'duckdb.parquet'));
    const duck = reversed ? null : await reference();
    for (const r of reversed ? [...runs].reverse() : runs) {
      await rm(r.params.out, { recursive: true, force: true });
      r.series.runs.push(await job(r.params, r.checkout, r.warm));
    }
    const measured = duck ?? (await reference());
    duckSeconds.push(measured.seconds);
    duckRows = measured.rows;
    const last = (s: Series) =>
      s.runs.length > round ? ` · ${s.name} ${fmt(s.runs[round]!.seconds)} s${bootMark(s.runs[round]!)}` : '';
    if (repeat > 1 || baseline !== null)
      console.log(
        `round ${round + 1}/${repeat}: duckdb ${fmt(measured.seconds)} s${last(csvBefore)}${last(csv)}${last(csvWarm)}${last(pgBefore)}${last(pg)}${last(pgWarm)}`,
      );
  }
} finally {
  await server?.stop();
}

const duckMin = Math.min(...duckSeconds);
const duckMedian = median(duckSeconds);
console.log(
  `duckdb reference  ${stat(duckSeconds)}  (read_csv ×2 → full outer join → Parquet, ${fmt(duckRows)} rows; plain rules)`,
);
for (const r of [csvBefore, csv, csvWarm, pgBefore, pg, pgWarm]) {
  if (r.runs.length === 0) continue;
  const seconds = r.runs.map((x) => x.seconds);
  const fastest = r.runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  const s = fastest.summary;
  const expected = day.expected['date-window'];
  const exact = r.runs.every(
    (x) => JSON.stringify(x.summary.divergences) === JSON.stringify(expected.divergences),
  );
  console.log(
    `${r.name.padEnd(24)} ${stat(seconds)} wall · ${fmt(Math.round(s.total_lines / fastest.seconds))} lines/s · cpu ${fmt(fastest.cpuSeconds)} s · peak RSS ${fmt(Math.round(Math.max(...r.runs.map((x) => x.maxRssMb))))} MiB · ${fmt(Math.min(...seconds) / duckMin)}× DuckDB (min/min)${repeat > 1 ? `, ${fmt(median(seconds) / duckMedian)}× (median/median)` : ''} · counts ${exact ? 'exact' : 'WRONG'}`,
  );
  const unlike = r.runs.filter((x) => bootMark(x) !== '');
  if (unlike.length > 0) {
    console.log(
      `  NOTE: ${unlike.length} of ${r.runs.length} runs did not start from the cached worker bundle${unlike.map(bootMark).join('')}: their figures include that`,
    );
  }
  console.log(
    `  stages (fastest run): ${Object.entries(s.stage_seconds)
      .map(([k, v]) => `${k} ${fmt(v)} s`)
      .join(' · ')}`,
  );
}

if (values.distributed) {
  const { benchDistributed } = await import('./distributed.ts');
  await benchDistributed({
    day,
    root,
    ...(pg.runs.length === 0 ? {} : { embeddedSeconds: Math.min(...pg.runs.map((r) => r.seconds)) }),
  });
}

async function job(params: ReconcileParams, checkout: string | null = null, warm = false) {
  const { stdout } = await exec(
    process.execPath,
    ['--import', 'tsx', 'bench/job.ts', JSON.stringify(params), ...(warm ? ['--warm'] : [])],
    {
      maxBuffer: 64 << 20,
      ...(checkout === null ? {} : { cwd: checkout }),
    },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as JobRun;
}

/**
 * Checks (or builds) the worker bundle with the checkout's own code, in a process of its own as a
 * job would: how long it took, and where the workers would start from.
 */
async function prepareWorkers(checkout: string | null): Promise<{ seconds: number; source: string }> {
  const script = `
    const m = await import('./apps/cli/src/embedded/worker-bundle.ts');
    const started = performance.now();
    await m.workerBoot();
    const seconds = (performance.now() - started) / 1000;
    console.log(JSON.stringify({ seconds, source: m.workerBootSource?.() ?? 'checked' }));`;
  const { stdout } = await exec(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    ...(checkout === null ? {} : { cwd: checkout }),
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as { seconds: number; source: string };
}

/** ` (…)` after a run whose workers did not start from a cached bundle. */
function bootMark(run: JobRun): string {
  if (run.workerBoot === undefined || run.workerBoot === 'cached') return '';
  return run.workerBoot === 'built' ? ' (built the worker bundle)' : ' (workers through tsx)';
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** `1.23 s`, or `min 1.23 s · median 1.31 s` over several runs. */
function stat(seconds: readonly number[]): string {
  if (seconds.length === 1) return `${fmt(seconds[0]!)} s`;
  return `min ${fmt(Math.min(...seconds))} s · median ${fmt(median(seconds))} s`;
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
