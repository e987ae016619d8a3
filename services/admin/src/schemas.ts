import { ROLES } from '@recon/adapters/read-model';
import { JOB_STATUSES, SEVERIDADES, TIPOS } from '@recon/contracts';
import { API_ERRORS } from './errors.ts';

/**
 * The admin API's answers as JSON Schema: what each route returns, per status, for the OpenAPI
 * document at /docs (docs/admin-api.md describes the same shapes in prose). They document; they
 * do not serialize — the app keeps JSON.stringify, so a field missing from a schema is never
 * dropped silently. The end-to-end tests check every JSON answer they get against these.
 */

const string = { type: 'string' } as const;
const integer = { type: 'integer' } as const;
const number = { type: 'number' } as const;
const nullable = <T extends { type: string }>(schema: T) => ({ ...schema, type: [schema.type, 'null'] });
const isoTime = { type: 'string', description: 'ISO 8601, UTC' } as const;
/** A calendar date, `YYYY-MM-DD` (parameters and answers alike). */
export const DATE = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' } as const;
/** A job id, `JOB-YYYYMMDD-NNNNNN`. */
export const JOB_ID = { type: 'string', pattern: '^JOB-\\d{8}-\\d{6}$' } as const;
const jobStatus = { type: 'string', enum: [...JOB_STATUSES] } as const;

/** An object whose every listed property is required. */
function object(properties: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return { type: 'object', required: Object.keys(properties), properties, ...extra };
}

const perTipo = object(Object.fromEntries(TIPOS.map((t) => [t, integer])));
const perSeveridade = object(Object.fromEntries(SEVERIDADES.map((s) => [s, integer])));
const topSuppliers = { type: 'array', items: object({ fornecedor_id: string, count: integer }) };

/** `{ error: { code, message, details? } }`, every error of every route (docs/admin-api.md). */
export const ERROR_SCHEMA = object({
  error: {
    type: 'object',
    required: ['code', 'message'],
    properties: {
      code: { type: 'string', enum: Object.keys(API_ERRORS) },
      message: string,
      details: { type: 'object' },
    },
  },
});

const NO_CONTENT = { type: 'null', description: 'No content' };

const JOB_LIST_ITEM = object({
  job_id: string,
  status: jobStatus,
  reference_date: DATE,
  file_sha256: nullable(string),
  total_lines: nullable(integer),
  divergences: nullable(integer),
  divergence_rate: nullable(number),
  created_at: isoTime,
  finished_at: nullable(isoTime),
});

/** summary.json (RULES §6's keys, and what else the reporter adds). */
const JOB_SUMMARY = {
  type: ['object', 'null'],
  required: [
    'job_id',
    'status',
    'file_sha256',
    'reference_date',
    'total_lines',
    'valid_lines',
    'invalid_lines',
    'base_rows',
    'matched',
    'divergences',
    'by_severity',
    'divergence_rate',
    'top_suppliers',
    'stage_seconds',
    'started_at',
    'finished_at',
    'outputs',
  ],
  properties: {
    job_id: string,
    status: { type: 'string', enum: ['SUCCEEDED', 'FAILED', 'TIMEOUT', 'CANCELLED'] },
    file_sha256: nullable(string),
    reference_date: DATE,
    total_lines: integer,
    valid_lines: integer,
    invalid_lines: integer,
    base_rows: integer,
    matched: integer,
    divergences: perTipo,
    by_severity: perSeveridade,
    divergence_rate: number,
    top_suppliers: topSuppliers,
    stage_seconds: { type: 'object', additionalProperties: number },
    started_at: isoTime,
    finished_at: isoTime,
    outputs: {
      type: 'object',
      additionalProperties: { anyOf: [string, { type: 'array', items: string }] },
    },
  },
};

const JOB_ERROR = { ...object({ stage: string, code: string, message: string }), type: ['object', 'null'] };

const JOB_DETAIL = object({
  ...JOB_LIST_ITEM.properties,
  history: { type: 'array', items: object({ status: jobStatus, at: isoTime }) },
  stage_seconds: { type: 'object', additionalProperties: number },
  progress: object({
    total_lines: nullable(integer),
    partitioned_lines: integer,
    processed_lines: integer,
    pending_lines: nullable(integer),
    shards_done: integer,
    shard_count: integer,
  }),
  summary: JOB_SUMMARY,
  checkpoint_location: nullable(string),
  error: JOB_ERROR,
});

const JOB_ACCEPTED = object({ job_id: string, status: jobStatus });
const JOB_SUBMITTED = {
  ...JOB_ACCEPTED,
  properties: {
    ...JOB_ACCEPTED.properties,
    already_reconciled: { type: 'boolean', description: 'only when the same file already succeeded' },
    message: string,
  },
};

const DIVERGENCE_ITEM = object({
  job_id: string,
  dt: DATE,
  tipo_divergencia: { type: 'string', enum: [...TIPOS] },
  severidade: { type: 'string', enum: [...SEVERIDADES] },
  ordem_id: string,
  fornecedor_id: string,
  nome: { type: 'string', description: 'masked for viewers' },
  ativo_id: string,
  data: DATE,
  data_base: nullable(DATE),
  valor_csv: nullable({ type: 'string', description: 'exact decimal text, e.g. "1234.50"' }),
  valor_base: nullable(string),
  diferenca: nullable(string),
  campo: nullable(string),
  detalhes: string,
  hash_linha: string,
  linha_arquivo: nullable(integer),
  timestamp: isoTime,
});

const KEY_RECORD = object({
  id: string,
  name: string,
  role: { type: 'string', enum: [...ROLES] },
  created_at: isoTime,
  revoked_at: nullable(isoTime),
  last_used_at: nullable(isoTime),
});

const WHO = object({ role: { type: 'string', enum: [...ROLES] }, key_id: string, name: string });

const READY = object({
  status: { type: 'string', enum: ['ready', 'not ready'] },
  checks: { type: 'object', additionalProperties: { type: 'string', description: '"ok" or "failed: …"' } },
});

const text = (mediaType: string, description: string) => ({
  description,
  content: { [mediaType]: { schema: { type: 'string' } } },
});

/** Every error status a route answers with the error object. */
const ERRORS = { '4xx': ERROR_SCHEMA, '5xx': ERROR_SCHEMA };

/** Each route's answers, by status: `response` of the route's schema. */
export const RESPONSES = {
  'GET /health': { 200: object({ status: { type: 'string', enum: ['ok'] } }) },
  'GET /ready': { 200: READY, 503: READY },
  'GET /metrics': { 200: text('text/plain', 'Prometheus exposition text') },
  'GET /v1/jobs': {
    200: object({
      items: { type: 'array', items: JOB_LIST_ITEM },
      page: integer,
      page_size: integer,
      total: integer,
    }),
    ...ERRORS,
  },
  'GET /v1/jobs/:id': { 200: JOB_DETAIL, ...ERRORS },
  'POST /v1/jobs': { 200: JOB_SUBMITTED, 202: JOB_SUBMITTED, ...ERRORS },
  'POST /v1/jobs/:id/reprocess': { 202: JOB_ACCEPTED, ...ERRORS },
  'POST /v1/jobs/:id/cancel': { 202: JOB_ACCEPTED, ...ERRORS },
  'GET /v1/divergences': {
    200: object({
      items: { type: 'array', items: DIVERGENCE_ITEM },
      page: nullable(integer),
      page_size: integer,
      total: integer,
      next_cursor: nullable(string),
    }),
    ...ERRORS,
  },
  'GET /v1/divergences.csv': {
    200: text('text/csv', 'One row per divergence (;-separated, UTF-8 with a BOM), the header first'),
    ...ERRORS,
  },
  'GET /v1/stats': {
    200: object({
      total_divergences: integer,
      total_lines: integer,
      divergence_rate: number,
      by_type: perTipo,
      by_severity: perSeveridade,
      top_suppliers: topSuppliers,
      daily: {
        type: 'array',
        items: object({ dt: DATE, divergences: integer, total_lines: integer, divergence_rate: number }),
      },
      jobs: integer,
    }),
    ...ERRORS,
  },
  'GET /v1/keys': { 200: object({ items: { type: 'array', items: KEY_RECORD } }), ...ERRORS },
  'POST /v1/keys': {
    201: object({ ...KEY_RECORD.properties, key: { type: 'string', description: 'shown only here' } }),
    ...ERRORS,
  },
  'DELETE /v1/keys/:id': { 204: NO_CONTENT, ...ERRORS },
  'POST /v1/session': { 200: object({ ...WHO.properties, expires_at: isoTime }), ...ERRORS },
  'DELETE /v1/session': { 204: NO_CONTENT, ...ERRORS },
  'GET /v1/me': { 200: WHO, ...ERRORS },
} as const;

export type RouteName = keyof typeof RESPONSES;
