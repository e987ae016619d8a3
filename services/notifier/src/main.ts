/**
 * The notifier as a standalone process: consumes the `notifier` queue (job.succeeded, job.failed,
 * alert.raised). Which (event, channel) pairs were announced is kept in the job store's
 * processed-message keys, so a redelivered or duplicated event notifies once across restarts
 * and processes.
 *
 * Environment: CommonEnvSchema (packages/runtime-distributed/src/config.ts) plus the notifier's
 * own variables (RECON_SLACK_WEBHOOK_URL, RECON_SMTP_*, RECON_MAIL_FROM/TO, RECON_NOTIFY_*,
 * RECON_DASHBOARD_URL: see ./config.ts `notifierConfigFromEnv`). With RECON_EMAIL_TRANSPORT=ses the
 * email goes through Amazon SES (SESv2 SendEmail, raw MIME) with the task's credentials; the
 * endpoint is AWS's, or RECON_SES_ENDPOINT_URL (tests: a local stand-in), else AWS_ENDPOINT_URL.
 */
import { createSesClient, sesRawSender } from '@recon/adapters/aws/ses';
import { CommonEnvSchema, parseEnv, runMain, startService } from '@recon/runtime-distributed';
import { z } from 'zod';
import { createNotifier } from './app.ts';
import type { SesSend } from './channels/email.ts';
import { notifierConfigFromEnv } from './config.ts';

const NotifierEnvSchema = CommonEnvSchema.extend({
  /** The SES endpoint, when not AWS's nor AWS_ENDPOINT_URL (tests: a local stand-in). */
  RECON_SES_ENDPOINT_URL: z.string().url().optional(),
});

const env = parseEnv(NotifierEnvSchema, process.env);
const notifierConfig = notifierConfigFromEnv(process.env);

runMain(() =>
  startService({
    service: 'notifier',
    env,
    defaultConcurrency: 4,
    handlers: ({ jobStore, connection, onStop }) => {
      let sesSend: SesSend | undefined;
      if (notifierConfig.email?.transport === 'ses') {
        const ses = createSesClient({
          ...connection,
          ...(env.RECON_SES_ENDPOINT_URL === undefined ? {} : { endpoint: env.RECON_SES_ENDPOINT_URL }),
        });
        onStop(() => ses.destroy());
        sesSend = sesRawSender(ses);
      }
      const notifier = createNotifier(notifierConfig, {
        ...(sesSend === undefined ? {} : { sesSend }),
        ledger: {
          claim: (key) => jobStore.markProcessed(`notify:${key}`),
          release: (key) => jobStore.releaseProcessed(`notify:${key}`),
        },
      });
      return { ...notifier };
    },
  }),
);
