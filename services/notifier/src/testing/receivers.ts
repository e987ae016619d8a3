/**
 * Real receivers for the notifier's tests: an HTTP server standing in for the Slack webhook, an
 * SMTP server (smtp-server) receiving the email, and an HTTP server standing in for the Amazon
 * SES v2 API (nothing real can run SES here), all on 127.0.0.1 and a random port.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer, listenLocal } from '@recon/adapters/aws/testing';
import { SMTPServer } from 'smtp-server';

export interface ReceivedRequest {
  at: number;
  status: number;
  body: string;
  json: unknown;
}

/** The Slack webhook: answers each request with the next status of `statuses` (then 200). */
export class WebhookReceiver {
  readonly requests: ReceivedRequest[] = [];
  /** Statuses for the next requests, in order; when empty, 200 "ok". */
  statuses: number[] = [];
  /** Status for every request once `statuses` is spent (default 200). */
  fallbackStatus = 200;
  private server: Server | undefined;
  url = '';

  async start(): Promise<this> {
    const { server, origin } = await listenLocal((_req, bytes, res) => {
      const body = bytes.toString('utf8');
      const status = this.statuses.shift() ?? this.fallbackStatus;
      let json: unknown = null;
      try {
        json = JSON.parse(body);
      } catch {
        json = null;
      }
      this.requests.push({ at: Date.now(), status, body, json });
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status === 200 ? 'ok' : status === 400 ? 'invalid_payload' : 'internal_error');
    });
    this.server = server;
    this.url = `${origin}/services/T000/B000/XXXX`;
    return this;
  }

  /** Requests answered 200. */
  get delivered(): ReceivedRequest[] {
    return this.requests.filter((r) => r.status === 200);
  }

  stop(): Promise<void> {
    return closeServer(this.server);
  }
}

export interface ReceivedMail {
  at: number;
  from: string;
  to: string[];
  raw: string;
  subject: string;
  text: string;
  html: string;
}

/** An SMTP server without TLS or authentication; `rejectNext` answers the next messages with 451 (or a given code). */
export class SmtpReceiver {
  readonly mails: ReceivedMail[] = [];
  /** Reply codes for the next DATA commands (e.g. [451]); when empty, the message is accepted. */
  rejectNext: number[] = [];
  attempts = 0;
  port = 0;
  private server: SMTPServer | undefined;

  async start(): Promise<this> {
    this.server = new SMTPServer({
      disabledCommands: ['STARTTLS', 'AUTH'],
      authOptional: true,
      logger: false,
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          this.attempts++;
          const code = this.rejectNext.shift();
          if (code !== undefined) {
            const error = new Error('try again later') as Error & { responseCode: number };
            error.responseCode = code;
            callback(error);
            return;
          }
          const raw = Buffer.concat(chunks).toString('utf8');
          const parsed = parseMime(raw);
          this.mails.push({
            at: Date.now(),
            from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
            to: session.envelope.rcptTo.map((r) => r.address),
            raw,
            ...parsed,
          });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    this.port = (this.server.server.address() as AddressInfo).port;
    return this;
  }

  stop(): Promise<void> {
    return closeServer(this.server);
  }
}

export interface SesRequest {
  method: string;
  path: string;
  /** The request's `authorization` header (the SDK signs with SigV4). */
  authorization: string;
  status: number;
  /** `Content.Raw.Data` of the SendEmail body, decoded (empty when absent). */
  raw: string;
}

/**
 * The SES v2 API as far as the notifier uses it: `POST /v2/email/outbound-emails` (SendEmail).
 * Answers the next requests with the errors of `errors` (HTTP status and SES error name, as SES
 * sends them: `x-amzn-ErrorType` and a JSON `message`), then accepts with a `MessageId`. The mails
 * accepted are parsed as `SmtpReceiver` parses its own.
 */
export class SesReceiver {
  readonly requests: SesRequest[] = [];
  readonly mails: { raw: string; subject: string; text: string; html: string }[] = [];
  errors: { status: number; name: string; message: string }[] = [];
  url = '';
  private server: Server | undefined;

  async start(): Promise<this> {
    const { server, origin } = await listenLocal((req, bytes, res) => {
      let raw = '';
      try {
        const body = JSON.parse(bytes.toString('utf8')) as { Content?: { Raw?: { Data?: string } } };
        raw = Buffer.from(body.Content?.Raw?.Data ?? '', 'base64').toString('utf8');
      } catch {
        raw = '';
      }
      const error =
        req.method === 'POST' && req.url === '/v2/email/outbound-emails'
          ? this.errors.shift()
          : { status: 404, name: 'NotFoundException', message: `no route ${req.method} ${req.url}` };
      const status = error?.status ?? 200;
      this.requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        authorization: req.headers.authorization ?? '',
        status,
        raw,
      });
      if (error !== undefined) {
        res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': error.name });
        res.end(JSON.stringify({ message: error.message }));
        return;
      }
      this.mails.push({ raw, ...parseMime(raw) });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ MessageId: `msg-${this.mails.length}` }));
    });
    this.server = server;
    this.url = origin;
    return this;
  }

  stop(): Promise<void> {
    return closeServer(this.server);
  }
}

/** A small MIME reader for what nodemailer writes: headers, RFC 2047 subject, QP/base64 parts. */
export function parseMime(raw: string): { subject: string; text: string; html: string } {
  const { headers, body } = splitHeaders(raw);
  const subject = decodeWords(headers.get('subject') ?? '');
  const parts = leafParts(headers, body);
  const text = parts.find((p) => p.type.startsWith('text/plain'))?.content ?? '';
  const html = parts.find((p) => p.type.startsWith('text/html'))?.content ?? '';
  return { subject, text, html };
}

function splitHeaders(raw: string): { headers: Map<string, string>; body: string } {
  const normalized = raw.replace(/\r\n/g, '\n');
  const end = normalized.indexOf('\n\n');
  const head = end < 0 ? normalized : normalized.slice(0, end);
  const body = end < 0 ? '' : normalized.slice(end + 2);
  const headers = new Map<string, string>();
  for (const line of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, body };
}

function leafParts(headers: Map<string, string>, body: string): { type: string; content: string }[] {
  const type = (headers.get('content-type') ?? 'text/plain').toLowerCase();
  const boundary = /boundary="?([^";]+)"?/i.exec(headers.get('content-type') ?? '')?.[1];
  if (type.startsWith('multipart/') && boundary !== undefined) {
    return body
      .split(`--${boundary}`)
      .slice(1)
      .filter((p) => !p.startsWith('--'))
      .flatMap((p) => {
        const part = splitHeaders(p.replace(/^\n/, ''));
        return leafParts(part.headers, part.body);
      });
  }
  const encoding = (headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  let bytes: Buffer;
  if (encoding === 'base64') bytes = Buffer.from(body.replace(/\s+/g, ''), 'base64');
  else if (encoding === 'quoted-printable') bytes = decodeQuotedPrintable(body);
  else bytes = Buffer.from(body, 'utf8');
  return [{ type, content: bytes.toString('utf8') }];
}

function decodeQuotedPrintable(text: string): Buffer {
  const soft = text.replace(/=\n/g, '');
  const out: number[] = [];
  for (let k = 0; k < soft.length; k++) {
    const c = soft[k]!;
    if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(soft.slice(k + 1, k + 3))) {
      out.push(Number.parseInt(soft.slice(k + 1, k + 3), 16));
      k += 2;
    } else {
      out.push(...Buffer.from(c, 'utf8'));
    }
  }
  return Buffer.from(out);
}

function decodeWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_m, _charset: string, enc: string, data: string) => {
      if (enc.toUpperCase() === 'B') return Buffer.from(data, 'base64').toString('utf8');
      return decodeQuotedPrintable(data.replace(/_/g, ' ')).toString('utf8');
    });
}
