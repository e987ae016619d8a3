#!/usr/bin/env -S npx tsx
import { parseArgs } from 'node:util';
import { isReconError, type JobSummary, ReconError, TIPOS } from '@recon/contracts';
import { generateDay } from '@recon/generator';
import { choiceOption, intOption, numberOption, required } from './args.ts';
import { baseLoad } from './commands/base-load.ts';
import { demo } from './commands/demo.ts';
import { reprocessJob, runJob } from './commands/run.ts';
import { readEnv } from './config.ts';
import { withDatabase } from './database.ts';
import { renderSummary } from './output.ts';
import { fmt, Progress } from './progress.ts';
import { SERVE_USAGE } from './serve/usage.ts';
import { STACK_USAGE } from './stack/usage.ts';

const USAGE = `recon — reconcile the vendor's daily file against the internal base

Usage:
  recon run --file F (--base-csv F | [--database-url URL] [--base-relation transacoes]) --out DIR
            [--reference-date YYYY-MM-DD] [--scope date-window|all] [--job-id JOB-YYYYMMDD-NNNNNN]
            [--shards N] [--workers N] [--max-invalid-rate 0.05] [--keep-work] [--json]
            [--deadline-minutes 20] [--force]
  recon reprocess JOB_ID --out DIR [--database-url URL] [--deadline-minutes 20] [--workers N] [--json]
  recon reprocess JOB_ID --database-url URL [--deadline-minutes 20] [--json]   (distributed: the job store)
  recon base load F [--database-url URL] [--relation transacoes] [--append] [--json]
  recon generate --rows N --out DIR [--tipo1 5 --tipo2 3 --tipo3 2] [--invalid P] [--duplicates P]
                 [--history N] [--seed S] [--json]
  recon generate --scenario normal|peak|high-divergence --out DIR   (technical document §7.2)
  recon demo [--rows 1000000] [--seed 42] [--json]
  recon check-delivery [--date YYYY-MM-DD] [--ingress DIR] [--out DIR] [--json]
      the runbook's daily check: has the vendor file of D-1 arrived? If not, delivery.missing (exit 1)
  Admin API and dashboard (Fastify; docs/admin-api.md):
${SERVE_USAGE}
  Distributed runtime, locally (every service its own process over fauxqs SQS/S3 and PostgreSQL):
${STACK_USAGE}

Without --database-url (or DATABASE_URL), recon starts its own PostgreSQL (data in RECON_PG_DIR,
default .recon/pg). Exit codes: 0 done (divergences are not an error), 2 the file was rejected,
1 any other failure (a timeout, another job running for the same reference date).
A file already reconciled successfully in --out (same SHA-256) is not reconciled again: run says
which job did it and exits 0 (--force reconciles it anew). A job that passes its deadline (minutes
after the file arrived) ends TIMEOUT with checkpoints/<job_id>/checkpoint.json; reprocess resumes it.`;

type Flags = Record<string, string | boolean | undefined>;

/** The load-test scenarios of the technical document §7.2. */
const SCENARIOS = {
  normal: { rows: 1_000_000, tipo1: 5, tipo2: 3, tipo3: 2 },
  peak: { rows: 1_500_000, tipo1: 5, tipo2: 3, tipo3: 2 },
  'high-divergence': { rows: 1_000_000, tipo1: 10, tipo2: 6, tipo3: 4 },
} as const;

const OPTIONS = {
  file: { type: 'string' },
  'base-csv': { type: 'string' },
  'database-url': { type: 'string' },
  'base-relation': { type: 'string' },
  relation: { type: 'string' },
  out: { type: 'string' },
  'reference-date': { type: 'string' },
  scope: { type: 'string' },
  'job-id': { type: 'string' },
  shards: { type: 'string' },
  workers: { type: 'string' },
  'max-invalid-rate': { type: 'string' },
  'keep-work': { type: 'boolean' },
  force: { type: 'boolean' },
  'deadline-minutes': { type: 'string' },
  append: { type: 'boolean' },
  json: { type: 'boolean' },
  rows: { type: 'string' },
  tipo1: { type: 'string' },
  tipo2: { type: 'string' },
  tipo3: { type: 'string' },
  invalid: { type: 'string' },
  duplicates: { type: 'string' },
  history: { type: 'string' },
  seed: { type: 'string' },
  scenario: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'stack') {
    const { stackCommand } = await import('./stack/command.ts');
    return stackCommand(argv.slice(1), readEnv());
  }
  if (argv[0] === 'check-delivery') {
    // Loaded on demand: it brings the AWS SDK.
    const { checkDeliveryMain } = await import('./commands/check-delivery.ts');
    return checkDeliveryMain(argv.slice(1), readEnv());
  }
  if (argv[0] === 'serve' || argv[0] === 'keys') {
    const { serveCommand } = await import('./serve/command.ts');
    return serveCommand(argv, readEnv());
  }
  const { values, positionals } = parseArgs({
    args: argv,
    options: OPTIONS,
    allowPositionals: true,
    strict: true,
  });
  const flags = values as Flags;
  const str = (name: string) => flags[name] as string | undefined;
  const json = flags.json === true;
  const say = (line: string) => {
    if (!json) process.stdout.write(`${line}\n`);
  };
  const [command, sub, arg] = positionals;
  if (flags.help === true || command === undefined || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined && flags.help !== true ? 1 : 0;
  }
  const env = readEnv();

  const deadlineMinutes = numberOption(str('deadline-minutes'), 'deadline-minutes', 0.01, 24 * 60);
  if (command === 'run') {
    const result = await runJob(env, {
      file: required(str('file'), 'file', 'recon run --file F (--base-csv F | --database-url URL) --out DIR'),
      out: required(str('out'), 'out', 'recon run --file F (--base-csv F | --database-url URL) --out DIR'),
      baseCsv: str('base-csv'),
      databaseUrl: str('database-url'),
      relation: str('base-relation') ?? 'transacoes',
      scope: choiceOption(str('scope'), 'scope', ['date-window', 'all'] as const) ?? 'date-window',
      referenceDate: str('reference-date'),
      jobId: str('job-id'),
      shards: intOption(str('shards'), 'shards', 1, 4096),
      workers: intOption(str('workers'), 'workers', 1, 64),
      maxInvalidRate: numberOption(str('max-invalid-rate'), 'max-invalid-rate', 0, 1),
      keepWork: flags['keep-work'] === true,
      quiet: json,
      force: flags.force === true,
      ...(deadlineMinutes === undefined ? {} : { deadlineMinutes }),
    });
    if (result.kind === 'already-reconciled') {
      const s = result.summary;
      say(
        `already reconciled: this file (sha256 ${result.sha256}) was reconciled by ${s.job_id} (reference date ${s.reference_date}, SUCCEEDED at ${s.finished_at}); nothing done. Summary: ${String(s.outputs.summary)}\nUse --force to reconcile it again.`,
      );
      if (json) process.stdout.write(`${JSON.stringify(s)}\n`);
      return 0;
    }
    return report(result.outcome.summary, json);
  }

  if (command === 'reprocess' && str('out') === undefined) {
    // No --out: a job of the distributed runtime, resumed from the job store (DATABASE_URL).
    const usage = 'recon reprocess JOB_ID --database-url URL [--deadline-minutes 20] [--json]';
    const { reprocessDistributed } = await import('./commands/reprocess-distributed.ts');
    const resumed = await reprocessDistributed(env, {
      jobId: required(sub, 'JOB_ID (positional)', usage),
      ...(str('database-url') === undefined ? {} : { databaseUrl: str('database-url') as string }),
      ...(deadlineMinutes === undefined ? {} : { deadlineMinutes }),
    });
    say(
      `reprocessing ${resumed.jobId} (was ${resumed.from}): ${resumed.mode === 'restart' ? 'the whole job again from its file' : resumed.mode === 'match' ? 'the pending shards' : 'the report'}; deadline ${resumed.deadlineAt}. The services do the work: follow it in the job store or the notifications.`,
    );
    if (json) process.stdout.write(`${JSON.stringify(resumed)}\n`);
    return 0;
  }

  if (command === 'reprocess') {
    const usage = 'recon reprocess JOB_ID --out DIR [--database-url URL] [--deadline-minutes 20]';
    const outcome = await reprocessJob(env, {
      jobId: required(sub, 'JOB_ID (positional)', usage),
      out: required(str('out'), 'out', usage),
      ...(str('database-url') === undefined ? {} : { databaseUrl: str('database-url') as string }),
      workers: intOption(str('workers'), 'workers', 1, 64),
      keepWork: flags['keep-work'] === true,
      quiet: json,
      ...(deadlineMinutes === undefined ? {} : { deadlineMinutes }),
    });
    return report(outcome.summary, json);
  }

  if (command === 'base' && sub === 'load') {
    const file = required(
      arg,
      'file (positional)',
      'recon base load F [--database-url URL] [--relation transacoes]',
    );
    const relation = str('relation') ?? 'transacoes';
    const result = await withDatabase(env, str('database-url'), (url) =>
      baseLoad({ file, url, relation, mode: flags.append === true ? 'append' : 'replace', quiet: json }),
    );
    for (const r of result.rejected.slice(0, 20)) {
      process.stderr.write(`${file}, line ${r.linha}: ${r.motivo} — ${r.mensagem}\n`);
    }
    if (result.rejected.length > 20)
      process.stderr.write(`… and ${result.rejected.length - 20} more rejected lines\n`);
    say(`loaded ${fmt(result.rows)} rows into ${relation}; ${fmt(result.rejected.length)} lines rejected`);
    if (json)
      process.stdout.write(
        `${JSON.stringify({ relation, rows: result.rows, rejected: result.rejected.length })}\n`,
      );
    return 0;
  }

  if (command === 'generate') {
    const usage = 'recon generate (--rows N | --scenario normal|peak|high-divergence) --out DIR';
    const scenario = choiceOption(
      str('scenario'),
      'scenario',
      Object.keys(SCENARIOS) as (keyof typeof SCENARIOS)[],
    );
    const preset = scenario === undefined ? undefined : SCENARIOS[scenario];
    const rows = intOption(str('rows'), 'rows', 1, 100_000_000) ?? preset?.rows;
    if (rows === undefined)
      throw new ReconError('INVALID_ARGUMENT', `--rows or --scenario is required. Usage: ${usage}`);
    const progress = new Progress(`generating ${fmt(rows)} lines`, json);
    const day = await generateDay(
      {
        rows,
        outDir: required(str('out'), 'out', usage),
        tipo1Pct: numberOption(str('tipo1'), 'tipo1', 0, 100) ?? preset?.tipo1 ?? 5,
        tipo2Pct: numberOption(str('tipo2'), 'tipo2', 0, 100) ?? preset?.tipo2 ?? 3,
        tipo3Pct: numberOption(str('tipo3'), 'tipo3', 0, 100) ?? preset?.tipo3 ?? 2,
        invalidPct: numberOption(str('invalid'), 'invalid', 0, 100) ?? 0,
        duplicatePct: numberOption(str('duplicates'), 'duplicates', 0, 100) ?? 0,
        historyRows: intOption(str('history'), 'history', 0, 100_000_000),
        seed: intOption(str('seed'), 'seed', 0, 2 ** 32 - 1) ?? 42,
      },
      (done, total) => progress.update(done, total),
    );
    progress.done();
    say(
      `vendor file    ${day.vendorPath}\nbase snapshot  ${day.basePath}\nexpected       ${day.expectedPath}`,
    );
    const e = day.expected['date-window'];
    say(`expected (date-window): ${TIPOS.map((t) => `${t} ${fmt(e.divergences[t])}`).join(' · ')}`);
    if (json) process.stdout.write(`${JSON.stringify(day)}\n`);
    return 0;
  }

  if (command === 'demo') {
    const rows = intOption(str('rows'), 'rows', 1, 100_000_000) ?? 1_000_000;
    const outcome = await demo(env, {
      rows,
      seed: intOption(str('seed'), 'seed', 0, 2 ** 32 - 1) ?? 42,
      quiet: json,
      say,
    });
    const code = report(outcome.summary, json);
    if (!json && outcome.summary.status === 'SUCCEEDED') {
      const ok = TIPOS.every((t) => outcome.summary.divergences[t] === outcome.expected.divergences[t]);
      say(
        ok
          ? '✓ every divergence count equals what the generator planted'
          : `✗ counts differ from the generator's expectation: ${JSON.stringify(outcome.expected.divergences)}`,
      );
      say('\nNext: open the Parquet with DuckDB, or run `pnpm recon run --help`.');
    }
    return code;
  }

  process.stderr.write(`recon: unknown command ${JSON.stringify(positionals.join(' '))}\n\n${USAGE}\n`);
  return 1;
}

function report(summary: JobSummary, json: boolean): number {
  if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else process.stdout.write(renderSummary(summary));
  if (summary.status === 'SUCCEEDED') return 0;
  if (summary.error !== undefined)
    process.stderr.write(`recon: ${summary.error.code}: ${summary.error.message}\n`);
  return summary.error?.stage === 'ingest' && isFileError(summary.error.code) ? 2 : 1;
}

function isFileError(code: string): boolean {
  return ['FILE_EMPTY', 'FILE_HEADER_ONLY', 'INVALID_HEADER', 'FILE_NOT_UTF8', 'UNTERMINATED_QUOTE'].includes(
    code,
  );
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (isReconError(error)) process.stderr.write(`recon: ${error.code}: ${error.message}\n`);
    else if (
      error instanceof TypeError &&
      'code' in error &&
      String(error.code).startsWith('ERR_PARSE_ARGS')
    ) {
      process.stderr.write(`recon: ${error.message}\n\n${USAGE}\n`);
    } else
      process.stderr.write(
        `recon: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
    process.exitCode = 1;
  },
);
