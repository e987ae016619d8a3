import { createSesClient, sesRawSender } from '@recon/adapters/aws/ses';
import type {
  AlertRaised,
  JobFailed,
  JobRecord,
  JobSucceeded,
  JobSummary,
  ObjectStore,
  ServiceContext,
} from '@recon/contracts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createNotifier,
  DeliveryCounters,
  type NotifierConfigInput,
  type NotifierHandlers,
} from './index.ts';
import { type ReceivedMail, SesReceiver, SmtpReceiver, WebhookReceiver } from './testing/receivers.ts';

const JOB = 'JOB-20260216-000001';

const SUMMARY: JobSummary = {
  job_id: JOB,
  status: 'SUCCEEDED',
  file_sha256: 'ab'.repeat(32),
  reference_date: '2026-02-16',
  total_lines: 1_000_000,
  valid_lines: 999_500,
  invalid_lines: 500,
  base_rows: 1_020_000,
  matched: 900_000,
  divergences: {
    TIPO_1: 50_000,
    TIPO_2: 30_000,
    TIPO_3_VALOR: 10_000,
    TIPO_3_DATA: 5_000,
    TIPO_3_NOME: 3_000,
    TIPO_3_ATIVO: 1_500,
    TIPO_3_FORNECEDOR: 500,
  },
  by_severity: { HIGH: 90_000, MEDIUM: 7_000, LOW: 3_000 },
  divergence_rate: 0.1234,
  top_suppliers: [
    { fornecedor_id: 'F123', count: 900 },
    { fornecedor_id: 'F456', count: 800 },
    { fornecedor_id: 'F789', count: 700 },
    { fornecedor_id: 'F000', count: 10 },
  ],
  stage_seconds: { ingest: 30, partition: 200, matching: 400, reporting: 60, total: 754 },
  started_at: '2026-02-16T10:00:00.000Z',
  finished_at: '2026-02-16T10:12:34.000Z',
  outputs: { rejects: '/srv/recon/jobs/JOB-20260216-000001/rejeitados.csv' },
  rejects_by_reason: { FIELD_COUNT: 300, INVALID_DATE: 150, DUPLICATE: 50 },
};

const SUCCEEDED: JobSucceeded = {
  jobId: JOB,
  referenceDate: '2026-02-16',
  summaryKey: `jobs/${JOB}/summary.json`,
  totalLines: 1_000_000,
  divergences: 100_000,
  divergenceRate: 0.1234,
  durationSeconds: 754,
};

const TIMEOUT: JobFailed = {
  jobId: JOB,
  status: 'TIMEOUT',
  stage: 'matcher',
  code: 'JOB_FAILED',
  message: 'Processamento excedeu 20 minutos',
  checkpointKey: `checkpoints/${JOB}/checkpoint.json`,
};

const alert = (a: Partial<AlertRaised>): AlertRaised => ({
  jobId: JOB,
  alert: 'DIVERGENCE_RATE',
  severity: 'MEDIUM',
  message: 'taxa de divergência 12,34% acima de 10,00%',
  value: 0.1234,
  threshold: 0.1,
  ...a,
});

const JOB_RECORD = {
  jobId: JOB,
  request: { referenceDate: '2026-02-16' },
  status: 'TIMEOUT',
  history: [
    { status: 'RECEIVED', at: '2026-02-16T10:00:00.000Z' },
    { status: 'MATCHING', at: '2026-02-16T10:05:00.000Z' },
    { status: 'TIMEOUT', at: '2026-02-16T10:20:00.000Z' },
  ],
  stages: {},
  facts: {},
  error: null,
} as unknown as JobRecord;

/** A service context with an in-memory store holding the summary and a log that keeps its lines. */
function context(options: { summary?: boolean } = {}) {
  const objects = new Map<string, string>();
  if (options.summary !== false) objects.set(`jobs/${JOB}/summary.json`, JSON.stringify(SUMMARY));
  const lines: string[] = [];
  const log =
    (level: string) =>
    (fields: Record<string, unknown>, msg: string): void => {
      lines.push(JSON.stringify({ level, ...fields, msg }));
    };
  const store = {
    get: async (key: string) => {
      const v = objects.get(key);
      if (v === undefined) throw new Error(`no object ${key}`);
      return new TextEncoder().encode(v);
    },
    uri: (key: string) => `/srv/recon/${key}`,
  } as unknown as ObjectStore;
  const ctx = {
    store,
    ingress: store,
    jobs: { getJob: async (id: string) => (id === JOB ? JOB_RECORD : undefined) },
    events: { publish: async () => {} },
    clock: { now: () => new Date() },
    log: { info: log('info'), warn: log('warn'), error: log('error') },
  } as unknown as ServiceContext;
  return { ctx, lines, objects };
}

let slack: WebhookReceiver;
let smtp: SmtpReceiver;
let counter: DeliveryCounters;

beforeEach(async () => {
  slack = await new WebhookReceiver().start();
  smtp = await new SmtpReceiver().start();
  counter = new DeliveryCounters();
});

afterEach(async () => {
  await slack.stop();
  await smtp.stop();
});

function notifier(overrides: Partial<NotifierConfigInput> = {}, history?: number): NotifierHandlers {
  return createNotifier(
    {
      slack: { webhookUrl: slack.url, timeoutMs: 2_000 },
      email: {
        transport: 'smtp',
        host: '127.0.0.1',
        port: smtp.port,
        starttls: 'never',
        from: 'Conciliação <recon@empresa.com>',
        to: ['ops-conciliacao@empresa.com'],
        timeoutMs: 2_000,
      },
      dashboardUrl: 'https://dashboard.example/conciliacao',
      retry: { delaysMs: [10, 20] },
      ...overrides,
    },
    {
      counter,
      ...(history === undefined ? {} : { history: { averageRate: async () => history } }),
    },
  );
}

/** The visible text of a Slack Block Kit message (every text of every block). */
function slackText(json: unknown): string {
  const texts: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'text' && typeof x === 'string') texts.push(x);
        else walk(x);
      }
    }
  };
  walk(json);
  return texts.join('\n');
}

describe('job succeeded', () => {
  it('goes to Slack only (INFO), in pt-BR, with counts per type, rate, duration and the dashboard', async () => {
    const { ctx, lines } = context();
    await notifier()['job.succeeded'](ctx, SUCCEEDED);

    expect(slack.requests).toHaveLength(1);
    expect(smtp.mails).toHaveLength(0);
    const body = slack.requests[0]!.json as { text: string; blocks: { type: string }[] };
    expect(body.blocks[0]!.type).toBe('header');
    expect(body.blocks.at(-1)!.type).toBe('context');
    const text = slackText(body);
    expect(text).toContain('Conciliação de 16/02/2026 concluída');
    expect(text).toContain('1.000.000 linhas, 100.000 divergências, taxa 12,34%');
    expect(text).toContain('12 min 34 s');
    expect(text).toContain('Tipo 1 (ausente na base): 50.000');
    expect(text).toContain('Tipo 2 (ausente no CSV): 30.000');
    expect(text).toContain(
      'Tipo 3 (campos divergentes): 20.000 (valor 10.000 · data 5.000 · nome 3.000 · ativo 1.500 · fornecedor 500)',
    );
    expect(text).toContain('válidas 999.500, inválidas 500');
    expect(text).toContain('<https://dashboard.example/conciliacao|Painel de divergências>');
    expect(text).toContain(`/srv/recon/jobs/${JOB}/summary.json`);
    // The log channel always gets it too.
    expect(lines.some((l) => l.includes('"kind":"job.succeeded"') && l.includes(JOB))).toBe(true);
    expect(counter.get('slack', 'delivered')).toBe(1);
    expect(counter.get('log', 'delivered')).toBe(1);
  });

  it('still notifies, saying the breakdown is unavailable, when summary.json cannot be read', async () => {
    const { ctx, lines } = context({ summary: false });
    await notifier()['job.succeeded'](ctx, SUCCEEDED);
    const text = slackText(slack.requests[0]!.json);
    expect(text).toContain('detalhamento indisponível');
    expect(lines.some((l) => l.includes('summary.json unreadable'))).toBe(true);
  });
});

describe('job failed / timed out', () => {
  it('is CRITICAL: Slack and email carry id, start, end, reason, stage, checkpoint and how to reprocess', async () => {
    const { ctx } = context();
    await notifier()['job.failed'](ctx, TIMEOUT);

    expect(slack.delivered).toHaveLength(1);
    expect(smtp.mails).toHaveLength(1);
    const mail = smtp.mails[0]!;
    expect(mail.to).toEqual(['ops-conciliacao@empresa.com']);
    expect(mail.from).toBe('recon@empresa.com');
    expect(mail.subject).toBe(`[recon][CRITICAL] Conciliação ${JOB} excedeu o prazo (TIMEOUT)`);
    for (const body of [mail.text, slackText(slack.requests[0]!.json)]) {
      expect(body).toContain(JOB);
      expect(body).toContain('16/02/2026 07:00:00 (America/Sao_Paulo)'); // start (10:00Z)
      expect(body).toContain('16/02/2026 07:20:00 (America/Sao_Paulo)'); // end (10:20Z)
      expect(body).toContain('timeout: Processamento excedeu 20 minutos');
      expect(body).toContain('conciliação (matcher)');
      expect(body).toContain(`/srv/recon/checkpoints/${JOB}/checkpoint.json`);
      expect(body).toContain(`pnpm recon reprocess ${JOB}`);
      expect(body).toContain('--force');
      expect(body).toContain('2.2 Timeout de 20 Minutos');
    }
    expect(mail.html).toContain(`<h2>Conciliação ${JOB} excedeu o prazo (TIMEOUT)</h2>`);
  });

  it('follows the runbook severities by stage: a reporter failure (2.4) is MEDIUM, Slack only', async () => {
    const { ctx } = context();
    await notifier()['job.failed'](ctx, {
      jobId: JOB,
      status: 'FAILED',
      stage: 'reporter',
      code: 'INTERNAL',
      message: 'disk full',
    });
    expect(slack.delivered).toHaveLength(1);
    expect(smtp.mails).toHaveLength(0);
    const text = slackText(slack.requests[0]!.json);
    expect(text).toContain('nenhum checkpoint gravado');
    expect(text).toContain('2.4 Falha na Entrega de Resultados');
  });

  it('a job cancelled by an operator is MEDIUM (Slack only), with its checkpoint and how to resume it', async () => {
    const { ctx } = context();
    await notifier()['job.failed'](ctx, {
      jobId: JOB,
      status: 'CANCELLED',
      stage: 'matching',
      code: 'CANCELLED',
      message: 'the job was cancelled while MATCHING (wrong file)',
      checkpointKey: `checkpoints/${JOB}/checkpoint.json`,
    });
    expect(smtp.mails).toHaveLength(0);
    expect(slack.delivered).toHaveLength(1);
    const text = slackText(slack.requests[0]!.json);
    expect(text).toContain(`Conciliação ${JOB} cancelada por um operador`);
    expect(text).toContain('Severidade *MEDIUM*');
    expect(text).toContain(`pnpm recon reprocess ${JOB}`);
    expect(text).toContain(`/srv/recon/checkpoints/${JOB}/checkpoint.json`);
  });

  it('a file refused because another job holds its date (JOB_RUNNING) is HIGH, saying to reprocess it later', async () => {
    const { ctx } = context();
    await notifier()['job.failed'](ctx, {
      jobId: JOB,
      status: 'FAILED',
      stage: 'ingest',
      code: 'JOB_RUNNING',
      message: 'job JOB-20260216-000000 is already reconciling reference date 2026-02-15',
    });
    expect(slack.delivered).toHaveLength(1);
    expect(smtp.mails).toHaveLength(1);
    const text = slackText(slack.requests[0]!.json);
    expect(text).toContain('Severidade *HIGH*');
    expect(text).toContain('um job por data');
  });
});

describe('missing delivery', () => {
  it('no file for D-1 by the cutoff (HIGH): Slack and email, the date, the cutoff, where it was looked for, once per date', async () => {
    const { ctx } = context();
    const n = notifier();
    const missing = {
      referenceDate: '2026-02-15',
      checkedAt: '2026-02-16T12:00:05.000Z',
      expectedBy: '09:00',
      timeZone: 'America/Sao_Paulo',
      lookedIn: ['s3://reconciliation-ingress/2026-02-15/'],
      severity: 'HIGH' as const,
    };
    await n['delivery.missing'](ctx, missing);
    await n['delivery.missing'](ctx, missing); // redelivered: announced once
    expect(slack.delivered).toHaveLength(1);
    expect(smtp.mails).toHaveLength(1);
    expect(smtp.mails[0]!.subject).toBe('[recon][HIGH] Arquivo do fornecedor de 15/02/2026 não recebido');
    const text = slackText(slack.requests[0]!.json);
    expect(text).toContain('09:00 (America/Sao_Paulo)');
    expect(text).toContain('16/02/2026 09:00:05 (America/Sao_Paulo)');
    expect(text).toContain('s3://reconciliation-ingress/2026-02-15/');
    expect(text).not.toContain('job ');
  });
});

describe('alerts', () => {
  it('abnormal divergence rate (MEDIUM, runbook 2.5 template): Slack only, rate vs history, types, top 3', async () => {
    const { ctx } = context();
    await notifier({}, 0.05)['alert.raised'](ctx, alert({}));
    expect(smtp.mails).toHaveLength(0);
    expect(slack.delivered).toHaveLength(1);
    const text = slackText(slack.requests[0]!.json);
    expect(text).toContain('Taxa de Divergências Anormal - 16/02/2026');
    expect(text).toContain('Taxa de divergências detectada*\n12,34%');
    expect(text).toContain('Histórico médio*\n5,00%');
    expect(text).toContain('Tipo 1 (ausente na base): 50.000');
    expect(text).toContain('Top 3 fornecedores com mais divergências');
    expect(text).toContain('1. F123: 900');
    expect(text).toContain('2. F456: 800');
    expect(text).toContain('3. F789: 700');
    expect(text).not.toContain('F000');
    expect(text).toContain('<https://dashboard.example/conciliacao|Link para análise detalhada>');
  });

  it('says the history is unavailable when none is known', async () => {
    const { ctx } = context();
    await notifier()['alert.raised'](ctx, alert({}));
    expect(slackText(slack.requests[0]!.json)).toContain('Histórico médio*\nnão disponível');
  });

  it('error rate > 5% is CRITICAL and processing time > 18 min is HIGH: both to Slack and email', async () => {
    const { ctx } = context();
    const n = notifier();
    await n['alert.raised'](
      ctx,
      alert({ alert: 'ERROR_RATE', severity: 'CRITICAL', value: 0.0625, threshold: 0.05 }),
    );
    await n['alert.raised'](
      ctx,
      alert({ alert: 'PROCESSING_TIME', severity: 'HIGH', value: 1_145, threshold: 1_080 }),
    );
    expect(slack.delivered).toHaveLength(2);
    expect(smtp.mails.map((m) => m.subject)).toEqual([
      `[recon][CRITICAL] Taxa de linhas inválidas acima de 5,00% (${JOB})`,
      `[recon][HIGH] Tempo de processamento acima de 18 min (${JOB})`,
    ]);
    const [errorRate, processing] = smtp.mails as [ReceivedMail, ReceivedMail];
    expect(errorRate.text).toContain('Taxa de linhas inválidas: 6,25%');
    expect(errorRate.text).toContain('Linhas inválidas: 500 de 1.000.000');
    expect(errorRate.text).toContain('- FIELD_COUNT: 300');
    expect(processing.text).toContain('Tempo de processamento: 19 min 5 s');
    expect(processing.text).toContain('- conciliação (matching): 6 min 40 s');
  });

  it('routing by severity is configurable', async () => {
    const { ctx } = context();
    const n = notifier({ routing: { MEDIUM: ['email'], CRITICAL: ['slack'] } });
    await n['alert.raised'](ctx, alert({}));
    expect(slack.requests).toHaveLength(0);
    expect(smtp.mails).toHaveLength(1);
    expect(smtp.mails[0]!.subject).toBe('[recon][MEDIUM] Taxa de Divergências Anormal - 16/02/2026');
    await n['alert.raised'](
      ctx,
      alert({ alert: 'ERROR_RATE', severity: 'CRITICAL', value: 0.06, threshold: 0.05 }),
    );
    expect(slack.delivered).toHaveLength(1);
    expect(smtp.mails).toHaveLength(1);
    // HIGH keeps its default (Slack + email).
    await n['alert.raised'](
      ctx,
      alert({ alert: 'PROCESSING_TIME', severity: 'HIGH', value: 1_200, threshold: 1_080 }),
    );
    expect(slack.delivered).toHaveLength(2);
    expect(smtp.mails).toHaveLength(2);
  });
});

describe('delivery', () => {
  it('retries after a receiver failure: Slack 500 then 200, SMTP 451 then accepted', async () => {
    slack.statuses = [500];
    smtp.rejectNext = [451];
    const { ctx, lines } = context();
    await notifier()['job.failed'](ctx, TIMEOUT);
    expect(slack.requests.map((r) => r.status)).toEqual([500, 200]);
    expect(smtp.attempts).toBe(2);
    expect(smtp.mails).toHaveLength(1);
    expect(counter.get('slack', 'retried')).toBe(1);
    expect(counter.get('slack', 'delivered')).toBe(1);
    expect(counter.get('email', 'retried')).toBe(1);
    expect(counter.get('email', 'delivered')).toBe(1);
    expect(lines.filter((l) => l.includes('retrying'))).toHaveLength(2);
  });

  it('announces an event once even when it is delivered twice, also concurrently', async () => {
    const { ctx } = context();
    const n = notifier();
    await n['job.failed'](ctx, TIMEOUT);
    await n['job.failed'](ctx, TIMEOUT);
    await Promise.all([n['job.succeeded'](ctx, SUCCEEDED), n['job.succeeded'](ctx, SUCCEEDED)]);
    expect(slack.requests).toHaveLength(2);
    expect(smtp.mails).toHaveLength(1);
    expect(counter.get('slack', 'duplicate')).toBe(2);
    expect(counter.get('email', 'duplicate')).toBe(1);
  });

  it('a channel that keeps failing does not block the others; it is logged and counted', async () => {
    slack.fallbackStatus = 503;
    const { ctx, lines } = context();
    await notifier()['job.failed'](ctx, TIMEOUT);
    expect(slack.requests.map((r) => r.status)).toEqual([503, 503, 503]); // 1 + 2 retries
    expect(smtp.mails).toHaveLength(1);
    expect(counter.get('slack', 'failed')).toBe(1);
    expect(counter.get('email', 'delivered')).toBe(1);
    const failure = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'notification not delivered');
    expect(failure).toMatchObject({
      level: 'error',
      channel: 'slack',
      job_id: JOB,
      attempts: 3,
      permanent: false,
    });
    expect(JSON.stringify(failure)).not.toContain(slack.url); // the webhook URL is a secret
  });

  it('does not wait for a slow channel: the email arrives while Slack is still failing', async () => {
    slack.fallbackStatus = 500;
    const { ctx } = context();
    await createNotifier(
      {
        slack: { webhookUrl: slack.url },
        email: { transport: 'smtp', host: '127.0.0.1', port: smtp.port, from: 'r@x.com', to: ['o@x.com'] },
        retry: { delaysMs: [500, 500] },
      },
      { counter },
    )['job.failed'](ctx, TIMEOUT);
    expect(smtp.mails).toHaveLength(1);
    expect(slack.requests).toHaveLength(3);
    expect(smtp.mails[0]!.at).toBeLessThan(slack.requests[1]!.at);
  });

  it('does not retry a permanent failure (HTTP 400), and a later redelivery may try again', async () => {
    slack.statuses = [400];
    const { ctx } = context();
    const n = notifier();
    await n['alert.raised'](ctx, alert({}));
    expect(slack.requests).toHaveLength(1);
    expect(counter.get('slack', 'failed')).toBe(1);
    await n['alert.raised'](ctx, alert({}));
    expect(slack.requests.map((r) => r.status)).toEqual([400, 200]);
  });
});

describe('masking', () => {
  const FULL = ['Maria Aparecida da Silva', 'Aparecida', 'João Pereira', 'José Carlos Souza'];

  it('no full nome reaches Slack, the email or the log, wherever it hides in the failure text', async () => {
    const { ctx, lines } = context();
    await notifier()['job.failed'](ctx, {
      jobId: JOB,
      status: 'FAILED',
      stage: 'ingest',
      code: 'INTERNAL',
      message:
        'registro inválido na linha 7: F001;ORD-1;Maria Aparecida da Silva;A1;2026-02-16;10.00 ' +
        '(nome: José Carlos Souza) {"ordem_id":"ORD-2","nome":"João Pereira"}',
    });
    expect(slack.delivered).toHaveLength(1);
    expect(smtp.mails).toHaveLength(1);
    const everything = [
      slack.requests[0]!.body,
      smtp.mails[0]!.raw,
      smtp.mails[0]!.text,
      smtp.mails[0]!.html,
      ...lines,
    ];
    for (const text of everything) {
      for (const nome of FULL) expect(text).not.toContain(nome);
    }
    const slackBody = slackText(slack.requests[0]!.json);
    expect(slackBody).toContain('F001;ORD-1;***Silva;A1;2026-02-16;10.00');
    expect(slackBody).toContain('nome: ***Souza');
    expect(slackBody).toContain('"nome":"***Pereira"');
    expect(smtp.mails[0]!.text).toContain('F001;ORD-1;***Silva;A1');
  });
});

describe('SES', () => {
  it('composes a raw MIME message and hands it to the injected send, retrying throttling', async () => {
    const sent: string[] = [];
    let calls = 0;
    const n = createNotifier(
      {
        email: { transport: 'ses', from: 'recon@empresa.com', to: ['ops@empresa.com'] },
        retry: { delaysMs: [5] },
      },
      {
        counter,
        sesSend: async (raw) => {
          calls++;
          if (calls === 1)
            throw Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' });
          sent.push(Buffer.from(raw).toString('utf8'));
        },
      },
    );
    const { ctx } = context();
    await n['job.failed'](ctx, TIMEOUT);
    expect(calls).toBe(2);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatch(/^From: recon@empresa\.com\r$/m);
    expect(sent[0]).toMatch(/^To: ops@empresa\.com\r$/m);
    expect(sent[0]).toContain('multipart/alternative');
    expect(counter.get('email', 'retried')).toBe(1);
    expect(counter.get('email', 'delivered')).toBe(1);
  });

  it('sends through the real SES v2 client (SigV4-signed SendEmail with the raw MIME); a rejection is permanent, a 5xx retried', async () => {
    const ses = await new SesReceiver().start();
    const client = createSesClient({
      region: 'sa-east-1',
      endpoint: ses.url,
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' },
      // One attempt per send: the notifier's own retries are what is counted here.
      maxAttempts: 1,
    });
    try {
      const notify = () =>
        createNotifier(
          {
            email: { transport: 'ses', from: 'recon@empresa.com', to: ['ops@empresa.com'] },
            retry: { delaysMs: [5] },
          },
          { counter, sesSend: sesRawSender(client) },
        );
      const { ctx } = context();
      ses.errors = [{ status: 500, name: 'InternalFailure', message: 'try again' }];
      await notify()['job.failed'](ctx, TIMEOUT);
      expect(ses.requests.map((r) => [r.method, r.path, r.status])).toEqual([
        ['POST', '/v2/email/outbound-emails', 500],
        ['POST', '/v2/email/outbound-emails', 200],
      ]);
      expect(ses.requests[1]!.authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/sa-east-1\/ses\//,
      );
      expect(ses.mails).toHaveLength(1);
      expect(ses.mails[0]!.raw).toMatch(/^To: ops@empresa\.com\r$/m);
      expect(ses.mails[0]!.subject).toContain('[recon][CRITICAL]');
      expect(ses.mails[0]!.text).toContain(JOB);
      expect(counter.get('email', 'retried')).toBe(1);
      expect(counter.get('email', 'delivered')).toBe(1);

      // An unverified sender: SES rejects it, and sending again would not help.
      ses.errors = [{ status: 400, name: 'MessageRejected', message: 'Email address is not verified.' }];
      await notify()['job.failed'](context().ctx, { ...TIMEOUT, jobId: 'JOB-20260216-000002' });
      expect(ses.requests.at(-1)!.status).toBe(400);
      expect(ses.requests).toHaveLength(3);
      expect(counter.get('email', 'failed')).toBe(1);
    } finally {
      client.destroy();
      await ses.stop();
    }
  });

  it('refuses an SES configuration without a send function', () => {
    expect(() => createNotifier({ email: { transport: 'ses', from: 'r@x.com', to: ['o@x.com'] } })).toThrow(
      /sesSend/,
    );
  });
});
