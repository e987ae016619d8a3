import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedRuntime } from '@recon/cli/runtime';
import { isVendorFileKey } from '@recon/contracts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type DeliveryCheck,
  DeliveryWatch,
  ingressFolderSource,
  localDate,
  notifierAlert,
  outputFolderSource,
  publishAlert,
  zonedInstant,
} from '../../apps/cli/src/delivery.ts';
import { DeliveryCounters } from '../../services/notifier/src/index.ts';
import { WebhookReceiver } from '../../services/notifier/src/testing/receivers.ts';
import { runRecon } from '../support/cli.ts';
import { holds, until } from '../support/wait.ts';

const TZ = 'America/Sao_Paulo';

let dir: string;
let ingress: string;
let slack: WebhookReceiver;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recon-delivery-'));
  ingress = join(dir, 'ingress');
  // The vendor delivered 2026-11-21 (as it lands in the ingress bucket: <date>/<file>.csv), not 2026-11-22.
  await mkdir(join(ingress, '2026-11-21'), { recursive: true });
  await writeFile(
    join(ingress, '2026-11-21', 'vendor.csv'),
    'fornecedor_id;ordem_id;nome;ativo_id;data;valor\n',
  );
  await mkdir(join(ingress, '2026-11-22'), { recursive: true });
  await writeFile(join(ingress, '2026-11-22', 'notes.txt'), 'not a vendor file');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

beforeAll(async () => {
  slack = await new WebhookReceiver().start();
});
afterAll(async () => {
  await slack.stop();
});
afterEach(() => {
  slack.requests.length = 0;
});

/** Delivery outcomes counted by the local notifier (as `recon serve` counts them for /metrics). */
let counted: DeliveryCounters;

/** The local notifier, Slack at the test's receiver (as `recon serve` configures it). */
function slackAlert(storeRoot: string) {
  counted = new DeliveryCounters();
  return notifierAlert(
    { slack: { webhookUrl: slack.url }, retry: { delaysMs: [50] } },
    { storeRoot, log: { info() {}, warn() {}, error() {} }, counter: counted },
  );
}

/** A clock that runs in real time from `start`. */
function clockFrom(start: Date) {
  const t0 = Date.now();
  return { now: () => new Date(start.getTime() + (Date.now() - t0)) };
}

async function checks(watch: DeliveryWatch, results: DeliveryCheck[], n: number, timeoutMs = 10_000) {
  await until(`${n} delivery check(s)`, () => holds(results.length >= n), { timeoutMs, intervalMs: 20 });
  await watch.idle();
}

describe('zoned dates', () => {
  it('09:00 in São Paulo is 12:00 UTC; D-1 is the local yesterday', () => {
    expect(zonedInstant('2026-11-22', '09:00', TZ).toISOString()).toBe('2026-11-22T12:00:00.000Z');
    expect(localDate(new Date('2026-11-22T02:30:00Z'), TZ)).toBe('2026-11-21');
  });
});

describe('what counts as a delivery', () => {
  it('a file YYYY-MM-DD/<file>.csv, in any case, as ingest takes it; not one in a subfolder or of another kind', async () => {
    const root = await mkdtemp(join(tmpdir(), 'recon-ingress-'));
    try {
      const put = async (key: string) => {
        await mkdir(join(root, key, '..'), { recursive: true });
        await writeFile(join(root, key), 'x');
      };
      await put('2026-11-20/FORNECEDOR.CSV');
      await put('2026-11-21/sub/fornecedor.csv');
      await put('2026-11-21/fornecedor.txt');
      await mkdir(join(root, '2026-11-21', 'pasta.csv'));
      const source = ingressFolderSource(root);
      expect(await source.arrived('2026-11-20')).toBe(true);
      expect(await source.arrived('2026-11-21')).toBe(false);
      expect(await source.arrived('2026-11-22')).toBe(false);
      expect(isVendorFileKey('2026-11-20/FORNECEDOR.CSV')).toBe(true);
      for (const key of [
        '2026-11-21/sub/fornecedor.csv',
        'uploads/2026-11-21/f.csv',
        '2026-11-21/f.txt',
        'f.csv',
      ])
        expect(isVendorFileKey(key), key).toBe(false);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('DeliveryWatch (the daily check inside recon serve)', () => {
  it('raises nothing when the file of D-1 arrived', async () => {
    const results: DeliveryCheck[] = [];
    const watch = new DeliveryWatch({
      sources: [ingressFolderSource(ingress)],
      raise: slackAlert(dir),
      expectedBy: '09:00',
      timeZone: TZ,
      // Started after the cutoff of 2026-11-22: checks D-1 (2026-11-21) at once.
      clock: clockFrom(new Date('2026-11-22T12:30:00Z')),
      onCheck: (r) => results.push(r),
    });
    watch.start();
    try {
      await checks(watch, results, 1);
    } finally {
      watch.stop();
    }
    expect(results).toEqual([
      { referenceDate: '2026-11-21', arrived: true, foundIn: join(ingress, '2026-11-21') },
    ]);
    expect(slack.requests).toHaveLength(0);
  });

  it('at the cutoff, with no file for D-1, raises one alert with the date, delivered to Slack once', async () => {
    const results: DeliveryCheck[] = [];
    const out = join(dir, 'out-empty');
    const clock = clockFrom(new Date('2026-11-23T11:59:59.600Z')); // 08:59:59.6 in São Paulo
    const watch = new DeliveryWatch({
      sources: [ingressFolderSource(ingress), outputFolderSource(out)],
      raise: slackAlert(out),
      expectedBy: '09:00',
      timeZone: TZ,
      clock,
      onCheck: (r) => results.push(r),
    });
    watch.start();
    try {
      expect(results).toHaveLength(0); // before the cutoff: nothing yet
      expect(watch.nextRunAt()?.toISOString()).toBe('2026-11-23T12:00:00.000Z');
      await checks(watch, results, 1);
      // The next check is the next day's.
      expect(watch.nextRunAt()?.toISOString()).toBe('2026-11-24T12:00:00.000Z');
      // Restarted after the cutoff (a process restart): the same date is not alerted twice.
      watch.stop();
      watch.start();
      await new Promise((r) => setTimeout(r, 200));
      await watch.idle();
    } finally {
      watch.stop();
    }
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({
      referenceDate: '2026-11-22',
      arrived: false,
      alert: { referenceDate: '2026-11-22', expectedBy: '09:00', timeZone: TZ, severity: 'HIGH' },
    });
    expect(results[0]!.alert!.lookedIn).toEqual([join(ingress, '2026-11-22'), join(out, 'jobs')]);
    expect(slack.delivered).toHaveLength(1);
    expect(counted.get('slack', 'delivered')).toBe(1);
    const text = slack.delivered[0]!.body;
    expect(text).toContain('Arquivo do fornecedor de 22/11/2026 não recebido');
    expect(text).toContain('09:00 (America/Sao_Paulo)');
  });

  it('through the embedded runtime’s bus, the alert is routed to its notifier', async () => {
    const out = join(dir, 'runtime');
    const runtime = new EmbeddedRuntime({
      ports: { storeRoot: out, ingressRoot: '/', databaseUrl: null, fixedNow: null },
      workers: 1,
      notifier: { slack: { webhookUrl: slack.url }, retry: { delaysMs: [50] } },
    });
    try {
      const results: DeliveryCheck[] = [];
      const watch = new DeliveryWatch({
        sources: [ingressFolderSource(ingress)],
        raise: publishAlert(runtime.events),
        expectedBy: '09:00',
        timeZone: TZ,
        clock: clockFrom(new Date('2026-11-23T13:00:00Z')),
        onCheck: (r) => results.push(r),
      });
      watch.start();
      await checks(watch, results, 1);
      watch.stop();
    } finally {
      await runtime.close();
    }
    expect(slack.delivered).toHaveLength(1);
    expect(slack.delivered[0]!.body).toContain('22/11/2026');
  });
});

describe('recon check-delivery (one shot, locally)', () => {
  const recon = (args: string[]) =>
    runRecon(args, {
      ...process.env,
      RECON_SLACK_WEBHOOK_URL: slack.url,
      RECON_DELIVERY_EXPECTED_BY: '09:00',
    });

  it('exits 0 without an alert when the file is there, 1 with one Slack alert when it is not', async () => {
    const present = await recon(['check-delivery', '--date', '2026-11-21', '--ingress', ingress, '--json']);
    expect(present.code).toBe(0);
    expect(JSON.parse(present.stdout.trim())).toMatchObject({ referenceDate: '2026-11-21', arrived: true });
    expect(slack.requests).toHaveLength(0);

    const missing = await recon(['check-delivery', '--date', '2026-11-22', '--ingress', ingress]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain('vendor file of 2026-11-22 has NOT arrived');
    expect(slack.delivered).toHaveLength(1);
    expect(slack.delivered[0]!.body).toContain('Arquivo do fornecedor de 22/11/2026 não recebido');

    const nowhere = await recon(['check-delivery', '--date', '2026-11-22']);
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toMatch(/INVALID_ARGUMENT: nowhere to look/);
  });
});
