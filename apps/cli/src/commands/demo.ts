import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type ExpectedCounts, generateDay } from '@recon/generator';
import type { Env } from '../config.ts';
import { withDatabase } from '../database.ts';
import type { JobOutcome } from '../embedded/runtime.ts';
import { fmt, Progress } from '../progress.ts';
import { reconcile } from '../reconcile.ts';
import { baseLoad } from './base-load.ts';

export interface DemoOptions {
  rows: number;
  seed: number;
  quiet: boolean;
  say: (line: string) => void;
}

/**
 * The quick start: a synthetic day (kept and reused), its base loaded into the embedded
 * PostgreSQL, and the day reconciled against it — the path production takes.
 */
export async function demo(env: Env, o: DemoOptions): Promise<JobOutcome & { expected: ExpectedCounts }> {
  const dayDir = join(env.RECON_DEMO_DIR, `day-${o.rows}-${o.seed}`);
  await mkdir(dayDir, { recursive: true });
  const gen = new Progress(`generating ${fmt(o.rows)} lines`, o.quiet);
  const day = await generateDay(
    { rows: o.rows, tipo1Pct: 5, tipo2Pct: 3, tipo3Pct: 2, seed: o.seed, outDir: dayDir },
    (done, total) => gen.update(done, total),
  );
  gen.done();
  o.say(`day generated: ${day.vendorPath} (base snapshot ${day.basePath})`);
  return withDatabase(env, undefined, async (url, embedded) => {
    if (embedded) o.say(`PostgreSQL: embedded, data in ${env.RECON_PG_DIR}`);
    const loaded = await baseLoad({
      file: day.basePath,
      url,
      relation: 'transacoes',
      mode: 'replace',
      quiet: o.quiet,
    });
    o.say(`base loaded: ${fmt(loaded.rows)} rows into transacoes`);
    const progress = new Progress('reconciling', o.quiet);
    const outcome = await reconcile({
      file: day.vendorPath,
      out: join(env.RECON_DEMO_DIR, 'out'),
      base: { kind: 'postgres', url, relation: 'transacoes' },
      scope: 'date-window',
      workers: env.RECON_WORKERS,
      logLevel: env.RECON_LOG_LEVEL,
      notifier: env.notifier,
      traceExporter: env.RECON_TRACE_EXPORTER,
      onTick: (t) => progress.job(t),
    });
    progress.done();
    return { ...outcome, expected: day.expected['date-window'] };
  });
}
