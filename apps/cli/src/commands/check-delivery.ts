import { parseArgs } from 'node:util';
import { createPostgresJobStore } from '@recon/adapters';
import { createReconLogger } from '@recon/adapters/logger';
import { ReconError } from '@recon/contracts';
import type { Env } from '../config.ts';
import {
  checkDelivery,
  type DeliveryCheck,
  type DeliverySettings,
  type DeliverySource,
  dayBefore,
  ingressFolderSource,
  ingressStoreSource,
  jobStoreSource,
  localDate,
  notifierAlert,
  outputFolderSource,
  publishAlert,
  type RaiseAlert,
} from '../delivery.ts';
import { awsPorts } from './aws-ports.ts';

export interface CheckDeliveryOptions {
  /** The reference date to check; default D-1 of today in RECON_DELIVERY_TIME_ZONE. */
  date?: string;
  /** Local ingress folder (`YYYY-MM-DD/<file>.csv`); default RECON_INGRESS_DIR. */
  ingress?: string;
  /** An output folder of `recon run`: a job of the date there counts as the file's arrival. */
  out?: string;
}

/** The delivery settings from the environment; `expectedBy` defaults to the time the check runs. */
export function deliverySettings(env: Env, now: Date): DeliverySettings {
  const tz = env.RECON_DELIVERY_TIME_ZONE;
  return {
    expectedBy: env.RECON_DELIVERY_EXPECTED_BY ?? localClock(now, tz),
    timeZone: tz,
    severity: env.RECON_DELIVERY_SEVERITY,
  };
}

/**
 * `recon check-delivery`: has the vendor file for D-1 (or `--date`) arrived? The command checks
 * now — it is run at the cutoff (the AWS schedule, cron) — and raises `delivery.missing` when the
 * file is missing.
 *
 * - AWS / `recon stack` (RECON_INGRESS_BUCKET set): looks in the ingress bucket under `<date>/`
 *   and, with DATABASE_URL, in the job store; the alert is published (EventBridge, or the SQS
 *   queues) to the notifier service, which sends it once per date.
 * - Locally: looks in `--ingress` (RECON_INGRESS_DIR) and `--out`; the alert goes straight to the
 *   notifier configured by the environment (Slack, email, the log).
 */
export async function checkDeliveryCommand(env: Env, o: CheckDeliveryOptions): Promise<DeliveryCheck> {
  const now = new Date();
  const settings = deliverySettings(env, now);
  if (o.date !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(o.date)) {
    throw new ReconError('INVALID_ARGUMENT', `--date ${JSON.stringify(o.date)} must be YYYY-MM-DD`);
  }
  const referenceDate = o.date ?? dayBefore(localDate(now, settings.timeZone));
  const sources: DeliverySource[] = [];
  const closers: (() => Promise<void> | void)[] = [];
  try {
    let raise: RaiseAlert;
    if (env.RECON_INGRESS_BUCKET !== undefined) {
      const ports = await awsPorts(env, 'check-delivery');
      closers.push(() => ports.close());
      if (ports.ingress !== undefined) sources.push(ingressStoreSource(ports.ingress));
      if (env.DATABASE_URL !== undefined) {
        const db = await createPostgresJobStore(env.DATABASE_URL, { maxConnections: 2 });
        closers.push(db.close);
        sources.push(jobStoreSource(db.store));
      }
      raise = publishAlert(ports.events);
    } else {
      const ingress = o.ingress ?? env.RECON_INGRESS_DIR;
      if (ingress !== undefined) sources.push(ingressFolderSource(ingress));
      if (o.out !== undefined) sources.push(outputFolderSource(o.out));
      raise = notifierAlert(env.notifier, {
        storeRoot: o.out ?? process.cwd(),
        log: createReconLogger({ level: env.RECON_LOG_LEVEL, base: { service: 'recon' } }),
      });
    }
    return await checkDelivery(referenceDate, sources, raise, settings, now);
  } finally {
    for (const close of closers.reverse()) await close();
  }
}

function localClock(now: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(now);
}

/** The command line of `recon check-delivery`: exit 0 when the file arrived, 1 when it is missing. */
export async function checkDeliveryMain(argv: string[], env: Env): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      date: { type: 'string' },
      ingress: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean' },
    },
    strict: true,
  });
  const result = await checkDeliveryCommand(env, {
    ...(values.date === undefined ? {} : { date: values.date }),
    ...(values.ingress === undefined ? {} : { ingress: values.ingress }),
    ...(values.out === undefined ? {} : { out: values.out }),
  });
  if (values.json === true) process.stdout.write(`${JSON.stringify(result)}\n`);
  else if (result.arrived)
    process.stdout.write(`vendor file of ${result.referenceDate} arrived (found in ${result.foundIn})\n`);
  else
    process.stdout.write(
      `vendor file of ${result.referenceDate} has NOT arrived (looked in ${result.alert?.lookedIn.join(', ')}); delivery.missing raised (${result.alert?.severity})\n`,
    );
  return result.arrived ? 0 : 1;
}
