import { createTransport } from 'nodemailer';
import type { SesConfig, SmtpConfig } from '../config.ts';
import type { Notification } from '../messages.ts';
import { DeliveryError, type NotificationChannel } from './channel.ts';

/** The email of a notification: subject, plain text and an equivalent HTML body. */
export function emailMessage(n: Notification): { subject: string; text: string; html: string } {
  const subject = `[recon][${n.severity}] ${n.title}`;
  const text: string[] = [n.title, '', n.text, ''];
  for (const f of n.fields) text.push(`${f.label}: ${f.value}`);
  for (const s of n.sections) {
    text.push('', `${s.heading}:`);
    for (const line of s.lines) text.push(/^\d+\. /.test(line) ? line : `- ${line}`);
  }
  if (n.links.length > 0) {
    text.push('', 'Links:');
    for (const l of n.links) text.push(`- ${l.label}: ${l.url}`);
  }
  if (n.playbook !== undefined) text.push('', `Playbook: ${n.playbook} (docs/runbook.md)`);
  text.push(
    '',
    `--`,
    `Mensagem automática do recon · severidade ${n.severity}${n.jobId === undefined ? '' : ` · job ${n.jobId}`}`,
  );

  const h = escapeHtml;
  const html: string[] = [
    `<h2>${h(n.title)}</h2>`,
    `<p>${h(n.text)}</p>`,
    '<table>',
    ...n.fields.map((f) => `<tr><th align="left">${h(f.label)}</th><td>${h(f.value)}</td></tr>`),
    '</table>',
  ];
  for (const s of n.sections) {
    html.push(`<h3>${h(s.heading)}</h3>`, '<ul>', ...s.lines.map((l) => `<li>${h(l)}</li>`), '</ul>');
  }
  if (n.links.length > 0) {
    html.push('<p>', n.links.map((l) => `<a href="${h(l.url)}">${h(l.label)}</a>`).join(' · '), '</p>');
  }
  if (n.playbook !== undefined) html.push(`<p>Playbook: ${h(n.playbook)}</p>`);
  html.push(
    `<p><small>Mensagem automática do recon · severidade ${h(n.severity)}${n.jobId === undefined ? '' : ` · job ${h(n.jobId)}`}</small></p>`,
  );
  return { subject, text: `${text.join('\n')}\n`, html: html.join('\n') };
}

function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/**
 * Email over SMTP (nodemailer), one connection per message. SMTP 5xx replies (except 503) and
 * authentication failures are permanent; 4xx replies, connection errors and timeouts are transient.
 */
export function smtpChannel(config: SmtpConfig): NotificationChannel {
  const transporter = createTransport({
    host: config.host,
    port: config.port,
    secure: config.secure,
    requireTLS: config.starttls === 'require',
    ignoreTLS: config.starttls === 'never',
    ...(config.user === undefined ? {} : { auth: { user: config.user, pass: config.pass ?? '' } }),
    connectionTimeout: config.timeoutMs,
    greetingTimeout: config.timeoutMs,
    socketTimeout: config.timeoutMs,
  });
  return {
    name: 'email',
    async send(n) {
      const mail = emailMessage(n);
      try {
        await transporter.sendMail({ from: config.from, to: config.to, ...mail });
      } catch (error) {
        const e = error as { permanent?: boolean; code?: string; message?: string };
        throw new DeliveryError(`SMTP ${config.host}:${config.port}: ${e.message ?? String(error)}`, {
          permanent: e.permanent ?? (e.code === 'EAUTH' || e.code === 'EENVELOPE'),
          cause: error,
        });
      }
    },
  };
}

/** Sends one raw MIME message through Amazon SES (SESv2 `SendEmail` with `Content.Raw.Data`). */
export type SesSend = (raw: Uint8Array) => Promise<void>;

const SES_PERMANENT = new Set([
  'MessageRejected',
  'MailFromDomainNotVerifiedException',
  'AccountSuspendedException',
  'SendingPausedException',
  'BadRequestException',
  'NotFoundException',
]);

/**
 * Email through Amazon SES: the message is composed here (nodemailer's MIME builder) and handed to
 * the injected `send`, so this module needs no AWS SDK and tests need no AWS. Throttling, 5xx and
 * network errors are transient; SES rejections (unverified identity, suspended account) permanent.
 */
export function sesChannel(config: SesConfig, send: SesSend): NotificationChannel {
  const composer = createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  return {
    name: 'email',
    async send(n) {
      const { message } = await composer.sendMail({ from: config.from, to: config.to, ...emailMessage(n) });
      const raw = Buffer.isBuffer(message) ? message : Buffer.from(String(message));
      try {
        await send(raw);
      } catch (error) {
        const e = error as { name?: string; permanent?: boolean; $metadata?: { httpStatusCode?: number } };
        const status = e.$metadata?.httpStatusCode;
        const permanent =
          e.permanent === true ||
          SES_PERMANENT.has(e.name ?? '') ||
          (status !== undefined && status >= 400 && status < 500 && status !== 429);
        throw new DeliveryError(`SES: ${(error as Error).message ?? String(error)}`, {
          permanent,
          cause: error,
        });
      }
    },
  };
}
