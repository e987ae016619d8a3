import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { type AwsConnection, clientConfig } from './clients.ts';

/**
 * Amazon SES for the notifier's email channel (`RECON_EMAIL_TRANSPORT=ses`). A module of its own,
 * not re-exported by `./index.ts`, so the services that send no email do not load the SES client.
 */
export function createSesClient(connection: AwsConnection): SESv2Client {
  return new SESv2Client(clientConfig(connection));
}

/**
 * Sends one raw MIME message (sender and recipients in its headers) with SESv2 `SendEmail`: the
 * notifier's `SesSend`. SES errors are thrown as the SDK gives them (`name`, `$metadata`), which
 * the notifier's channel classifies as permanent or transient.
 */
export function sesRawSender(client: SESv2Client): (raw: Uint8Array) => Promise<void> {
  return async (raw) => {
    await client.send(new SendEmailCommand({ Content: { Raw: { Data: raw } } }));
  };
}
