import { Readable } from 'node:stream';
import {
  type DivergenceFilter,
  type DivergenceItem,
  SEVERIDADES,
  type Severidade,
  TIPOS,
  type TipoDivergencia,
} from '@recon/contracts';
import { isIsoDay } from '@recon/rules';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AdminDeps } from '../app.ts';
import { ROLE_RANK, requireRole } from '../auth.ts';
import { CSV_HEADER, csvRow } from '../csv.ts';
import { ApiError } from '../errors.ts';
import { maskItem } from '../masking.ts';
import { DATE, JOB_ID, RESPONSES } from '../schemas.ts';

const FILTER_PROPERTIES = {
  job_id: JOB_ID,
  dt_from: DATE,
  dt_to: DATE,
  tipo: { type: 'string', description: `comma-separated: ${TIPOS.join(', ')}, or TIPO_3 for all TIPO_3_*` },
  severidade: { type: 'string', description: `comma-separated: ${SEVERIDADES.join(', ')}` },
  fornecedor_id: { type: 'string', minLength: 1, maxLength: 200 },
  ordem_id: { type: 'string', minLength: 1, maxLength: 200 },
} as const;

export interface FilterQuery {
  job_id?: string;
  dt_from?: string;
  dt_to?: string;
  tipo?: string;
  severidade?: string;
  fornecedor_id?: string;
  ordem_id?: string;
}

function list<T extends string>(
  value: string | undefined,
  allowed: readonly T[],
  name: string,
): T[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const out: T[] = [];
  for (const raw of value.split(',')) {
    const v = raw.trim().toUpperCase();
    if (name === 'tipo' && v === 'TIPO_3') {
      out.push(...(allowed.filter((t) => t.startsWith('TIPO_3_')) as T[]));
      continue;
    }
    if (!(allowed as readonly string[]).includes(v)) {
      throw new ApiError(
        'INVALID_ARGUMENT',
        `${name}=${JSON.stringify(raw)}: expected one of ${allowed.join(', ')}`,
      );
    }
    out.push(v as T);
  }
  return [...new Set(out)];
}

/** The API's query parameters as a read-model filter (dates checked as real calendar days). */
export function filterOf(q: FilterQuery): DivergenceFilter {
  for (const [name, value] of [
    ['dt_from', q.dt_from],
    ['dt_to', q.dt_to],
  ] as const) {
    if (value !== undefined && !isIsoDay(value)) {
      throw new ApiError('INVALID_ARGUMENT', `${name}=${value} is not a calendar date (YYYY-MM-DD)`);
    }
  }
  if (q.dt_from !== undefined && q.dt_to !== undefined && q.dt_from > q.dt_to) {
    throw new ApiError('INVALID_ARGUMENT', `dt_from ${q.dt_from} is after dt_to ${q.dt_to}`);
  }
  const tipos = list<TipoDivergencia>(q.tipo, TIPOS, 'tipo');
  const severidades = list<Severidade>(q.severidade, SEVERIDADES, 'severidade');
  return {
    ...(q.job_id === undefined ? {} : { jobId: q.job_id }),
    ...(q.dt_from === undefined ? {} : { dtFrom: q.dt_from }),
    ...(q.dt_to === undefined ? {} : { dtTo: q.dt_to }),
    ...(tipos === undefined ? {} : { tipos }),
    ...(severidades === undefined ? {} : { severidades }),
    ...(q.fornecedor_id === undefined ? {} : { fornecedorId: q.fornecedor_id }),
    ...(q.ordem_id === undefined ? {} : { ordemId: q.ordem_id }),
  };
}

/** Viewers see `nome` masked; operators and admins in full. */
function viewFor(request: FastifyRequest): (item: DivergenceItem) => DivergenceItem {
  const role = request.principal?.role ?? 'viewer';
  return ROLE_RANK[role] >= ROLE_RANK.operator ? (item) => item : maskItem;
}

export function registerDivergenceRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const viewer = requireRole('viewer');

  app.get<{ Querystring: FilterQuery & { page?: number; cursor?: string } }>(
    '/v1/divergences',
    {
      preParsing: viewer,
      schema: {
        summary: 'Divergences, 100 per page (page number or cursor), newest reference date first',
        response: RESPONSES['GET /v1/divergences'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ...FILTER_PROPERTIES,
            page: { type: 'integer', minimum: 1, maximum: 1_000_000 },
            cursor: { type: 'string', maxLength: 500 },
          },
        },
      },
    },
    async (request) => {
      const { page, cursor, ...filters } = request.query;
      if (page !== undefined && cursor !== undefined) {
        throw new ApiError('INVALID_ARGUMENT', 'give either page or cursor, not both');
      }
      const result = await deps.readModel.divergences(
        filterOf(filters),
        cursor === undefined ? { page: page ?? 1 } : { cursor },
      );
      const view = viewFor(request);
      return { ...result, items: result.items.map(view) };
    },
  );

  app.get<{ Querystring: FilterQuery }>(
    '/v1/divergences.csv',
    {
      preParsing: viewer,
      schema: {
        summary:
          'Every matching divergence as CSV (;-separated, UTF-8), streamed; safe against formula injection',
        response: RESPONSES['GET /v1/divergences.csv'],
        querystring: { type: 'object', additionalProperties: false, properties: FILTER_PROPERTIES },
      },
    },
    async (request, reply) => {
      const filter = filterOf(request.query);
      const view = viewFor(request);
      const batches = deps.readModel.stream(filter);
      async function* lines(): AsyncGenerator<string> {
        // A BOM so spreadsheet programs read the accents as UTF-8.
        yield `\uFEFF${CSV_HEADER}`;
        for await (const batch of batches) {
          let text = '';
          for (const item of batch) text += csvRow(view(item));
          yield text;
        }
      }
      const day = filter.dtFrom === filter.dtTo && filter.dtFrom !== undefined ? `-${filter.dtFrom}` : '';
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="divergencias${day}.csv"`)
        .send(Readable.from(lines()));
    },
  );

  app.get<{ Querystring: FilterQuery }>(
    '/v1/stats',
    {
      preParsing: viewer,
      schema: {
        summary: "The dashboard's KPIs and series for the filters",
        response: RESPONSES['GET /v1/stats'],
        querystring: { type: 'object', additionalProperties: false, properties: FILTER_PROPERTIES },
      },
    },
    async (request) => deps.readModel.stats(filterOf(request.query)),
  );
}
