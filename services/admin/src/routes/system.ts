import type { FastifyInstance } from 'fastify';
import type { AdminDeps } from '../app.ts';
import { RESPONSES } from '../schemas.ts';

const NO_AUTH = { security: [] as never[] };

export function registerSystemRoutes(app: FastifyInstance, deps: AdminDeps): void {
  app.get(
    '/health',
    { schema: { ...NO_AUTH, summary: 'Liveness: the process is up', response: RESPONSES['GET /health'] } },
    async () => ({
      status: 'ok',
    }),
  );

  app.get(
    '/ready',
    {
      schema: {
        ...NO_AUTH,
        summary: 'Readiness: job store, object store and read model answer',
        response: RESPONSES['GET /ready'],
      },
    },
    async (_request, reply) => {
      const checks: Record<string, () => Promise<unknown>> = {
        job_store: () => deps.jobs.listJobs({ offset: 0, limit: 1 }),
        object_store: () => deps.store.list('jobs/__ready__'),
        read_model: () => deps.readModel.ping(),
        ...deps.readiness,
      };
      const results: Record<string, string> = {};
      let ok = true;
      await Promise.all(
        Object.entries(checks).map(async ([name, check]) => {
          try {
            await check();
            results[name] = 'ok';
          } catch (error) {
            ok = false;
            results[name] = `failed: ${error instanceof Error ? error.message : String(error)}`;
          }
        }),
      );
      return reply.status(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not ready', checks: results });
    },
  );

  app.get(
    '/metrics',
    { schema: { ...NO_AUTH, summary: 'Prometheus metrics', response: RESPONSES['GET /metrics'] } },
    async (_request, reply) =>
      reply.type('text/plain; version=0.0.4; charset=utf-8').send(await deps.metrics()),
  );
}
