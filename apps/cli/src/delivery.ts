import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InMemoryJobStore, LocalFolderStore } from '@recon/adapters/embedded';
import type { ReconLogger } from '@recon/adapters/logger';
import {
  type Clock,
  type DeliveryMissing,
  type EventPublisher,
  isVendorFileKey,
  type JobQueries,
  type JobSummary,
  type Logger,
  type ObjectStore,
  ReconError,
  type ServiceContext,
  twoDigits,
  wallClock,
} from '@recon/contracts';
import { createNotifier, type DeliveryCounter, isTimeZone, type NotifierConfigInput } from '@recon/notifier';

/**
 * The runbook's daily check (§1.1, "Verificar execução do dia anterior"; RULES §7 via issue 4):
 * by a configured local time, has the vendor file for D-1 arrived? If not, a `delivery.missing`
 * event goes to the notifier — once per reference date. Used by `recon check-delivery` (a one-shot
 * command: the AWS schedule runs it as a Fargate task) and by `DeliveryWatch` (a daily timer inside
 * `recon serve`).
 */

/** Where a vendor file of a reference date may have arrived, or left a trace. */
export interface DeliverySource {
  /** For messages: the folder, bucket prefix or store looked in (`{date}` is the reference date). */
  where(referenceDate: string): string;
  arrived(referenceDate: string): Promise<boolean>;
}

/** A local ingress folder laid out like the ingress bucket: `<dir>/YYYY-MM-DD/<file>.csv`. */
export function ingressFolderSource(dir: string): DeliverySource {
  const root = resolve(dir);
  return {
    where: (date) => join(root, date),
    arrived: async (date) => {
      try {
        const entries = await readdir(join(root, date), { withFileTypes: true });
        return entries.some((e) => e.isFile() && isVendorFileKey(`${date}/${e.name}`));
      } catch {
        return false;
      }
    },
  };
}

/**
 * An output folder of the embedded runtime: a job for the date has a summary (whatever its
 * status: the file did arrive), or is running now (its date lock `jobs/.locks/<date>.lock`).
 */
export function outputFolderSource(out: string): DeliverySource {
  const root = resolve(out);
  return {
    where: () => join(root, 'jobs'),
    arrived: async (date) => {
      const lock = await stat(join(root, 'jobs', '.locks', `${date}.lock`)).then(
        () => true,
        () => false,
      );
      if (lock) return true;
      let ids: string[];
      try {
        ids = (await readdir(join(root, 'jobs'))).filter((d) => d.startsWith('JOB-'));
      } catch {
        return false;
      }
      for (const id of ids) {
        try {
          const summary = JSON.parse(
            await readFile(join(root, 'jobs', id, 'summary.json'), 'utf8'),
          ) as JobSummary;
          if (summary.reference_date === date) return true;
        } catch {
          // A job without a summary yet, or an unreadable one: not evidence either way.
        }
      }
      return false;
    },
  };
}

/** A job store that lists jobs (PostgreSQL): any job of the date, whatever its status. */
export function jobStoreSource(jobs: JobQueries, label = 'job store'): DeliverySource {
  return {
    where: () => label,
    arrived: async (date) =>
      (await jobs.listJobs({ dtFrom: date, dtTo: date, offset: 0, limit: 1 })).total > 0,
  };
}

/** The ingress bucket (or any object store) with the layout `YYYY-MM-DD/<file>.csv`. */
export function ingressStoreSource(store: ObjectStore): DeliverySource {
  return {
    where: (date) => store.uri(`${date}/`),
    arrived: async (date) => (await store.list(`${date}/`)).some((k) => isVendorFileKey(k)),
  };
}

export interface DeliverySettings {
  /** Local time (`HH:MM`) by which the file for D-1 must have arrived. */
  expectedBy: string;
  /** IANA time zone of `expectedBy` and of "today". */
  timeZone: string;
  /** Severity of the alert (default HIGH: Slack and email). */
  severity?: DeliveryMissing['severity'];
}

export interface DeliveryCheck {
  referenceDate: string;
  arrived: boolean;
  /** Where the file (or its job) was found. */
  foundIn?: string;
  /** The alert that was raised, when the file had not arrived. */
  alert?: DeliveryMissing;
}

/** Raises the alert: publishes `delivery.missing` (routed to the notifier), id `delivery.missing:<date>`. */
export type RaiseAlert = (alert: DeliveryMissing) => Promise<void>;

export function publishAlert(events: EventPublisher): RaiseAlert {
  return (alert) => events.publish('delivery.missing', `delivery.missing:${alert.referenceDate}`, alert);
}

/**
 * Raises the alert through a notifier of this process (no queue): Slack, email and the log as the
 * configuration says, announced as the notifier service would (`recon check-delivery` locally,
 * `recon serve`). `storeRoot` is where object paths in messages point.
 */
export function notifierAlert(
  config: NotifierConfigInput,
  options: { storeRoot: string; log: Logger; counter?: DeliveryCounter },
): RaiseAlert {
  const notifier = createNotifier(config, options.counter === undefined ? {} : { counter: options.counter });
  const ctx: ServiceContext = {
    store: new LocalFolderStore(options.storeRoot),
    ingress: new LocalFolderStore(options.storeRoot),
    jobs: new InMemoryJobStore(),
    events: { publish: async () => {} },
    clock: { now: () => new Date() },
    log: options.log,
  };
  return (alert) => notifier['delivery.missing'](ctx, alert);
}

/**
 * Checks one reference date: true as soon as one source has the file; otherwise raises the alert
 * (the caller dedups per date; the notifier dedups by event id too).
 */
export async function checkDelivery(
  referenceDate: string,
  sources: readonly DeliverySource[],
  raise: RaiseAlert,
  settings: DeliverySettings,
  now: Date,
): Promise<DeliveryCheck> {
  if (sources.length === 0) {
    throw new ReconError(
      'INVALID_ARGUMENT',
      'nowhere to look for the vendor file: give --ingress DIR and/or --out DIR (or set RECON_INGRESS_BUCKET)',
    );
  }
  for (const source of sources) {
    if (await source.arrived(referenceDate)) {
      return { referenceDate, arrived: true, foundIn: source.where(referenceDate) };
    }
  }
  const alert: DeliveryMissing = {
    referenceDate,
    checkedAt: now.toISOString(),
    expectedBy: settings.expectedBy,
    timeZone: settings.timeZone,
    lookedIn: sources.map((s) => s.where(referenceDate)),
    severity: settings.severity ?? 'HIGH',
  };
  await raise(alert);
  return { referenceDate, arrived: false, alert };
}

export interface DeliveryWatchOptions extends DeliverySettings {
  sources: readonly DeliverySource[];
  raise: RaiseAlert;
  /** Default: the system clock. Tests move time. */
  clock?: Clock;
  log?: Pick<ReconLogger, 'info' | 'warn' | 'error'>;
  /** Called after every check (tests, metrics). */
  onCheck?: (result: DeliveryCheck) => void;
}

/**
 * The daily check inside a long-running process (`recon serve`): every day at `expectedBy`
 * (local time in `timeZone`) it checks D-1 and raises the alert when the file is missing, once per
 * date. Started after that time of day, it checks that day's D-1 at once (a restart after the
 * cutoff still checks). `start`/`stop` are idempotent; the timer does not keep the process alive.
 */
export class DeliveryWatch {
  private readonly clock: Clock;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private readonly alerted = new Set<string>();
  private current: Promise<void> = Promise.resolve();

  constructor(private readonly options: DeliveryWatchOptions) {
    parseClockTime(options.expectedBy);
    if (!isTimeZone(options.timeZone)) {
      throw new ReconError(
        'INVALID_CONFIG',
        `time zone ${JSON.stringify(options.timeZone)} is not an IANA time zone`,
      );
    }
    this.clock = options.clock ?? { now: () => new Date() };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const now = this.clock.now();
    const today = localDate(now, this.options.timeZone);
    if (now.getTime() >= zonedInstant(today, this.options.expectedBy, this.options.timeZone).getTime()) {
      this.current = this.check(dayBefore(today));
    }
    this.schedule();
  }

  stop(): void {
    this.running = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Resolves when the check in progress (if any) has finished. */
  idle(): Promise<void> {
    return this.current;
  }

  /** When the next daily check runs (the first cutoff strictly after `after`), or null when stopped. */
  nextRunAt(after: Date = this.clock.now()): Date | null {
    if (!this.running) return null;
    const { expectedBy, timeZone } = this.options;
    let day = localDate(after, timeZone);
    let at = zonedInstant(day, expectedBy, timeZone);
    if (at.getTime() <= after.getTime()) {
      day = dayAfter(day);
      at = zonedInstant(day, expectedBy, timeZone);
    }
    return at;
  }

  private schedule(after?: Date): void {
    const at = this.nextRunAt(after);
    if (at === null) return;
    // Timers cap at ~24.8 days; a day is far below. Measured on the injected clock.
    const wait = Math.max(0, at.getTime() - this.clock.now().getTime());
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.running) return;
      const day = localDate(at, this.options.timeZone);
      this.current = this.current.then(() => this.check(dayBefore(day)));
      // The next day's, counted from this cutoff (not from a clock that may lag it by a hair).
      if (this.running) this.schedule(at);
    }, wait);
    this.timer.unref();
  }

  private async check(referenceDate: string): Promise<void> {
    if (this.alerted.has(referenceDate)) return;
    try {
      const result = await checkDelivery(
        referenceDate,
        this.options.sources,
        this.options.raise,
        this.options,
        this.clock.now(),
      );
      if (!result.arrived) {
        this.alerted.add(referenceDate);
        this.options.log?.warn(
          { reference_date: referenceDate, looked_in: result.alert?.lookedIn },
          'vendor file missing: delivery.missing raised',
        );
      } else {
        this.options.log?.info(
          { reference_date: referenceDate, found_in: result.foundIn },
          'vendor file arrived',
        );
      }
      this.options.onCheck?.(result);
    } catch (error) {
      this.options.log?.error({ reference_date: referenceDate, err: String(error) }, 'delivery check failed');
    }
  }
}

// ---- dates in a time zone ----

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** `HH:MM` → minutes after midnight; INVALID_CONFIG otherwise. */
export function parseClockTime(hhmm: string): number {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(hhmm);
  if (m === null)
    throw new ReconError(
      'INVALID_CONFIG',
      `expected a time of day as HH:MM (e.g. 09:00), got ${JSON.stringify(hhmm)}`,
    );
  return Number(m[1]) * 60 + Number(m[2]);
}

/** The calendar date (YYYY-MM-DD) of an instant in a time zone. */
export function localDate(instant: Date, timeZone: string): string {
  const { year, month, day } = wallClock(instant, timeZone);
  return `${year}-${twoDigits(month)}-${twoDigits(day)}`;
}

export function dayBefore(date: string): string {
  return shiftDay(date, -1);
}

function dayAfter(date: string): string {
  return shiftDay(date, 1);
}

function shiftDay(date: string, days: number): string {
  if (!DATE.test(date))
    throw new ReconError('INVALID_ARGUMENT', `expected a date YYYY-MM-DD, got ${JSON.stringify(date)}`);
  const t = Date.parse(`${date}T00:00:00Z`) + days * 86_400_000;
  return new Date(t).toISOString().slice(0, 10);
}

/** Offset (ms) of a time zone from UTC at an instant: local wall time minus UTC. */
function offsetMs(instant: number, timeZone: string): number {
  const c = wallClock(instant, timeZone);
  const wall = Date.UTC(c.year, c.month - 1, c.day, c.hour, c.minute, c.second);
  return wall - Math.floor(instant / 1000) * 1000;
}

/** The instant of wall time `hhmm` on `date` in `timeZone` (DST-safe to the minute). */
export function zonedInstant(date: string, hhmm: string, timeZone: string): Date {
  const minutes = parseClockTime(hhmm);
  if (!DATE.test(date))
    throw new ReconError('INVALID_ARGUMENT', `expected a date YYYY-MM-DD, got ${JSON.stringify(date)}`);
  const wall = Date.parse(`${date}T00:00:00Z`) + minutes * 60_000;
  let instant = wall - offsetMs(wall, timeZone);
  instant = wall - offsetMs(instant, timeZone);
  return new Date(instant);
}
