/**
 * `pnpm bench --distributed`: the same day through the distributed stack — fauxqs (SQS + S3) in
 * this process, PostgreSQL, every service its own OS process — timed from the file drop (S3 put +
 * Object Created event) to the job's end (summary written, job SUCCEEDED in the job store).
 * Runs with 1 and 2 matcher processes, and with 2 matchers over several shard counts. Each run
 * gets a fresh stack, so process start-up (~5 s) is not counted.
 */
import { join } from 'node:path';
import { startEmbeddedPostgres } from '@recon/adapters';
import type { GeneratedDay } from '@recon/generator';
import { baseLoad } from '../apps/cli/src/commands/base-load.ts';
import { dropFile, readSummary, Stack, waitForJob } from '../apps/cli/src/stack/index.ts';

export interface DistributedBenchOptions {
  day: GeneratedDay;
  root: string;
  /** The embedded run's wall time on the PostgreSQL base, for the ratio (when it ran). */
  embeddedSeconds?: number;
  /** Shard counts to compare with 2 matchers; the first is also used for the 1-matcher run. */
  shardCounts?: number[];
}

const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 2 });

export async function benchDistributed(o: DistributedBenchOptions): Promise<void> {
  const pg = await startEmbeddedPostgres({ dataDir: join(o.root, 'pg-distributed') });
  try {
    await baseLoad({
      file: o.day.basePath,
      url: pg.url,
      relation: 'transacoes',
      mode: 'replace',
      quiet: true,
    });
    const shardCounts = o.shardCounts ?? [32, 8, 128];
    const runs = [
      { matchers: 1, shards: shardCounts[0]! },
      ...shardCounts.map((shards) => ({ matchers: 2, shards })),
    ];
    console.log(
      '\ndistributed stack (file drop → report; every service its own process over fauxqs + PostgreSQL)',
    );
    for (const run of runs) {
      const stack = new Stack({
        dir: join(o.root, 'stack'),
        port: 0,
        databaseUrl: pg.url,
        matchers: run.matchers,
        logLevel: 'warn',
        visibilityTimeoutSeconds: 60,
        serviceEnv: { ingest: { RECON_SHARDS: String(run.shards) } },
      });
      await stack.start();
      try {
        const started = performance.now();
        const dropped = await dropFile(stack.state, o.day.vendorPath, '2026-11-21');
        const job = await waitForJob(stack.databaseUrl, dropped, 30 * 60_000);
        const seconds = (performance.now() - started) / 1000;
        if (job.status !== 'SUCCEEDED') {
          console.log(
            `  ${run.matchers} matcher(s), ${run.shards} shards: ${job.status} ${job.error?.message}`,
          );
          continue;
        }
        const s = await readSummary(stack.state, job.jobId);
        const exact =
          JSON.stringify(s.divergences) === JSON.stringify(o.day.expected['date-window'].divergences);
        const ratio =
          o.embeddedSeconds === undefined ? '' : ` · ${fmt(seconds / o.embeddedSeconds)}× embedded`;
        console.log(
          `  ${run.matchers} matcher(s), ${String(run.shards).padStart(3)} shards  ${fmt(seconds)} s · ${fmt(Math.round(s.total_lines / seconds))} lines/s${ratio} · counts ${exact ? 'exact' : 'WRONG'}`,
        );
        console.log(
          `    stages: ${Object.entries(s.stage_seconds)
            .map(([k, v]) => `${k} ${fmt(v)} s`)
            .join(' · ')}`,
        );
      } finally {
        await stack.stop();
      }
    }
  } finally {
    await pg.stop();
  }
}
