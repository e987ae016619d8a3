/**
 * The notifier as a standalone process: consumes the `notifier` queue (job.succeeded, job.failed,
 * alert.raised). Which (event, channel) pairs were announced is kept in the job store's
 * processed-message keys, so a redelivered or duplicated event notifies once across restarts
 * and processes.
 *
 * Environment: CommonEnvSchema (packages/runtime-distributed/src/config.ts) plus the notifier's
 * own variables (RECON_SLACK_WEBHOOK_URL, RECON_SMTP_*, RECON_MAIL_FROM/TO, RECON_NOTIFY_*,
 * RECON_DASHBOARD_URL: see ./config.ts `notifierConfigFromEnv`).
 */
import { CommonEnvSchema, parseEnv, runMain, startService } from '@recon/runtime-distributed';
import { createNotifier } from './app.ts';
import { notifierConfigFromEnv } from './config.ts';

const env = parseEnv(CommonEnvSchema, process.env);
const notifierConfig = notifierConfigFromEnv(process.env);

runMain(() =>
  startService({
    service: 'notifier',
    env,
    defaultConcurrency: 4,
    handlers: ({ jobStore }) => {
      const notifier = createNotifier(notifierConfig, {
        ledger: {
          claim: (key) => jobStore.markProcessed(`notify:${key}`),
          release: (key) => jobStore.releaseProcessed(`notify:${key}`),
        },
      });
      return { ...notifier };
    },
  }),
);
