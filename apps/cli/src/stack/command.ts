import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ReconError } from '@recon/contracts';
import { dropFile, readSummary, waitForJob } from './drop.ts';
import { Stack, type StackState } from './stack.ts';
import { STACK_USAGE } from './usage.ts';

const OPTIONS = {
  dir: { type: 'string' },
  port: { type: 'string' },
  matchers: { type: 'string' },
  'database-url': { type: 'string' },
  shards: { type: 'string' },
  'visibility-timeout': { type: 'string' },
  'max-receive-count': { type: 'string' },
  'log-level': { type: 'string' },
  date: { type: 'string' },
  wait: { type: 'boolean' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
} as const;

function int(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ReconError(
      'INVALID_ARGUMENT',
      `--${name} must be an integer in [${min}, ${max}], got ${value}`,
    );
  }
  return n;
}

/**
 * `recon stack …`: argv is everything after `stack`. `databaseUrl` is DATABASE_URL from the
 * environment (main.ts reads it); `pgDir`-style defaults live in the stack folder.
 */
export async function stackCommand(argv: string[], env: { DATABASE_URL?: string }): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: OPTIONS,
    allowPositionals: true,
    strict: true,
  });
  const [sub, file] = positionals;
  const dir = resolve(values.dir ?? '.recon/stack');
  const say = (line: string) => process.stdout.write(`${line}\n`);

  if (sub === 'up') {
    const logLevel = (values['log-level'] ?? 'info') as 'error' | 'warn' | 'info' | 'debug';
    const shards = int(values.shards, 'shards', 1, 4096);
    const stack = new Stack({
      dir,
      port: int(values.port, 'port', 0, 65535) ?? 4566,
      matchers: int(values.matchers, 'matchers', 1, 64) ?? 2,
      visibilityTimeoutSeconds: int(values['visibility-timeout'], 'visibility-timeout', 1, 43_200) ?? 30,
      maxReceiveCount: int(values['max-receive-count'], 'max-receive-count', 1, 1000) ?? 5,
      logLevel,
      ...((values['database-url'] ?? env.DATABASE_URL) === undefined
        ? {}
        : { databaseUrl: values['database-url'] ?? env.DATABASE_URL }),
      ...(shards === undefined ? {} : { serviceEnv: { ingest: { RECON_SHARDS: String(shards) } } }),
      onLine: (name, line) => process.stderr.write(`[${name}] ${line}\n`),
    });
    say(`starting the distributed stack (state in ${dir}) …`);
    let stopping: Promise<void> | undefined;
    const stop = (signal: string) => {
      if (stopping !== undefined) return;
      say(`\n${signal}: stopping every process of the stack …`);
      stopping = stack.stop().then(() => {
        say('stack stopped');
      });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    await stack.start();
    const s = stack.state;
    say(`
SQS + S3 (fauxqs)   ${s.endpoint}   (this process, pid ${process.pid})
PostgreSQL          ${s.databaseUrl}${(values['database-url'] ?? env.DATABASE_URL) ? '' : `   (embedded, data in ${join(dir, 'pg')})`}
buckets             s3://${s.ingressBucket} (vendor files)   s3://${s.storeBucket} (outputs)
queues              ${Object.values(s.queues)
      .map((q) => q.queueUrl.split('/').pop())
      .join(', ')} (each with a -dlq)
services            ${stack.processes.map((p) => `${p.name} (pid ${p.pid})`).join(', ')}

Load the base:      pnpm recon base load base.csv --database-url '${s.databaseUrl}'
Drop a file:        pnpm recon stack drop vendor.csv --date YYYY-MM-DD --wait
Outputs:            divergencias/…, jobs/<job>/summary.json in s3://${s.storeBucket} (endpoint above)
Ctrl-C stops everything.`);
    for (const p of stack.processes) {
      void p.exited.then((code) => {
        if (stopping === undefined) say(`${p.name} (pid ${p.pid}) exited: ${code}`);
      });
    }
    await new Promise<void>((resolveStop) => {
      const check = setInterval(() => {
        if (stopping !== undefined) {
          clearInterval(check);
          void stopping.then(resolveStop);
        }
      }, 100);
    });
    return 0;
  }

  if (sub === 'drop') {
    if (file === undefined)
      throw new ReconError('INVALID_ARGUMENT', `a FILE is required. Usage:\n${STACK_USAGE}`);
    const state = await readState(dir);
    const date = values.date ?? yesterday();
    const dropped = await dropFile(state, file, date);
    say(`put s3://${dropped.bucket}/${dropped.key}; Object Created event ${dropped.eventId} sent to ingest`);
    if (values.wait !== true) return 0;
    const timeoutMs = (int(values.timeout, 'timeout', 1, 86_400) ?? 600) * 1000;
    const started = performance.now();
    const job = await waitForJob(state.databaseUrl, dropped, timeoutMs);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    if (job.status !== 'SUCCEEDED') {
      say(`job ${job.jobId} ${job.status} after ${seconds} s: ${job.error?.code}: ${job.error?.message}`);
      return 1;
    }
    const summary = await readSummary(state, job.jobId);
    if (values.json === true) say(JSON.stringify(summary));
    else {
      say(`job ${job.jobId} SUCCEEDED in ${seconds} s (drop → summary)`);
      say(`lines ${summary.total_lines}, divergences ${JSON.stringify(summary.divergences)}`);
      say(`outputs ${JSON.stringify(summary.outputs)}`);
    }
    return 0;
  }

  throw new ReconError(
    'INVALID_ARGUMENT',
    `unknown stack command ${JSON.stringify(sub ?? '')}. Usage:\n${STACK_USAGE}`,
  );
}

async function readState(dir: string): Promise<StackState> {
  try {
    return JSON.parse(await readFile(join(dir, 'stack.json'), 'utf8')) as StackState;
  } catch {
    throw new ReconError(
      'INVALID_ARGUMENT',
      `no running stack in ${dir} (no stack.json): start one with \`recon stack up\` (or pass --dir)`,
    );
  }
}

function yesterday(): string {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - 1))
    .toISOString()
    .slice(0, 10);
}
