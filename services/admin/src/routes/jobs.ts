import { randomUUID } from 'node:crypto';
import {
  BARRIERS,
  checkpointKey,
  FINAL_JOB_STATUSES,
  JOB_STATUSES,
  type JobRecord,
  type JobStatus,
  type JobSummary,
  processedVendorLines,
  type Scope,
  type ShardUnit,
  type VendorChunkUnit,
} from '@recon/contracts';
import { isIsoDay } from '@recon/rules';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AdminDeps, SubmitInput } from '../app.ts';
import { requireRole } from '../auth.ts';
import { ApiError } from '../errors.ts';
import { DATE, JOB_ID, RESPONSES } from '../schemas.ts';
import { validatedUpload } from '../upload.ts';

export const JOBS_PAGE_SIZE = 50;
const SCOPES = ['date-window', 'all'] as const;
const SUBMIT_OPTIONS = {
  reference_date: { ...DATE, description: 'default: D-1 of the arrival day (RULES §7)' },
  scope: { type: 'string', enum: [...SCOPES], description: "default: the server's (RULES §5)" },
} as const;
/** POST /v1/jobs: an upload, or the name of an object already in the ingress store. */
const SUBMIT_BODY = {
  content: {
    'multipart/form-data': {
      schema: {
        type: 'object',
        required: ['file'],
        properties: {
          file: { type: 'string', format: 'binary', description: 'the vendor file (RULES §1 CSV)' },
          ...SUBMIT_OPTIONS,
          force: {
            type: 'string',
            enum: ['true', 'false', '1', '0'],
            description: 'reconcile a file already reconciled',
          },
        },
      },
    },
    'application/json': {
      schema: {
        type: 'object',
        required: ['key'],
        additionalProperties: false,
        properties: {
          key: {
            type: 'string',
            description: 'an object of the ingress store, e.g. 2026-11-21/fornecedor.csv',
          },
          ...SUBMIT_OPTIONS,
          force: { type: 'boolean', description: 'reconcile a file already reconciled' },
        },
      },
    },
  },
} as const;

function summaryOf(job: JobRecord): JobSummary | undefined {
  return job.facts.summary as JobSummary | undefined;
}

function listItem(job: JobRecord) {
  const summary = summaryOf(job);
  const ended = FINAL_JOB_STATUSES.includes(job.status);
  return {
    job_id: job.jobId,
    status: job.status,
    reference_date: job.request.referenceDate,
    file_sha256:
      summary?.file_sha256 ?? (typeof job.facts.file_sha256 === 'string' ? job.facts.file_sha256 : null),
    total_lines:
      summary?.total_lines ?? (typeof job.facts.total_lines === 'number' ? job.facts.total_lines : null),
    divergences: summary === undefined ? null : Object.values(summary.divergences).reduce((a, b) => a + b, 0),
    divergence_rate: summary?.divergence_rate ?? null,
    created_at: job.history[0]?.at ?? job.request.arrivedAt,
    finished_at: ended ? (job.history[job.history.length - 1]?.at ?? null) : null,
  };
}

async function detail(deps: AdminDeps, job: JobRecord) {
  const [chunks, shards, checkpoint] = await Promise.all([
    deps.jobs.listUnits<VendorChunkUnit>(job.jobId, BARRIERS.vendorChunks),
    deps.jobs.listUnits<ShardUnit>(job.jobId, BARRIERS.shards),
    deps.store.size(checkpointKey(job.jobId)),
  ]);
  const summary = summaryOf(job);
  const total =
    summary?.total_lines ?? (typeof job.facts.total_lines === 'number' ? job.facts.total_lines : null);
  const partitioned = chunks.reduce((n, c) => n + c.data.records, 0);
  // As the checkpoint counts them: rejected, or through a completed shard.
  const processed = summary?.total_lines ?? processedVendorLines(chunks, shards, total ?? partitioned);
  const stageSeconds = Object.fromEntries(
    Object.entries(job.stages).map(([stage, span]) => [
      stage,
      Math.round(Date.parse(span.finishedAt) - Date.parse(span.startedAt)) / 1000,
    ]),
  );
  return {
    ...listItem(job),
    history: job.history,
    stage_seconds: stageSeconds,
    progress: {
      total_lines: total,
      partitioned_lines: partitioned,
      processed_lines: processed,
      pending_lines: total === null ? null : total - processed,
      shards_done: shards.length,
      shard_count: job.request.shardCount,
    },
    summary: summary ?? null,
    // A finished job's checkpoint is history; the one of a running or stopped job is where it resumes.
    checkpoint_location:
      checkpoint === null || job.status === 'SUCCEEDED' ? null : deps.store.uri(checkpointKey(job.jobId)),
    error: job.error,
  };
}

/** A safe object name from an uploaded file name. */
function safeName(name: string | undefined): string {
  const base = (name ?? 'arquivo.csv').split(/[\\/]/).pop() ?? 'arquivo.csv';
  const cleaned = base
    .normalize('NFC')
    .replace(/[^\p{L}\p{N}._-]+/gu, '_')
    .slice(0, 100);
  return cleaned === '' || cleaned.startsWith('.') ? `arquivo${cleaned}` : cleaned;
}

function field(value: unknown): string | undefined {
  const v = (value as { value?: unknown } | undefined)?.value;
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

function submitOptions(raw: {
  reference_date?: string | undefined;
  scope?: string | undefined;
  force?: string | boolean | undefined;
}): Omit<SubmitInput, 'key'> {
  const { reference_date: referenceDate, scope, force } = raw;
  if (referenceDate !== undefined && !isIsoDay(referenceDate)) {
    throw new ApiError('INVALID_ARGUMENT', `reference_date=${referenceDate}: expected a date YYYY-MM-DD`);
  }
  if (scope !== undefined && !(SCOPES as readonly string[]).includes(scope)) {
    throw new ApiError('INVALID_ARGUMENT', `scope=${scope}: expected one of ${SCOPES.join(', ')}`);
  }
  const forced = force === true || force === 'true' || force === '1';
  return {
    ...(referenceDate === undefined ? {} : { referenceDate }),
    ...(scope === undefined ? {} : { scope: scope as Scope }),
    ...(forced ? { force: true } : {}),
  };
}

/**
 * Streams the multipart `file` to the ingress store, checking its header on the way; the fields
 * `reference_date`, `scope` and `force` may come before or after it (curl sends them in the order
 * given). A refused upload (a bad file, a bad field, too large) leaves nothing behind.
 */
async function receiveUpload(deps: AdminDeps, request: FastifyRequest): Promise<SubmitInput> {
  let key: string | undefined;
  const fields: Record<string, unknown> = {};
  try {
    for await (const part of request.parts()) {
      if (part.type !== 'file') {
        fields[part.fieldname] = part;
        continue;
      }
      if (part.fieldname !== 'file') {
        throw new ApiError(
          'INVALID_ARGUMENT',
          `multipart field "${part.fieldname}": send the vendor file as "file"`,
        );
      }
      const name = safeName(part.filename);
      // Grouped by upload day, written YYYYMMDD: a YYYY-MM-DD folder would be taken for the file's
      // reference date (RULES §6), and an upload without one is reconciled as D-1 of its job.
      const day = new Date().toISOString().slice(0, 10).replaceAll('-', '');
      key = `uploads/${day}/${randomUUID()}-${name}`;
      await deps.ingress.putStream(
        key,
        validatedUpload(part.file, `upload ${JSON.stringify(part.filename ?? name)}`),
      );
      if (part.file.truncated) {
        throw new ApiError(
          'PAYLOAD_TOO_LARGE',
          `upload ${JSON.stringify(part.filename)} is larger than allowed`,
        );
      }
    }
    if (key === undefined) throw new ApiError('INVALID_ARGUMENT', 'multipart upload without a "file" field');
    return {
      key,
      ...submitOptions({
        reference_date: field(fields.reference_date),
        scope: field(fields.scope),
        force: field(fields.force),
      }),
    };
  } catch (error) {
    if (key !== undefined) await deps.ingress.deletePrefix(key).catch(() => {});
    throw error;
  }
}

export function registerJobRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const viewer = requireRole('viewer');
  const operator = requireRole('operator');

  app.get<{ Querystring: { dt_from?: string; dt_to?: string; status?: JobStatus; page?: number } }>(
    '/v1/jobs',
    {
      preParsing: viewer,
      schema: {
        summary: 'Jobs, newest first, 50 per page',
        response: RESPONSES['GET /v1/jobs'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            dt_from: DATE,
            dt_to: DATE,
            status: { type: 'string', enum: [...JOB_STATUSES] },
            page: { type: 'integer', minimum: 1, maximum: 100_000 },
          },
        },
      },
    },
    async (request) => {
      const page = request.query.page ?? 1;
      const { jobs, total } = await deps.jobs.listJobs({
        ...(request.query.dt_from === undefined ? {} : { dtFrom: request.query.dt_from }),
        ...(request.query.dt_to === undefined ? {} : { dtTo: request.query.dt_to }),
        ...(request.query.status === undefined ? {} : { status: request.query.status }),
        offset: (page - 1) * JOBS_PAGE_SIZE,
        limit: JOBS_PAGE_SIZE,
      });
      return { items: jobs.map(listItem), page, page_size: JOBS_PAGE_SIZE, total };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/jobs/:id',
    {
      preParsing: viewer,
      schema: {
        summary: 'A job: state, progress, stage timings, counts, checkpoint',
        response: RESPONSES['GET /v1/jobs/:id'],
        params: { type: 'object', properties: { id: JOB_ID } },
      },
    },
    async (request) => {
      const job = await deps.jobs.getJob(request.params.id);
      if (job === undefined) throw new ApiError('NOT_FOUND', `no job ${request.params.id}`);
      return detail(deps, job);
    },
  );

  app.post<{ Body: { key?: string; reference_date?: string; scope?: string; force?: boolean } | undefined }>(
    '/v1/jobs',
    {
      preParsing: operator,
      schema: {
        summary:
          'Start a job: upload the vendor file (multipart field "file"; optional fields reference_date, scope, force) or name an object of the ingress store (JSON {"key": …})',
        consumes: ['multipart/form-data', 'application/json'],
        body: SUBMIT_BODY,
        response: RESPONSES['POST /v1/jobs'],
      },
      // Documented above, checked by the handler itself (either form), with messages naming the field.
      validatorCompiler: () => () => true,
    },
    async (request, reply) => {
      let input: SubmitInput;
      if (request.isMultipart()) {
        input = await receiveUpload(deps, request);
      } else {
        const body = request.body;
        if (body === undefined || body === null || typeof body.key !== 'string' || body.key.trim() === '') {
          throw new ApiError(
            'INVALID_ARGUMENT',
            'send the vendor file as multipart field "file", or JSON {"key": "<object in the ingress store>"}',
          );
        }
        const known = new Set(['key', 'reference_date', 'scope', 'force']);
        const unknown = Object.keys(body).filter((k) => !known.has(k));
        if (unknown.length > 0)
          throw new ApiError('INVALID_ARGUMENT', `unknown field(s): ${unknown.join(', ')}`);
        const key = body.key.replace(/^\/+/, '');
        if (key.split('/').includes('..'))
          throw new ApiError('INVALID_ARGUMENT', `key ${body.key}: ".." is not allowed`);
        if ((await deps.ingress.size(key)) === null) {
          throw new ApiError('NOT_FOUND', `no object ${key} in the ingress store`);
        }
        input = { key, ...submitOptions(body) };
      }
      const result = await deps.control.submit(input);
      return reply.status(result.alreadyReconciled ? 200 : 202).send({
        job_id: result.jobId,
        status: result.status,
        ...(result.alreadyReconciled
          ? {
              already_reconciled: true,
              message: `this file (same SHA-256) was already reconciled by ${result.jobId}; send force=true to reconcile it again`,
            }
          : {}),
      });
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/jobs/:id/reprocess',
    {
      preParsing: operator,
      schema: {
        summary: 'Resume a job that ended without success from its checkpoint',
        response: RESPONSES['POST /v1/jobs/:id/reprocess'],
        params: { type: 'object', properties: { id: JOB_ID } },
      },
    },
    async (request, reply) => {
      const job = await deps.jobs.getJob(request.params.id);
      if (job === undefined) throw new ApiError('NOT_FOUND', `no job ${request.params.id}`);
      if (job.status === 'SUCCEEDED') throw new ApiError('CONFLICT', `job ${job.jobId} already SUCCEEDED`);
      if (!FINAL_JOB_STATUSES.includes(job.status)) {
        throw new ApiError('CONFLICT', `job ${job.jobId} is still running (${job.status})`);
      }
      const result = await deps.control.reprocess(job.jobId);
      return reply.status(202).send({ job_id: result.jobId, status: result.status });
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/jobs/:id/cancel',
    {
      preParsing: operator,
      schema: {
        summary: 'Stop a running job (CANCELLED, checkpoint written)',
        response: RESPONSES['POST /v1/jobs/:id/cancel'],
        params: { type: 'object', properties: { id: JOB_ID } },
      },
    },
    async (request, reply) => {
      const job = await deps.jobs.getJob(request.params.id);
      if (job === undefined) throw new ApiError('NOT_FOUND', `no job ${request.params.id}`);
      if (!(await deps.control.cancel(job.jobId, request.principal!.keyId))) {
        const now = await deps.jobs.getJob(job.jobId);
        throw new ApiError('CONFLICT', `job ${job.jobId} already ended (${now?.status ?? job.status})`);
      }
      const now = await deps.jobs.getJob(job.jobId);
      return reply.status(202).send({ job_id: job.jobId, status: now?.status ?? 'CANCELLED' });
    },
  );
}
