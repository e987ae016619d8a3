import type { FastifyInstance } from 'fastify';
import type { AdminDeps } from '../app.ts';
import { requireRole, SESSION_COOKIE, SESSION_HOURS } from '../auth.ts';
import { ApiError } from '../errors.ts';
import { RESPONSES } from '../schemas.ts';

export function registerSessionRoutes(
  app: FastifyInstance,
  deps: AdminDeps,
  options: { secureCookies: boolean },
): void {
  app.post<{ Body: { api_key: string } }>(
    '/v1/session',
    {
      schema: {
        summary: 'Sign in with an API key: sets the session cookie (the dashboard uses it)',
        security: [],
        response: RESPONSES['POST /v1/session'],
        body: {
          type: 'object',
          required: ['api_key'],
          additionalProperties: false,
          properties: { api_key: { type: 'string', minLength: 1, maxLength: 200 } },
        },
      },
    },
    async (request, reply) => {
      const record = await deps.keys.verify(request.body.api_key.trim());
      if (record === undefined)
        throw new ApiError('UNAUTHORIZED', 'the API key is unknown, malformed or revoked');
      const { token, expiresAt } = deps.sessions.sign(record);
      void reply.setCookie(SESSION_COOKIE, token, {
        httpOnly: true,
        sameSite: 'strict',
        secure: options.secureCookies,
        path: '/',
        maxAge: SESSION_HOURS * 3600,
      });
      return { role: record.role, key_id: record.id, name: record.name, expires_at: expiresAt.toISOString() };
    },
  );

  app.delete(
    '/v1/session',
    { schema: { summary: 'Sign out', security: [], response: RESPONSES['DELETE /v1/session'] } },
    async (_request, reply) => {
      void reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.status(204).send();
    },
  );

  app.get(
    '/v1/me',
    {
      preParsing: requireRole('viewer'),
      schema: { summary: 'Who is calling (role, key id)', response: RESPONSES['GET /v1/me'] },
    },
    async (request) => ({
      role: request.principal!.role,
      key_id: request.principal!.keyId,
      name: request.principal!.name,
    }),
  );
}
