import { ROLES, type Role } from '@recon/adapters/read-model';
import type { FastifyInstance } from 'fastify';
import type { AdminDeps } from '../app.ts';
import { requireRole } from '../auth.ts';
import { ApiError } from '../errors.ts';
import { RESPONSES } from '../schemas.ts';

export function registerKeyRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const admin = requireRole('admin');
  app.get(
    '/v1/keys',
    {
      preParsing: admin,
      schema: { summary: 'List API keys (never their secrets)', response: RESPONSES['GET /v1/keys'] },
    },
    async () => ({
      items: await deps.keys.list(),
    }),
  );

  app.post<{ Body: { role: Role; name?: string } }>(
    '/v1/keys',
    {
      preParsing: admin,
      schema: {
        summary: 'Create an API key; the key is shown in this answer only',
        response: RESPONSES['POST /v1/keys'],
        body: {
          type: 'object',
          required: ['role'],
          additionalProperties: false,
          properties: {
            role: { type: 'string', enum: [...ROLES] },
            name: { type: 'string', minLength: 1, maxLength: 100 },
          },
        },
      },
    },
    async (request, reply) => {
      const { record, key } = await deps.keys.create(
        request.body.role,
        request.body.name ?? `created by ${request.principal!.keyId}`,
      );
      return reply.status(201).send({ ...record, key });
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/keys/:id',
    {
      preParsing: admin,
      schema: {
        summary: 'Revoke an API key (its sessions end too)',
        response: RESPONSES['DELETE /v1/keys/:id'],
      },
    },
    async (request, reply) => {
      if (!(await deps.keys.revoke(request.params.id))) {
        throw new ApiError('NOT_FOUND', `no active API key ${request.params.id}`);
      }
      return reply.status(204).send();
    },
  );
}
