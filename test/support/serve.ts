import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type PostgresHandle, startEmbeddedPostgres } from '@recon/adapters/postgres';
import { baseLoad } from '@recon/cli/base-load';
import { type EmbeddedServer, startServer } from '@recon/cli/serve';
import type { JobSummary } from '@recon/contracts';
import { generateDay } from '@recon/generator';

export interface TestServer {
  url: string;
  keys: { viewer: string; operator: string; admin: string };
  /** summary.json of each job, one generated day each, oldest reference date first. */
  summaries: JobSummary[];
  outDir: string;
  /** The vendor file of each day, as generated. */
  vendorFiles: string[];
  server: EmbeddedServer;
  databaseUrl: string;
  close(): Promise<void>;
}

/**
 * A real `recon serve`: its own embedded PostgreSQL, and `days` generated days (`rows` lines
 * each) reconciled one after the other by the real pipeline, each against its own base loaded
 * into the `transacoes` relation. Listens on 127.0.0.1 at a free port.
 */
export async function startTestServer(
  opts: { days?: number; rows?: number; rateLimit?: { max: number; windowMs: number } } = {},
): Promise<TestServer> {
  const days = opts.days ?? 2;
  const rows = opts.rows ?? 20_000;
  const root = await mkdtemp(join(tmpdir(), 'recon-serve-'));
  let pg: PostgresHandle | undefined;
  let server: EmbeddedServer | undefined;
  try {
    pg = await startEmbeddedPostgres({ dataDir: join(root, 'pg') });
    const outDir = join(root, 'out');
    const ended = new Map<string, unknown>();
    server = await startServer({
      databaseUrl: pg.url,
      out: outDir,
      base: { kind: 'postgres', url: pg.url, relation: 'transacoes' },
      port: 0,
      ...(opts.rateLimit === undefined ? {} : { rateLimit: opts.rateLimit }),
      runSettings: { workers: 2 },
      onJobEnd: (jobId, error) => ended.set(jobId, error),
    });
    const [viewer, operator, admin] = await Promise.all(
      (['viewer', 'operator', 'admin'] as const).map(
        async (role) => (await server!.keys.create(role, `test ${role}`)).key,
      ),
    );
    const summaries: JobSummary[] = [];
    const vendorFiles: string[] = [];
    for (let d = 0; d < days; d++) {
      const referenceDate = new Date(Date.UTC(2026, 10, 21 - (days - 1 - d))).toISOString().slice(0, 10);
      const day = await generateDay({
        rows,
        tipo1Pct: 5,
        tipo2Pct: 3,
        tipo3Pct: 2,
        seed: 1000 + d,
        referenceDate,
        outDir: join(root, 'days', referenceDate),
      });
      await baseLoad({
        file: day.basePath,
        url: pg.url,
        relation: 'transacoes',
        mode: 'replace',
        quiet: true,
      });
      const key = `${referenceDate}/fornecedor.csv`;
      await mkdir(join(outDir, 'ingress', referenceDate), { recursive: true });
      await copyFile(day.vendorPath, join(outDir, 'ingress', key));
      vendorFiles.push(day.vendorPath);
      const { jobId } = await server.control.submit({ key, referenceDate });
      await server.control.idle();
      if (ended.get(jobId) !== null) throw new Error(`job ${jobId} failed: ${String(ended.get(jobId))}`);
      const summary = JSON.parse(
        await readFile(join(outDir, 'jobs', jobId, 'summary.json'), 'utf8'),
      ) as JobSummary;
      if (summary.status !== 'SUCCEEDED') throw new Error(`job ${jobId} ended ${summary.status}`);
      summaries.push(summary);
    }
    const running = server;
    const database = pg;
    return {
      url: running.url,
      keys: { viewer: viewer!, operator: operator!, admin: admin! },
      summaries,
      outDir,
      vendorFiles,
      server: running,
      databaseUrl: database.url,
      close: async () => {
        await running.close();
        await database.stop();
        await rm(root, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await server?.close().catch(() => {});
    await pg?.stop().catch(() => {});
    await rm(root, { recursive: true, force: true });
    throw error;
  }
}
