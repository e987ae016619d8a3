import { describe, expect, it } from 'vitest';
import { DEFAULT_ROUTING, notifierConfigFromEnv, parseNotifierConfig } from './config.ts';
import { duration, pct, timestamp } from './format.ts';
import { maskNomesInText } from './masking.ts';

describe('notifier configuration', () => {
  it('has defaults for everything but the destinations', () => {
    const c = parseNotifierConfig({});
    expect(c.slack).toBeUndefined();
    expect(c.email).toBeUndefined();
    expect(c.routing).toEqual(DEFAULT_ROUTING);
    expect(c.retry.delaysMs).toEqual([1_000, 4_000, 15_000]);
    expect(c.timeZone).toBe('America/Sao_Paulo');
  });

  it('keeps the default of severities a partial routing does not name', () => {
    const c = parseNotifierConfig({ routing: { MEDIUM: ['email'] } });
    expect(c.routing.MEDIUM).toEqual(['email']);
    expect(c.routing.CRITICAL).toEqual(['slack', 'email']);
  });

  it('rejects bad values with INVALID_CONFIG naming the field', () => {
    expect(() => parseNotifierConfig({ slack: { webhookUrl: 'not a url' } })).toThrow(/slack\.webhookUrl/);
    expect(() => parseNotifierConfig({ routing: { CRITICAL: ['pager' as 'slack'] } })).toThrow(
      /routing\.CRITICAL/,
    );
    expect(() => parseNotifierConfig({ routing: { URGENT: ['slack'] } as never })).toThrow(/routing/);
    expect(() =>
      parseNotifierConfig({
        email: { transport: 'smtp', host: 'h', from: 'a@b.c', to: ['x@y.z'], user: 'u' },
      }),
    ).toThrow(/email\.pass/);
    expect(() =>
      parseNotifierConfig({ email: { transport: 'smtp', host: 'h', from: 'a@b.c', to: ['not-an-email'] } }),
    ).toThrow(/email\.to/);
    expect(() => parseNotifierConfig({ timeZone: 'Mars/Olympus' })).toThrow(/timeZone/);
    expect(() => parseNotifierConfig({ retry: { delaysMs: [-1] } })).toThrow(/retry\.delaysMs/);
  });

  it('reads the documented environment variables', () => {
    const c = notifierConfigFromEnv({
      RECON_SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T/B/X',
      RECON_SMTP_HOST: 'smtp.empresa.com',
      RECON_SMTP_PORT: '2525',
      RECON_SMTP_STARTTLS: 'require',
      RECON_MAIL_FROM: 'recon@empresa.com',
      RECON_MAIL_TO: 'ops@empresa.com, po@empresa.com',
      RECON_DASHBOARD_URL: 'http://localhost:8080/dashboard',
      RECON_NOTIFY_ROUTING: 'MEDIUM=slack+email,INFO=',
      RECON_NOTIFY_RETRY_MS: '10,20',
    });
    expect(c.slack?.webhookUrl).toBe('https://hooks.slack.com/services/T/B/X');
    expect(c.email).toMatchObject({
      transport: 'smtp',
      host: 'smtp.empresa.com',
      port: 2525,
      starttls: 'require',
      to: ['ops@empresa.com', 'po@empresa.com'],
    });
    expect(c.routing.MEDIUM).toEqual(['slack', 'email']);
    expect(c.routing.INFO).toEqual([]);
    expect(c.routing.HIGH).toEqual(['slack', 'email']);
    expect(c.retry.delaysMs).toEqual([10, 20]);
    expect(notifierConfigFromEnv({}).email).toBeUndefined();
    expect(() => notifierConfigFromEnv({ RECON_SMTP_HOST: 'h' })).toThrow(/email\.from/);
  });
});

describe('pt-BR formatting', () => {
  it('formats rates, durations and times', () => {
    expect(pct(0.05234)).toBe('5,23%');
    expect(duration(45.25)).toBe('45,3 s');
    expect(duration(754)).toBe('12 min 34 s');
    expect(duration(1_080)).toBe('18 min');
    expect(duration(3_725)).toBe('1 h 02 min');
    expect(timestamp('2026-02-16T10:20:00Z', 'America/Sao_Paulo')).toBe(
      '16/02/2026 07:20:00 (America/Sao_Paulo)',
    );
  });
});

describe('maskNomesInText', () => {
  it('masks every recognisable nome and leaves the rest alone', () => {
    expect(maskNomesInText('{"nome":"Maria da Silva","valor":"10.00"}')).toBe(
      '{"nome":"***Silva","valor":"10.00"}',
    );
    expect(maskNomesInText('{"nome_base": "Ana Costa"}')).toBe('{"nome_base": "***Costa"}');
    expect(maskNomesInText("nome='Maria da Silva' ativo=A1")).toBe("nome='***Silva' ativo=A1");
    expect(maskNomesInText('nome: Maria da Silva, ativo: A1')).toBe('nome: ***Silva, ativo: A1');
    expect(maskNomesInText('F1;O1;Maria da Silva;A1;2026-01-01;10.00')).toBe(
      'F1;O1;***Silva;A1;2026-01-01;10.00',
    );
    expect(maskNomesInText('F1\tO1\tMaria da Silva\tA1\t2026-01-01\t10.00')).toBe(
      'F1\tO1\t***Silva\tA1\t2026-01-01\t10.00',
    );
    expect(maskNomesInText('F1;O1;"Maria da Silva";A1;2026-01-01;10.00')).toBe(
      'F1;O1;"***Silva";A1;2026-01-01;10.00',
    );
    expect(maskNomesInText('fornecedor_id;ordem_id;nome;ativo_id;data;valor')).toBe(
      'fornecedor_id;ordem_id;nome;ativo_id;data;valor',
    );
    // Idempotent, and text without a nome is unchanged.
    expect(maskNomesInText(maskNomesInText('nome: Maria da Silva'))).toBe('nome: ***Silva');
    expect(maskNomesInText('valor 10 · data 5 · nome 3')).toBe('valor 10 · data 5 · nome 3');
    expect(maskNomesInText('a;b;c')).toBe('a;b;c');
  });
});
