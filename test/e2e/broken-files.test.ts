import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reconcile } from '@recon/cli/reconcile';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRecon } from '../support/cli.ts';

const HEADER = 'fornecedor_id;ordem_id;nome;ativo_id;data;valor';
const GOOD = `${HEADER}\nF;O1;Ana;A;2026-11-20;10.00\n`;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recon-broken-'));
  await writeFile(join(dir, 'base.csv'), GOOD);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const CASES: [string, string, string | Buffer, RegExp][] = [
  ['empty', 'FILE_EMPTY', '', /0 bytes/],
  ['header only', 'FILE_HEADER_ONLY', `${HEADER}\r\n\r\n`, /header but no data lines/],
  [
    'bad header',
    'INVALID_HEADER',
    'fornecedor;ordem_id;nome;ativo_id;data;valor;extra\nF;O;n;a;2026-01-01;1;x\n',
    /missing column\(s\): fornecedor_id; unknown column\(s\): "fornecedor", "extra"/,
  ],
  [
    'not UTF-8',
    'FILE_NOT_UTF8',
    Buffer.concat([
      Buffer.from(`${HEADER}\nF;O1;ok;A;2026-11-20;1\nF;O2;Jos`),
      Buffer.from([0xe9]),
      Buffer.from(';A;2026-11-20;1\n'),
    ]),
    /line 3: not valid UTF-8/,
  ],
  [
    'unterminated quote',
    'UNTERMINATED_QUOTE',
    `${HEADER}\nF;O1;"Ana;A;2026-11-20;1\nF;O2;x;A;2026-11-20;1\n`,
    /line 2/,
  ],
];

describe('a broken delivery fails cleanly (RULES §2)', () => {
  it.each(CASES)('%s → %s, a FAILED summary and no divergence file', async (name, code, content, message) => {
    const file = join(dir, `${name.replaceAll(' ', '-')}.csv`);
    await writeFile(file, content);
    const out = join(dir, `out-${name.replaceAll(' ', '-')}`);
    const { summary, job } = await reconcile({
      file,
      base: { kind: 'csv', path: join(dir, 'base.csv') },
      out,
      scope: 'date-window',
    });
    expect(summary.status).toBe('FAILED');
    expect(job.status).toBe('FAILED');
    expect(summary.error?.code).toBe(code);
    expect(summary.error?.stage).toBe('ingest');
    expect(summary.error?.message).toMatch(message);
    expect(summary.error?.message).toContain(file);
    const written = JSON.parse(await readFile(join(out, 'jobs', summary.job_id, 'summary.json'), 'utf8'));
    expect(written.status).toBe('FAILED');
    expect(await readdir(join(out, 'divergencias')).catch(() => 'absent')).toBe('absent');
  });
});

describe('the recon command line', () => {
  it('exits 0 with the summary JSON as the last stdout line under --json', async () => {
    const vendor = join(dir, '2026-11-19', 'fornecedor.csv');
    await rm(join(dir, '2026-11-19'), { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(join(dir, '2026-11-19')));
    await writeFile(vendor, `${HEADER}\nF;O1;Ana;A;2026-11-20;10,00\nF;O2;Bia;A;2026-11-20;1\n`);
    const r = await runRecon([
      'run',
      '--file',
      vendor,
      '--base-csv',
      join(dir, 'base.csv'),
      '--out',
      join(dir, 'cli-out'),
      '--json',
    ]);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout.trimEnd().split('\n').at(-1)!);
    expect(summary.status).toBe('SUCCEEDED');
    expect(summary.reference_date).toBe('2026-11-19'); // the file's date folder
    expect(summary.divergences.TIPO_1).toBe(1);
    expect(summary.job_id).toMatch(/^JOB-\d{8}-000001$/);
  });

  it('exits 2 with the reason on stderr when the file is rejected', async () => {
    const r = await runRecon([
      'run',
      '--file',
      join(dir, 'bad-header.csv'),
      '--base-csv',
      join(dir, 'base.csv'),
      '--out',
      join(dir, 'cli-bad'),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/INVALID_HEADER: .*bad-header\.csv, line 1: invalid header/);
    expect(r.stdout).toContain('FAILED');
  });

  it('generates the technical document scenarios (§7.2) deterministically', async () => {
    const out = join(dir, 'gen');
    const r = await runRecon([
      'generate',
      '--scenario',
      'high-divergence',
      '--rows',
      '2000',
      '--out',
      out,
      '--json',
    ]);
    expect(r.code).toBe(0);
    const day = JSON.parse(r.stdout.trimEnd().split('\n').at(-1)!);
    const e = day.expected['date-window'];
    expect(e.divergences.TIPO_1).toBe(200); // 10%
    expect(e.divergences.TIPO_2).toBe(120); // 6%
    const tipo3Orders = e.divergent_orders - 200 - 120;
    expect(tipo3Orders).toBe(80); // 4%: 20% of the orders diverge in all
    const again = await runRecon([
      'generate',
      '--scenario',
      'high-divergence',
      '--rows',
      '2000',
      '--out',
      `${out}-2`,
    ]);
    expect(again.code).toBe(0);
    expect(await readFile(join(out, 'vendor.csv'))).toEqual(await readFile(join(`${out}-2`, 'vendor.csv')));
    const missing = await runRecon(['generate', '--out', out]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('--rows or --scenario is required');
  });

  it('names a missing file and a bad option, without a stack trace', async () => {
    const missing = await runRecon([
      'run',
      '--file',
      join(dir, 'nope.csv'),
      '--base-csv',
      join(dir, 'base.csv'),
      '--out',
      dir,
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`recon: FILE_NOT_FOUND: --file ${join(dir, 'nope.csv')}: no such file\n`);
    const bad = await runRecon([
      'run',
      '--file',
      'x',
      '--base-csv',
      'y',
      '--out',
      dir,
      '--scope',
      'sometimes',
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--scope "sometimes": expected one of date-window, all');
    const unknown = await runRecon(['run', '--frobnicate']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("Unknown option '--frobnicate'");
  });
});
