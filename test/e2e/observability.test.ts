import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reconcile } from '@recon/cli/reconcile';
import { type GeneratedDay, generateDay } from '@recon/generator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execRecon } from '../support/cli.ts';

let dir: string;
let day: GeneratedDay;
let slack: Server;
let slackUrl: string;
const received: unknown[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recon-obs-'));
  day = await generateDay({
    rows: 3_000,
    tipo1Pct: 5,
    tipo2Pct: 3,
    tipo3Pct: 4,
    invalidPct: 8, // above the 5% maximum: the ErrorRate alert (CRITICAL) fires too
    duplicatePct: 1,
    seed: 5,
    outDir: join(dir, 'day'),
  });
  slack = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      received.push(JSON.parse(body));
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => slack.listen(0, '127.0.0.1', resolve));
  slackUrl = `http://127.0.0.1:${(slack.address() as AddressInfo).port}/hook`;
});

afterAll(async () => {
  await new Promise((resolve) => slack.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

describe('notifications and metrics of a whole run', () => {
  it('announces the job and its alerts on Slack, and its metrics equal its summary', async () => {
    const { summary } = await reconcile({
      file: day.vendorPath,
      base: { kind: 'csv', path: day.basePath },
      out: join(dir, 'out'),
      scope: 'date-window',
      notifier: { slack: { webhookUrl: slackUrl }, retry: { delaysMs: [10] } },
    });
    expect(summary.status).toBe('SUCCEEDED');
    const texts = received.map((m) => JSON.stringify(m));
    expect(texts).toHaveLength(3); // job succeeded, ErrorRate (CRITICAL), DivergenceRate (MEDIUM)
    expect(texts.some((t) => t.includes(summary.job_id) && t.includes('concluída'))).toBe(true);
    expect(texts.some((t) => t.includes('linhas inválidas'))).toBe(true);
    expect(texts.some((t) => t.includes('Taxa de Divergências Anormal'))).toBe(true);

    const prom = await readFile(summary.outputs.metrics as string, 'utf8');
    expect(prom).toContain(`reconciliation_total_lines{job_id="${summary.job_id}"} ${summary.total_lines}`);
    for (const [tipo, n] of Object.entries(summary.divergences)) {
      expect(prom).toContain(
        `reconciliation_divergences{job_id="${summary.job_id}",tipo_divergencia="${tipo}"} ${n}`,
      );
    }
  });
});

describe('logs of a whole run', () => {
  it('are JSON lines with job_id and stage, and never carry a full nome', async () => {
    const { stderr } = await execRecon(
      ['run', '--file', day.vendorPath, '--base-csv', day.basePath, '--out', join(dir, 'cli')],
      { ...process.env, RECON_LOG_LEVEL: 'info' },
    );
    const lines = stderr.trim().split('\n');
    expect(lines.length).toBeGreaterThan(10);
    for (const line of lines) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      expect(entry.job_id).toMatch(/^JOB-\d{8}-\d{6}$/);
      expect(typeof entry.stage).toBe('string');
    }
    // Every multi-word nome of the file (as written, and NFC), none of which may appear whole.
    const nomes = new Set<string>();
    for (const raw of (await readFile(day.vendorPath, 'utf8')).split('\r\n').slice(1)) {
      const nome = raw.split(';')[2]?.replaceAll('"', '').trim() ?? '';
      if (nome.includes(' ')) nomes.add(nome).add(nome.normalize('NFC'));
    }
    expect(nomes.size).toBeGreaterThan(100);
    const leaked = [...nomes].filter((n) => stderr.includes(n));
    expect(leaked).toEqual([]);
  });
});
