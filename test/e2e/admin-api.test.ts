import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ERROR_SCHEMA, RESPONSES, type RouteName } from '@recon/admin/schemas';
import { DEFAULT_SERVICE_OPTIONS } from '@recon/cli/runtime';
import { type EmbeddedServer, type ServeOptions, startServer } from '@recon/cli/serve';
import {
  type DashboardStats,
  type DeliveryMissing,
  type DivergenceItem,
  type JobSummary,
  SEVERIDADES,
  TIPOS,
  zeroPerSeveridade,
  zeroPerTipo,
} from '@recon/contracts';
import { maskNome } from '@recon/rules';
import { Ajv, type ValidateFunction } from 'ajv';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/serve.ts';
import { holds, until } from '../support/wait.ts';

/**
 * The admin API of `recon serve` through Fastify's inject(), against a real embedded PostgreSQL
 * holding days reconciled by the real pipeline. Expected numbers come from the jobs' summaries.
 */

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer({ days: 2, rows: 12_000 });
}, 240_000);

afterAll(async () => {
  await t?.close();
});

interface Request {
  method?: 'GET' | 'POST' | 'DELETE';
  url: string;
  payload?: unknown;
  headers?: Record<string, string>;
  cookies?: Record<string, string>;
  /** Sent as `Authorization: Bearer`. */
  key?: string;
  /** Default: the shared test server. */
  server?: EmbeddedServer;
}

/** Where another server on the shared database keeps its outputs: `out-<name>` beside the shared one's. */
function outOf(name: string): string {
  return join(t.outDir, '..', `out-${name}`);
}

/** Another `recon serve` on the shared test database (whose keys work there too), outputs in `outOf(name)`. */
function startServerOnSharedDatabase(
  name: string,
  options: Omit<ServeOptions, 'databaseUrl' | 'out' | 'base'> = {},
): Promise<EmbeddedServer> {
  return startServer({
    databaseUrl: t.databaseUrl,
    out: outOf(name),
    base: { kind: 'postgres', url: t.databaseUrl, relation: 'transacoes' },
    port: 0,
    ...options,
  });
}

async function call({ key, server, ...rest }: Request) {
  const headers = { ...rest.headers, ...(key === undefined ? {} : { authorization: `Bearer ${key}` }) };
  const response = await (server ?? t.server).app.inject({ ...rest, headers } as InjectOptions);
  checkAnswer(rest.method ?? 'GET', rest.url, response);
  return response;
}

/**
 * Every answer the tests get is checked against what the OpenAPI document says of its route
 * (schemas.ts): a documented status, the documented media type, and JSON of the documented shape.
 */
const ajv = new Ajv({ allErrors: true, strict: false });
/** Each documented schema compiled once, for all the answers checked against it. */
const validators = new WeakMap<object, ValidateFunction>();
const ROUTES = Object.keys(RESPONSES).map((name) => {
  const [method, path] = name.split(' ') as [string, string];
  const pattern = new RegExp(`^${path.replaceAll('.', '\\.').replace(/:\w+/g, '[^/]+')}$`);
  return { name: name as RouteName, method, pattern };
});
const checkedAnswers = new Map<string, number>();

function checkAnswer(method: string, url: string, response: LightMyRequestResponse): void {
  const path = url.split('?')[0]!;
  const route = ROUTES.find((r) => r.method === method && r.pattern.test(path));
  const status = response.statusCode;
  const statuses = route === undefined ? undefined : (RESPONSES[route.name] as Record<string, unknown>);
  // An unknown route (or a page of the dashboard's): only its errors have a documented shape.
  const schema =
    statuses === undefined
      ? status >= 400
        ? ERROR_SCHEMA
        : undefined
      : (statuses[String(status)] ?? statuses[`${String(status)[0]}xx`]);
  const what = `${method} ${path} → ${status}`;
  if (statuses !== undefined)
    expect(schema, `${what}: a status the OpenAPI document does not give`).toBeDefined();
  if (schema === undefined || status === 204) return;
  const type = String(response.headers['content-type'] ?? '').split(';')[0]!;
  const content = (schema as { content?: Record<string, unknown> }).content;
  if (content !== undefined) {
    expect(Object.keys(content), `${what}: media type`).toContain(type);
    return;
  }
  expect(type, `${what}: media type`).toBe('application/json');
  let validate = validators.get(schema as object);
  if (validate === undefined) {
    validate = ajv.compile(schema as object);
    validators.set(schema as object, validate);
  }
  if (!validate(response.json())) {
    expect.fail(
      `${what}: the answer is not what the OpenAPI document says: ${ajv.errorsText(validate.errors)}`,
    );
  }
  const key = route?.name ?? 'errors of unknown routes';
  checkedAnswers.set(key, (checkedAnswers.get(key) ?? 0) + 1);
}

/** `POST /v1/jobs` (JSON) as an operator, to the shared test server or `server`. */
function submitJob(payload: Record<string, unknown>, server?: EmbeddedServer) {
  return call({
    ...(server === undefined ? {} : { server }),
    method: 'POST',
    url: '/v1/jobs',
    key: t.keys.operator,
    payload,
  });
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const total = (s: JobSummary) => sum(Object.values(s.divergences));

describe('health, readiness, metrics, OpenAPI', () => {
  it('answer without credentials', async () => {
    expect((await call({ url: '/health' })).json()).toEqual({ status: 'ok' });
    const ready = await call({ url: '/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().checks).toEqual({ job_store: 'ok', object_store: 'ok', read_model: 'ok' });
    const metrics = await call({ url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toContain(`job_id="${t.summaries[1]!.job_id}"`);
    // The jobs' notifications (the log channel, here) are counted in the server's registry, not
    // only in each job's runtime: at least one "concluída" per job.
    const delivered = /^reconciliation_notifications_total\{channel="log",outcome="delivered"\} (\d+)$/m.exec(
      metrics.body,
    );
    expect(Number(delivered?.[1])).toBeGreaterThanOrEqual(t.summaries.length);
    const doc = (await call({ url: '/docs/json' })).json() as {
      paths: Record<
        string,
        Record<string, { responses?: Record<string, { content?: Record<string, unknown> }> }>
      >;
    };
    // Every route's answers are in the document, with their shapes.
    for (const name of Object.keys(RESPONSES)) {
      const [method, path] = name.split(' ') as [string, string];
      const operation = doc.paths[path.replace(/:(\w+)/g, '{$1}')]?.[method.toLowerCase()];
      expect(operation, name).toBeDefined();
      const documented = Object.entries(operation!.responses ?? {});
      expect(documented.length, `${name}: responses`).toBeGreaterThan(0);
      for (const [status, answer] of documented) {
        if (status !== '204') expect(answer.content, `${name} ${status}: content`).toBeDefined();
      }
    }
    // What a job is started with, in both forms.
    const submit = doc.paths['/v1/jobs']!.post as unknown as {
      requestBody: { content: Record<string, { schema: { required: string[] } }> };
    };
    expect(submit.requestBody.content['multipart/form-data']!.schema.required).toEqual(['file']);
    expect(submit.requestBody.content['application/json']!.schema.required).toEqual(['key']);
  });
});

describe('starting a job with JSON', () => {
  it('says what is wrong: no key, an unknown field, no such object', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{}, /send the vendor file as multipart field "file", or JSON \{"key"/],
      [{ key: 'a.csv', bogus: 1 }, /unknown field\(s\): bogus/],
      [{ key: 'nothing/here.csv' }, /no object nothing\/here\.csv in the ingress store/],
    ];
    for (const [payload, message] of cases) {
      const r = await submitJob(payload);
      expect(r.statusCode, JSON.stringify(payload)).toBeGreaterThanOrEqual(400);
      expect(r.json().error.message).toMatch(message);
    }
  });
});

describe('access control', () => {
  it('401 without or with bad credentials, 403 for a role too low', async () => {
    for (const url of ['/v1/divergences', '/v1/jobs', '/v1/stats', '/v1/me', '/v1/divergences.csv']) {
      const r = await call({ url });
      expect(r.statusCode, url).toBe(401);
      expect(r.json().error.code).toBe('UNAUTHORIZED');
    }
    const bad = await call({ url: '/v1/stats', key: `${t.keys.viewer.slice(0, -2)}xx` });
    expect(bad.statusCode).toBe(401);
    const forbidden: [string, string, string][] = [
      ['POST', '/v1/jobs', t.keys.viewer],
      ['POST', `/v1/jobs/${t.summaries[0]!.job_id}/cancel`, t.keys.viewer],
      ['POST', `/v1/jobs/${t.summaries[0]!.job_id}/reprocess`, t.keys.viewer],
      ['GET', '/v1/keys', t.keys.viewer],
      ['GET', '/v1/keys', t.keys.operator],
      ['POST', '/v1/keys', t.keys.operator],
    ];
    for (const [method, url, key] of forbidden) {
      const r = await call({
        method: method as 'GET',
        url,
        key,
        payload: method === 'POST' ? {} : undefined,
      });
      expect(r.statusCode, `${method} ${url}`).toBe(403);
      expect(r.json().error.code).toBe('FORBIDDEN');
    }
    expect((await call({ url: '/v1/keys', key: t.keys.admin })).statusCode).toBe(200);
  });

  it('admins create and revoke keys; a revoked key and its session stop working', async () => {
    const created = await call({
      method: 'POST',
      url: '/v1/keys',
      key: t.keys.admin,
      payload: { role: 'viewer', name: 'temp' },
    });
    expect(created.statusCode).toBe(201);
    const { id, key } = created.json() as { id: string; key: string };
    const listed = (await call({ url: '/v1/keys', key: t.keys.admin })).json() as {
      items: Record<string, unknown>[];
    };
    // The secret (after `rk_<id>_`; base64url, so it may hold `_` itself) is never listed.
    const secret = key.slice(key.indexOf('_', 'rk_'.length) + 1);
    expect(secret.length).toBeGreaterThan(40);
    expect(JSON.stringify(listed)).not.toContain(secret);
    const session = await call({ method: 'POST', url: '/v1/session', payload: { api_key: key } });
    expect(session.statusCode).toBe(200);
    const cookie = session.cookies.find((c) => c.name === 'recon_session')!;
    expect(cookie.httpOnly).toBe(true);
    expect(cookie.sameSite).toBe('Strict');
    const me = await call({ url: '/v1/me', cookies: { recon_session: cookie.value } });
    expect(me.json()).toMatchObject({ role: 'viewer', key_id: id });
    const tampered = `${cookie.value.split('.')[0]}.${'A'.repeat(43)}`;
    expect((await call({ url: '/v1/me', cookies: { recon_session: tampered } })).statusCode).toBe(401);
    expect((await call({ method: 'DELETE', url: `/v1/keys/${id}`, key: t.keys.admin })).statusCode).toBe(204);
    expect((await call({ url: '/v1/me', key })).statusCode).toBe(401);
    const revoked = await call({ url: '/v1/me', cookies: { recon_session: cookie.value } });
    expect(revoked.statusCode).toBe(401);
    expect(revoked.json().error.message).toMatch(/revoked: sign in again/);
    // The stale cookie locks nobody out: the dashboard loads (and the cookie is cleared), and signing
    // in with another key works with it still sent.
    const page = await call({ url: '/', cookies: { recon_session: cookie.value } });
    expect(page.statusCode).toBe(200);
    expect(page.cookies.find((c) => c.name === 'recon_session')?.value).toBe('');
    const again = await call({
      method: 'POST',
      url: '/v1/session',
      payload: { api_key: t.keys.viewer },
      cookies: { recon_session: cookie.value },
    });
    expect(again.statusCode).toBe(200);
    expect(
      (await call({ method: 'DELETE', url: '/v1/session', cookies: { recon_session: tampered } })).statusCode,
    ).toBe(204);
    expect((await call({ method: 'DELETE', url: `/v1/keys/${id}`, key: t.keys.admin })).statusCode).toBe(404);
    expect((await call({ method: 'POST', url: '/v1/session', payload: { api_key: key } })).statusCode).toBe(
      401,
    );
  });
});

describe('stats and divergences', () => {
  it('stats equal the jobs summaries', async () => {
    const stats = (await call({ url: '/v1/stats', key: t.keys.viewer })).json() as DashboardStats;
    expect(stats.jobs).toBe(2);
    expect(stats.total_divergences).toBe(sum(t.summaries.map(total)));
    expect(stats.total_lines).toBe(sum(t.summaries.map((s) => s.total_lines)));
    for (const tipo of TIPOS)
      expect(stats.by_type[tipo]).toBe(sum(t.summaries.map((s) => s.divergences[tipo])));
    for (const sev of SEVERIDADES)
      expect(stats.by_severity[sev]).toBe(sum(t.summaries.map((s) => s.by_severity[sev])));
    const divergent = sum(t.summaries.map((s) => s.divergent_orders!));
    const distinct = sum(t.summaries.map((s) => s.distinct_orders!));
    expect(stats.divergence_rate).toBeCloseTo(divergent / distinct, 12);
    expect(stats.daily).toEqual(
      t.summaries.map((s) => ({
        dt: s.reference_date,
        divergences: total(s),
        total_lines: s.total_lines,
        divergence_rate: s.divergence_rate,
      })),
    );
    // One day: its top suppliers are the summary's.
    const day = (
      await call({ url: `/v1/stats?job_id=${t.summaries[0]!.job_id}`, key: t.keys.viewer })
    ).json() as DashboardStats;
    expect(day.top_suppliers).toEqual(t.summaries[0]!.top_suppliers);
    expect(day.divergence_rate).toBe(t.summaries[0]!.divergence_rate);
  });

  it('pages 100 rows with filters; viewers see nome masked, operators in full', async () => {
    const s = t.summaries[1]!;
    const r = await call({
      url: `/v1/divergences?dt_from=${s.reference_date}&tipo=TIPO_3&page=1`,
      key: t.keys.viewer,
    });
    expect(r.statusCode).toBe(200);
    const page = r.json() as { items: DivergenceItem[]; total: number; page_size: number };
    const tipo3 = TIPOS.filter((x) => x.startsWith('TIPO_3_'));
    expect(page.total).toBe(sum(tipo3.map((x) => s.divergences[x])));
    expect(page.items).toHaveLength(Math.min(100, page.total));
    expect(
      page.items.every((i) => i.tipo_divergencia.startsWith('TIPO_3_') && i.dt === s.reference_date),
    ).toBe(true);
    const asOperator = (
      await call({
        url: `/v1/divergences?dt_from=${s.reference_date}&tipo=TIPO_3&page=1`,
        key: t.keys.operator,
      })
    ).json() as { items: DivergenceItem[] };
    asOperator.items.forEach((full, k) => {
      const masked = page.items[k]!;
      expect(masked.ordem_id).toBe(full.ordem_id);
      expect(masked.nome).toBe(maskNome(full.nome));
      expect(masked.nome.startsWith('***')).toBe(true);
      if (full.tipo_divergencia === 'TIPO_3_NOME') {
        expect(masked.detalhes).not.toContain(full.nome);
        expect(masked.detalhes).toMatch(/^nome no arquivo "\*\*\*.*", na base "\*\*\*.*"$/);
      }
    });
    expect(asOperator.items.some((i) => !i.nome.startsWith('***'))).toBe(true);
    // Money is exact text.
    expect(page.items.every((i) => i.valor_csv === null || /^-?\d+\.\d{2}$/.test(i.valor_csv))).toBe(true);

    const bySupplier = s.top_suppliers[0]!;
    const f = (
      await call({
        url: `/v1/divergences?job_id=${s.job_id}&fornecedor_id=${bySupplier.fornecedor_id}`,
        key: t.keys.viewer,
      })
    ).json() as { total: number; items: DivergenceItem[] };
    expect(f.total).toBe(bySupplier.count);
    expect(f.items.every((i) => i.fornecedor_id === bySupplier.fornecedor_id)).toBe(true);
  });

  it('rejects unknown parameters and bad values with 400', async () => {
    for (const url of [
      '/v1/divergences?tipos=TIPO_1',
      '/v1/divergences?tipo=TIPO_9',
      '/v1/divergences?dt_from=2026-02-30',
      '/v1/divergences?dt_to=2026-13-01',
      '/v1/divergences?page=0',
      '/v1/stats?severidade=URGENT',
      '/v1/divergences?dt_from=2026-11-21&dt_to=2026-11-01',
    ]) {
      const r = await call({ url, key: t.keys.viewer });
      expect(r.statusCode, url).toBe(400);
      expect(r.json().error.code).toBe('INVALID_ARGUMENT');
    }
    expect((await call({ url: '/v1/jobs/JOB-20990101-000001', key: t.keys.viewer })).statusCode).toBe(404);
  });

  it('the CSV export streams exactly the filtered rows', async () => {
    const s = t.summaries[0]!;
    const r = await call({
      url: `/v1/divergences.csv?job_id=${s.job_id}&severidade=MEDIUM,LOW`,
      key: t.keys.viewer,
    });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toContain('text/csv');
    const lines = r.body
      .replace(/^\uFEFF/, '')
      .trimEnd()
      .split('\r\n');
    expect(lines[0]).toBe(
      'job_id;dt;tipo_divergencia;severidade;ordem_id;fornecedor_id;nome;ativo_id;data;data_base;valor_csv;valor_base;diferenca;campo;detalhes;hash_linha;linha_arquivo;timestamp',
    );
    expect(lines.length - 1).toBe(s.by_severity.MEDIUM + s.by_severity.LOW);
    expect(lines.slice(1).every((l) => /;(MEDIUM|LOW);/.test(l))).toBe(true);
  });
});

describe('jobs', () => {
  it('lists and details jobs with their progress, timings and counts', async () => {
    const list = (await call({ url: '/v1/jobs?status=SUCCEEDED', key: t.keys.viewer })).json() as {
      items: { job_id: string; divergences: number; reference_date: string }[];
      total: number;
    };
    expect(list.total).toBeGreaterThanOrEqual(2);
    const ids = list.items.map((i) => i.job_id);
    for (const s of t.summaries) expect(ids).toContain(s.job_id);
    const s = t.summaries[1]!;
    const d = (await call({ url: `/v1/jobs/${s.job_id}`, key: t.keys.viewer })).json();
    expect(d).toMatchObject({
      job_id: s.job_id,
      status: 'SUCCEEDED',
      reference_date: s.reference_date,
      divergences: total(s),
      progress: { total_lines: s.total_lines, processed_lines: s.total_lines, pending_lines: 0 },
      checkpoint_location: null,
      error: null,
    });
    expect(Object.keys(d.stage_seconds)).toEqual(
      expect.arrayContaining(['ingest', 'partition', 'matching', 'reporting']),
    );
    expect(d.history.map((h: { status: string }) => h.status)).toEqual([
      'RECEIVED',
      'VALIDATING',
      'PARTITIONING',
      'MATCHING',
      'REPORTING',
      'SUCCEEDED',
    ]);
    const filtered = (
      await call({
        url: `/v1/jobs?dt_from=${s.reference_date}&dt_to=${s.reference_date}`,
        key: t.keys.viewer,
      })
    ).json();
    expect(filtered.items.map((i: { reference_date: string }) => i.reference_date)).toEqual(
      filtered.items.map(() => s.reference_date),
    );
  });

  it('a file already reconciled is not run again (200, the earlier job)', async () => {
    const s = t.summaries[0]!;
    const r = await submitJob({ key: `${s.reference_date}/fornecedor.csv` });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ job_id: s.job_id, already_reconciled: true });
    const missing = await submitJob({ key: 'nope/x.csv' });
    expect(missing.statusCode).toBe(404);
    const outside = await submitJob({ key: '../../etc/passwd' });
    expect(outside.statusCode).toBe(400);
  });

  it('uploads: a broken file is refused with the reason; a good one becomes a job; the CSV export neutralizes formulas', async () => {
    /** `fieldsAfter`: the fields after the file, as `curl -F file=@… -F reference_date=…` sends them. */
    const upload = (body: Buffer | string, fields: Record<string, string> = {}, fieldsAfter = false) => {
      const boundary = '----recon-test-boundary';
      const parts = Object.entries(fields)
        .map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`)
        .join('');
      const payload = Buffer.concat([
        Buffer.from(fieldsAfter ? '' : parts),
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="fornecedor.csv"\r\nContent-Type: text/csv\r\n\r\n`,
        ),
        Buffer.isBuffer(body) ? body : Buffer.from(body),
        Buffer.from('\r\n'),
        Buffer.from(fieldsAfter ? parts : ''),
        Buffer.from(`--${boundary}--\r\n`),
      ]);
      return call({
        method: 'POST',
        url: '/v1/jobs',
        key: t.keys.operator,
        payload,
        headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      });
    };
    const cases: [string, Buffer | string, string, RegExp][] = [
      ['empty', '', 'FILE_EMPTY', /empty/],
      [
        'header only',
        'fornecedor_id;ordem_id;nome;ativo_id;data;valor\n',
        'FILE_HEADER_ONLY',
        /no data lines/,
      ],
      [
        'bad header',
        'fornecedor;ordem_id;nome;ativo_id;data;valor\nF1;O1;Ana;A1;2026-11-20;1.00\n',
        'INVALID_HEADER',
        /line 1: invalid header — missing column\(s\): fornecedor_id/,
      ],
      ['not UTF-8', Buffer.from([0x66, 0xff, 0xfe, 0x0a, 0x41]), 'FILE_NOT_UTF8', /not valid UTF-8/],
    ];
    for (const [name, body, reason, message] of cases) {
      const r = await upload(body, { reference_date: '2026-11-25' });
      expect(r.statusCode, name).toBe(422);
      expect(r.json().error).toMatchObject({ code: 'FILE_REJECTED', details: { reason } });
      expect(r.json().error.message).toMatch(message);
    }
    const bad = await upload(
      'fornecedor_id;ordem_id;nome;ativo_id;data;valor\nF1;O1;A;A1;2026-11-20;1.00\n',
      { scope: 'everything' },
    );
    expect(bad.statusCode).toBe(400);

    // Orders unknown to the base (TIPO_1), dated outside the base's window, with formula-like text.
    const lines = [
      'fornecedor_id;ordem_id;nome;ativo_id;data;valor',
      '=cmd|calc;ORD-X-1;=HYPERLINK("http://x");A1;2020-01-02;-10.00',
      '+F2;ORD-X-2;@SUM(A1);-A2;2020-01-02;5.50',
      'F3;ORD-X-3;Ana Souza;A3;2020-01-02;7.25',
    ];
    const ok = await upload(`${lines.join('\n')}\n`, { reference_date: '2026-11-25', scope: 'date-window' });
    expect(ok.statusCode).toBe(202);
    const jobId = ok.json().job_id as string;
    await t.server.control.idle();
    const job = (await call({ url: `/v1/jobs/${jobId}`, key: t.keys.viewer })).json();
    expect(job.status).toBe('SUCCEEDED');
    expect(job.summary.divergences.TIPO_1).toBe(3);
    const csv = (await call({ url: `/v1/divergences.csv?job_id=${jobId}`, key: t.keys.operator })).body;
    const rows = csv
      .replace(/^\uFEFF/, '')
      .trimEnd()
      .split('\r\n')
      .slice(1);
    expect(rows).toHaveLength(3);
    const byOrder = new Map(rows.map((r) => [r.split(';')[4], r]));
    expect(byOrder.get('ORD-X-1')).toContain(`;'=cmd|calc;"'=HYPERLINK(""http://x"")";`);
    expect(byOrder.get('ORD-X-1')).toContain(';-10.00;');
    expect(byOrder.get('ORD-X-2')).toContain(`;'+F2;'@SUM(A1);'-A2;`);
    expect(
      rows.every((r) => r.split(';').every((cell) => !/^[=+@]/.test(cell) && !/^-[^\d]/.test(cell))),
    ).toBe(true);

    // Without a reference date an upload is reconciled as the day before its job started (RULES §6),
    // not as the day of the upload's folder.
    /** The detail of the job an accepted upload started, once it ran. */
    const jobOf = async (accepted: Awaited<ReturnType<typeof upload>>) => {
      expect(accepted.statusCode).toBe(202);
      await t.server.control.idle();
      return (await call({ url: `/v1/jobs/${accepted.json().job_id as string}`, key: t.keys.viewer })).json();
    };
    const detail = await jobOf(await upload(`${lines[0]}\nF4;ORD-X-4;Bia;A4;2020-01-02;1.00\n`));
    expect(detail.status).toBe('SUCCEEDED');
    const started = new Date(detail.summary.started_at as string);
    const dayBefore = new Date(
      Date.UTC(started.getUTCFullYear(), started.getUTCMonth(), started.getUTCDate() - 1),
    );
    expect(detail.reference_date).toBe(dayBefore.toISOString().slice(0, 10));

    // The fields after the file count as well; a bad one refuses the upload and leaves nothing.
    const uploads = join(t.outDir, 'ingress', 'uploads');
    const stored = async () =>
      (await readdir(uploads, { recursive: true })).filter((f) => f.endsWith('.csv'));
    const before = await stored();
    const badAfter = await upload(
      `${lines[0]}\nF6;ORD-X-6;Ana;A6;2020-01-02;1.00\n`,
      { scope: 'everything' },
      true,
    );
    expect(badAfter.statusCode).toBe(400);
    expect(await stored()).toEqual(before);
    const dated = await jobOf(
      await upload(
        `${lines[0]}\nF5;ORD-X-5;Caio;A5;2020-01-02;1.00\n`,
        { reference_date: '2026-11-27' },
        true,
      ),
    );
    expect(dated.reference_date).toBe('2026-11-27');
  });
});

describe('behind a proxy (as the ALB in AWS)', () => {
  const start = (trustProxyHops?: number) =>
    startServerOnSharedDatabase(`proxy-${trustProxyHops ?? 0}`, {
      rateLimit: { max: 2, windowMs: 60_000 },
      ...(trustProxyHops === undefined ? {} : { trustProxyHops }),
    });
  /** An anonymous request that reached the server through the proxy at 10.0.0.2 for `client`. */
  const viaProxy = (server: EmbeddedServer, client: string) =>
    server.app.inject({
      url: '/',
      remoteAddress: '10.0.0.2',
      headers: { 'x-forwarded-for': client },
    });

  it('refused requests count against the budget too (no key, a wrong key), and the role check comes before the body', async () => {
    const server = await start();
    try {
      const me = (headers: Record<string, string>) => server.app.inject({ url: '/v1/me', headers });
      expect((await me({ authorization: 'Bearer rk_000000000000_wrong' })).statusCode).toBe(401);
      expect((await me({})).statusCode).toBe(401);
      // A key guesser (or anyone without a key) is throttled like any caller.
      const third = await me({ authorization: 'Bearer rk_000000000000_wrong' });
      expect(third.statusCode).toBe(429);
      expect(third.json().error.code).toBe('RATE_LIMITED');
    } finally {
      await server.close();
    }
    // A viewer sending a body it could not send anyway: 403, whatever the body is.
    const malformed = await call({
      method: 'POST',
      url: '/v1/jobs',
      key: t.keys.viewer,
      payload: '{not json',
      headers: { 'content-type': 'application/json' },
    });
    expect(malformed.statusCode).toBe(403);
    expect(malformed.json().error.code).toBe('FORBIDDEN');
  });

  it('trusting the proxy, each anonymous caller has a rate-limit budget of its own; not trusting it, they share the proxy’s', async () => {
    const trusting = await start(1);
    const plain = await start();
    try {
      for (const server of [trusting, plain]) {
        expect((await viaProxy(server, '203.0.113.7')).statusCode).toBe(200);
        expect((await viaProxy(server, '203.0.113.7')).statusCode).toBe(200);
        expect((await viaProxy(server, '203.0.113.7')).statusCode).toBe(429);
      }
      // Another caller: its own budget only when the proxy's header is believed.
      expect((await viaProxy(trusting, '198.51.100.9')).statusCode).toBe(200);
      expect((await viaProxy(plain, '198.51.100.9')).statusCode).toBe(429);
      // A caller cannot pose as another by sending the header itself: the proxy's hop is the one used.
      const spoofed = await trusting.app.inject({
        url: '/',
        remoteAddress: '10.0.0.2',
        headers: { 'x-forwarded-for': '198.51.100.77, 203.0.113.7' },
      });
      expect(spoofed.statusCode).toBe(429);
    } finally {
      await trusting.close();
      await plain.close();
    }
  });
});

describe('limits, cancel and reprocess (a second server on the same database)', () => {
  let slow: EmbeddedServer;
  const alerts: DeliveryMissing[] = [];
  beforeAll(async () => {
    slow = await startServerOnSharedDatabase('slow', {
      uploadLimitBytes: 4096,
      rateLimit: { max: 40, windowMs: 60_000 },
      runSettings: { workers: 2, options: { ...DEFAULT_SERVICE_OPTIONS, testMatcherDelayMs: 400 } },
      // Started after the day's cutoff, the daily check runs at once, for D-1 = 2026-12-09.
      delivery: {
        expectedBy: '09:00',
        timeZone: 'America/Sao_Paulo',
        clock: { now: () => new Date('2026-12-10T15:00:00Z') },
        raise: async (alert) => {
          alerts.push(alert);
        },
      },
    });
  });

  it('raises the missing-delivery alert for D-1 when no file arrived by the configured time', async () => {
    await until('the missing-delivery alert', () => holds(alerts.length > 0), {
      timeoutMs: 2_000,
      intervalMs: 20,
    });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ referenceDate: '2026-12-09', expectedBy: '09:00', severity: 'HIGH' });
    expect(alerts[0]!.lookedIn.join(' ')).toContain('out-slow');
  });
  afterAll(async () => {
    await slow?.close();
  });

  it('an upload over the size limit gets 413', async () => {
    const boundary = 'b0undary';
    const big = `fornecedor_id;ordem_id;nome;ativo_id;data;valor\n${'F1;O1;Ana;A1;2026-11-20;1.00\n'.repeat(400)}`;
    const r = await call({
      server: slow,
      method: 'POST',
      url: '/v1/jobs',
      key: t.keys.operator,
      payload: `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.csv"\r\n\r\n${big}\r\n--${boundary}--\r\n`,
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
    });
    expect(r.statusCode).toBe(413);
    expect(r.json().error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('cancel stops a running job (CANCELLED, checkpoint) and reprocess completes it', async () => {
    const day = t.summaries[1]!;
    const src = t.vendorFiles[1]!;
    await mkdir(join(outOf('slow'), 'ingress', day.reference_date), { recursive: true });
    await writeFile(
      join(outOf('slow'), 'ingress', day.reference_date, 'f.csv'),
      await import('node:fs/promises').then((fs) => fs.readFile(src)),
    );
    const started = await submitJob({ key: `${day.reference_date}/f.csv`, force: true }, slow);
    expect(started.statusCode).toBe(202);
    const jobId = started.json().job_id as string;
    // Accepted means recorded: the job is there the moment the answer is.
    const atOnce = await call({ server: slow, url: `/v1/jobs/${jobId}`, key: t.keys.viewer });
    expect(atOnce.statusCode).toBe(200);
    expect(atOnce.json().job_id).toBe(jobId);
    // The same date while it runs: refused.
    const second = await submitJob({ key: `${day.reference_date}/f.csv`, force: true }, slow);
    expect(second.statusCode).toBe(409);
    expect(second.json().error.code).toBe('JOB_RUNNING');
    // Polled a few times a second: this server's rate limit (40 a minute) is the viewer key's too.
    // Cancelled once a shard is done, so its lines count as processed.
    await until(
      'the job to be matching with a shard done',
      async () => {
        const j = (await call({ server: slow, url: `/v1/jobs/${jobId}`, key: t.keys.viewer })).json();
        return holds(j.status === 'MATCHING' && j.progress.shards_done >= 1);
      },
      { timeoutMs: 25_000, intervalMs: 250 },
    );
    const cancel = await call({
      server: slow,
      method: 'POST',
      url: `/v1/jobs/${jobId}/cancel`,
      key: t.keys.operator,
    });
    expect(cancel.statusCode).toBe(202);
    await slow.control.idle();
    const stopped = (await call({ server: slow, url: `/v1/jobs/${jobId}`, key: t.keys.viewer })).json();
    expect(stopped.status).toBe('CANCELLED');
    expect(stopped.checkpoint_location).toMatch(/checkpoint\.json$/);
    // The progress is the checkpoint's: rejected lines and those of completed shards.
    const written = JSON.parse(
      await readFile(join(outOf('slow'), 'checkpoints', jobId, 'checkpoint.json'), 'utf8'),
    ) as { progress: { processed_lines: number; pending_lines: number } };
    expect(stopped.progress.shards_done).toBeGreaterThanOrEqual(1);
    expect(stopped.progress).toMatchObject({
      processed_lines: written.progress.processed_lines,
      pending_lines: written.progress.pending_lines,
    });
    expect(stopped.progress.processed_lines).toBeGreaterThan(1000);
    expect(
      (await call({ server: slow, method: 'POST', url: `/v1/jobs/${jobId}/cancel`, key: t.keys.operator }))
        .statusCode,
    ).toBe(409);
    const again = await call({
      server: slow,
      method: 'POST',
      url: `/v1/jobs/${jobId}/reprocess`,
      key: t.keys.operator,
    });
    expect(again.statusCode).toBe(202);
    // Accepted means reopened: the job no longer reads as it ended.
    const reopened = (await call({ server: slow, url: `/v1/jobs/${jobId}`, key: t.keys.viewer })).json();
    expect(reopened.status).not.toBe('CANCELLED');
    expect(reopened.error).toBeNull();
    await slow.control.idle();
    const done = (await call({ server: slow, url: `/v1/jobs/${jobId}`, key: t.keys.viewer })).json();
    expect(done.status).toBe('SUCCEEDED');
    expect(done.divergences).toBe(total(day));
    expect(
      (await call({ server: slow, url: `/v1/stats?job_id=${jobId}`, key: t.keys.viewer })).json()
        .total_divergences,
    ).toBe(total(day));
  }, 120_000);

  it('a date another process is reconciling in the same folder: 409 at once, and no job recorded', async () => {
    const out = outOf('slow');
    const date = '2026-11-15';
    await mkdir(join(out, 'ingress', date), { recursive: true });
    await writeFile(join(out, 'ingress', date, 'held.csv'), await readFile(t.vendorFiles[0]!));
    // The lock `recon run` takes (job-control.ts), held by a live process: this one.
    await mkdir(join(out, 'jobs', '.locks'), { recursive: true });
    const lock = join(out, 'jobs', '.locks', `${date}.lock`);
    await writeFile(
      lock,
      `${JSON.stringify({ pid: process.pid, jobId: 'JOB-20261115-000077', at: new Date().toISOString() })}\n`,
    );
    try {
      const refused = await submitJob({ key: `${date}/held.csv` }, slow);
      expect(refused.statusCode).toBe(409);
      expect(refused.json().error.code).toBe('JOB_RUNNING');
      expect(refused.json().error.message).toContain('JOB-20261115-000077');
      const listed = await call({
        server: slow,
        url: `/v1/jobs?dt_from=${date}&dt_to=${date}`,
        key: t.keys.viewer,
      });
      expect(listed.json().total).toBe(0);
    } finally {
      await rm(lock, { force: true });
    }
    // Once the lock is gone, the same request is a job.
    const accepted = await submitJob({ key: `${date}/held.csv` }, slow);
    expect(accepted.statusCode).toBe(202);
    await slow.control.idle();
    const done = await call({ server: slow, url: `/v1/jobs/${accepted.json().job_id}`, key: t.keys.viewer });
    expect(done.json().status).toBe('SUCCEEDED');
  }, 120_000);

  it.each([
    {
      case: 'its worker threads cannot start',
      worker: "throw new Error('cannot load: a dependency is missing');\n",
      reason: /worker threads could not start: cannot load: a dependency is missing/,
    },
    {
      // Workers that take every task and do nothing: the job's runtime ends with the job open.
      case: 'its handlers leave it unfinished',
      worker: `import { parentPort } from 'node:worker_threads';
parentPort.on('message', (m) => { if (m.kind === 'task') parentPort.postMessage({ kind: 'done', id: m.id, ok: true }); });
parentPort.postMessage({ kind: 'ready' });
`,
      reason: /stopped while RECEIVED: no handler is left to carry it on/,
    },
  ])(
    'a job accepted but run by nothing ($case) is recorded FAILED with the reason',
    async ({ case: name, worker, reason }) => {
      const out = outOf(name.replaceAll(' ', '-'));
      const date = name.startsWith('its worker') ? '2026-11-14' : '2026-11-13';
      const module = join(out, 'worker.mjs');
      await mkdir(join(out, 'ingress', date), { recursive: true });
      await writeFile(module, worker);
      await writeFile(join(out, 'ingress', date, 'f.csv'), await readFile(t.vendorFiles[0]!));
      const server = await startServerOnSharedDatabase(name.replaceAll(' ', '-'), {
        runSettings: { workers: 1, testWorkerBoot: { url: pathToFileURL(module), execArgv: [] } },
      });
      try {
        const started = await submitJob({ key: `${date}/f.csv` }, server);
        expect(started.statusCode).toBe(202);
        await server.control.idle();
        const job = (
          await call({ server, url: `/v1/jobs/${started.json().job_id}`, key: t.keys.viewer })
        ).json();
        expect(job.status).toBe('FAILED');
        expect(job.error.message).toMatch(reason);
      } finally {
        await server.close();
      }
    },
    60_000,
  );

  it('a server starts by removing the jobs loaded into the read model longer ago than its retention', async () => {
    const old = 'JOB-20240101-000001';
    await slow.readModel.load(
      {
        ...t.summaries[0]!,
        job_id: old,
        reference_date: '2024-01-01',
        divergences: zeroPerTipo(),
        by_severity: zeroPerSeveridade(),
      },
      [],
    );
    await slow.readModel.query(
      `UPDATE recon_job_reports SET loaded_at = now() - interval '31 days' WHERE job_id = '${old}'`,
    );
    const lines: string[] = [];
    const pruning = await startServerOnSharedDatabase('prune', {
      readModelRetentionDays: 30,
      runSettings: { logLevel: 'info', logDestination: (line) => lines.push(line) },
    });
    try {
      await until(
        `${old} removed from the read model`,
        async () => holds((await pruning.readModel.report(old)) === undefined),
        {
          timeoutMs: 5_000,
          intervalMs: 20,
        },
      );
      expect(await pruning.readModel.report(old)).toBeUndefined();
      // The server's own lines reach the log (RECON_LOG_LEVEL), as recon's JSON lines.
      await until(
        'the log line of the removal',
        () => holds(lines.some((l) => l.includes('old jobs removed'))),
        {
          timeoutMs: 1_000,
          intervalMs: 20,
        },
      );
      const removed = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'read model: old jobs removed');
      expect(removed).toMatchObject({ level: 'INFO', service: 'recon-serve', removed: [old] });
      // The days loaded today stay.
      for (const s of t.summaries) expect(await pruning.readModel.report(s.job_id)).toBeDefined();
    } finally {
      await pruning.close();
    }
  });

  it("logs no line per request, and starts without Fastify's deprecation warnings", async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    const lines: string[] = [];
    let quiet: EmbeddedServer | undefined;
    try {
      quiet = await startServerOnSharedDatabase('quiet', {
        readModelRetentionDays: 0,
        runSettings: { logLevel: 'info', logDestination: (line) => lines.push(line) },
      });
      expect((await call({ server: quiet, url: '/v1/me', key: t.keys.viewer })).statusCode).toBe(200);
      expect((await call({ server: quiet, url: '/v1/no-such-route', key: t.keys.viewer })).statusCode).toBe(
        404,
      );
      // A process warning is emitted on the next tick.
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
      await quiet?.close();
    }
    const messages = lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(messages).not.toContain('incoming request');
    expect(messages).not.toContain('request completed');
    expect(messages).not.toContain('Route GET:/v1/no-such-route not found');
    expect(warnings.map((w) => `${(w as { code?: string }).code ?? w.name}: ${w.message}`)).toEqual([]);
  });

  it('rate limits per key with 429 RATE_LIMITED and Retry-After', async () => {
    let last = await call({ server: slow, url: '/v1/me', key: t.keys.admin });
    for (let i = 0; i < 60 && last.statusCode !== 429; i++)
      last = await call({ server: slow, url: '/v1/me', key: t.keys.admin });
    expect(last.statusCode).toBe(429);
    expect(last.json().error.code).toBe('RATE_LIMITED');
    expect(Number(last.headers['retry-after'])).toBeGreaterThan(0);
    // Another key has its own budget (a fresh one: the others have spent some of theirs on this
    // server in the tests before).
    const fresh = (await slow.keys.create('viewer', 'fresh budget')).key;
    expect((await call({ server: slow, url: '/v1/me', key: fresh })).statusCode).toBe(200);
  });
});

describe('the OpenAPI document', () => {
  it('was checked against every JSON answer above: those of every route that answers JSON (runs last)', () => {
    const textOrEmpty = ['GET /metrics', 'DELETE /v1/session'];
    const json = Object.keys(RESPONSES).filter((name) => !textOrEmpty.includes(name));
    expect([...checkedAnswers.keys()]).toEqual(expect.arrayContaining(json));
  });
});
