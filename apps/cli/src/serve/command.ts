import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ApiKeyStore, PostgresReadModel, ROLES, type Role } from '@recon/adapters/read-model';
import { ReconError } from '@recon/contracts';
import { choiceOption, intOption } from '../args.ts';
import { type Env, runtimeSettings } from '../config.ts';
import { withDatabase } from '../database.ts';
import type { BaseParam } from '../reconcile.ts';
import { bootstrapAdminKey } from './bootstrap.ts';
import { startDistributedServer } from './distributed.ts';
import { type RunningServer, startServer } from './server.ts';
import { SERVE_USAGE } from './usage.ts';

const OPTIONS = {
  out: { type: 'string' },
  'database-url': { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  'base-csv': { type: 'string' },
  'base-relation': { type: 'string' },
  scope: { type: 'string' },
  ingress: { type: 'string' },
  'upload-limit-mb': { type: 'string' },
  role: { type: 'string' },
  name: { type: 'string' },
  json: { type: 'boolean' },
  distributed: { type: 'boolean' },
} as const;

/** `recon serve` and `recon keys …`. */
export async function serveCommand(argv: string[], env: Env): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: OPTIONS,
    allowPositionals: true,
    strict: true,
  });
  const [command, sub, arg] = positionals;
  if (command === 'keys') return keysCommand(env, sub, arg, values);
  return serve(env, values);
}

/** Prints where the server is (and a first admin key), then runs until SIGINT/SIGTERM. */
async function announce(server: RunningServer, where: string): Promise<void> {
  let bootstrap: string | null;
  try {
    bootstrap = await bootstrapAdminKey(server.keys, server.bootstrapKeySink);
  } catch (error) {
    await server.close();
    throw error;
  }
  if (bootstrap !== null) process.stdout.write(bootstrap);
  process.stdout.write(
    `recon serve: dashboard ${server.url}/ · API ${server.url}/v1 · OpenAPI ${server.url}/docs\n${where}\n`,
  );
  await new Promise<void>((done) => {
    const stop = () => done();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  process.stdout.write('recon serve: stopping (waiting for running jobs)…\n');
  await server.close();
}

async function serve(env: Env, v: Record<string, string | boolean | undefined>): Promise<number> {
  const str = (k: string) => v[k] as string | undefined;
  if (v.distributed === true || env.RECON_SERVE_RUNTIME === 'distributed') {
    // The admin API's own service beside the distributed pipeline (AWS, or `recon stack` locally).
    const server = await startDistributedServer(env, process.env, {
      host: str('host') ?? env.RECON_HTTP_HOST,
      port: intOption(str('port'), 'port', 0, 65_535) ?? env.RECON_HTTP_PORT,
    });
    await announce(
      server,
      'distributed runtime: jobs run in the services; buckets and queues from the environment',
    );
    return 0;
  }
  const out = resolve(str('out') ?? env.RECON_SERVE_DIR);
  const port = intOption(str('port'), 'port', 0, 65_535) ?? env.RECON_HTTP_PORT;
  const host = str('host') ?? env.RECON_HTTP_HOST;
  const uploadMb = intOption(str('upload-limit-mb'), 'upload-limit-mb', 1, 100_000);
  const scope = choiceOption(str('scope'), 'scope', ['date-window', 'all'] as const) ?? 'date-window';
  return withDatabase(
    env,
    str('database-url'),
    async (url) => {
      const base: BaseParam =
        str('base-csv') !== undefined
          ? { kind: 'csv', path: resolve(str('base-csv') as string) }
          : { kind: 'postgres', url, relation: str('base-relation') ?? 'transacoes' };
      const server = await startServer({
        databaseUrl: url,
        out,
        ...(str('ingress') === undefined ? {} : { ingress: str('ingress') as string }),
        base,
        scope,
        host,
        port,
        ...(uploadMb === undefined ? {} : { uploadLimitBytes: uploadMb * 1024 * 1024 }),
        readModelRetentionDays: env.RECON_READ_MODEL_RETENTION_DAYS,
        runSettings: runtimeSettings(env),
        delivery: {
          expectedBy: env.RECON_DELIVERY_EXPECTED_BY ?? '09:00',
          timeZone: env.RECON_DELIVERY_TIME_ZONE,
          severity: env.RECON_DELIVERY_SEVERITY,
        },
      });
      await announce(
        server,
        `outputs in ${out}; base: ${base.kind === 'csv' ? base.path : `PostgreSQL relation ${base.relation}`}`,
      );
      return 0;
    },
    (dir) => process.stderr.write(`starting the embedded PostgreSQL (data in ${dir})…\n`),
  );
}

async function keysCommand(
  env: Env,
  sub: string | undefined,
  arg: string | undefined,
  v: Record<string, string | boolean | undefined>,
): Promise<number> {
  const json = v.json === true;
  const usage = `usage:\n${SERVE_USAGE}`;
  if (sub !== 'create' && sub !== 'list' && sub !== 'revoke') {
    throw new ReconError(
      'INVALID_ARGUMENT',
      `recon keys ${sub ?? ''}: expected create, list or revoke\n${usage}`,
    );
  }
  return withDatabase(env, v['database-url'] as string | undefined, async (url) => {
    const model = new PostgresReadModel(url, { poolSize: 1 });
    try {
      await model.migrate();
      const keys = new ApiKeyStore(model);
      if (sub === 'create') {
        const role = choiceOption(v.role as string | undefined, 'role', ROLES);
        if (role === undefined)
          throw new ReconError('INVALID_ARGUMENT', `--role is required (${ROLES.join(', ')})`);
        const { key, record } = await keys.create(
          role as Role,
          (v.name as string | undefined) ?? `${role} key`,
        );
        if (json) process.stdout.write(`${JSON.stringify({ ...record, key })}\n`);
        else
          process.stdout.write(
            `created ${record.role} key ${record.id} (${record.name}); shown only now:\n  ${key}\n`,
          );
        return 0;
      }
      if (sub === 'list') {
        const all = await keys.list();
        if (json) process.stdout.write(`${JSON.stringify(all)}\n`);
        else
          for (const k of all)
            process.stdout.write(
              `${k.id}  ${k.role.padEnd(8)}  ${k.revoked_at === null ? 'active ' : 'revoked'}  ${k.created_at}  ${k.name}\n`,
            );
        return 0;
      }
      if (arg === undefined)
        throw new ReconError('INVALID_ARGUMENT', `recon keys revoke ID: the key id is required`);
      if (!(await keys.revoke(arg))) throw new ReconError('INVALID_ARGUMENT', `no active API key ${arg}`);
      process.stdout.write(`revoked ${arg}\n`);
      return 0;
    } finally {
      await model.close();
    }
  });
}
