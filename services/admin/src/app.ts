import cookie from '@fastify/cookie';
import multipart from '@fastify/multipart';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { ApiKeyStore, PostgresReadModel } from '@recon/adapters/read-model';
import type { JobQueries, JobStatus, JobStore, ObjectStore, Scope } from '@recon/contracts';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyServerOptions,
  LogController,
} from 'fastify';
import { authenticate, SESSION_COOKIE, type SessionTokens } from './auth.ts';
import { ApiError, installErrorHandling } from './errors.ts';
import { registerDivergenceRoutes } from './routes/divergences.ts';
import { registerJobRoutes } from './routes/jobs.ts';
import { registerKeyRoutes } from './routes/keys.ts';
import { registerSessionRoutes } from './routes/session.ts';
import { registerSystemRoutes } from './routes/system.ts';

/** Starting, reprocessing and cancelling jobs: the runtime's side (embedded, or distributed). */
export interface JobControl {
  /** Starts a job for an object of the ingress store (an upload, or a file already there). */
  submit(input: SubmitInput): Promise<SubmitResult>;
  /** Resumes a job that ended without success from its checkpoint. */
  reprocess(jobId: string): Promise<{ jobId: string; status: JobStatus }>;
  /** Stops a running job (CANCELLED); false when it had already ended. */
  cancel(jobId: string, by: string): Promise<boolean>;
}

export interface SubmitInput {
  key: string;
  referenceDate?: string;
  scope?: Scope;
  force?: boolean;
}

export interface SubmitResult {
  jobId: string;
  status: JobStatus;
  alreadyReconciled: boolean;
}

export interface AdminDeps {
  readModel: PostgresReadModel;
  keys: ApiKeyStore;
  jobs: JobStore & JobQueries;
  /** The outputs (checkpoints are looked up here). */
  store: ObjectStore;
  /** Where uploads are written and named files are read. */
  ingress: ObjectStore;
  control: JobControl;
  sessions: SessionTokens;
  /** Prometheus exposition text. */
  metrics: () => Promise<string>;
  /** Extra readiness checks beside the job store, object store and read model. */
  readiness?: Record<string, () => Promise<void>>;
  /** Serves the dashboard at `/` (services/admin/dashboard). */
  dashboard?: (app: FastifyInstance) => Promise<void>;
}

export interface AdminOptions {
  /** Largest upload accepted, bytes (default 1 GiB). */
  uploadLimitBytes?: number;
  /** Requests per key (or per address when anonymous) per window (default 300 a minute). */
  rateLimit?: { max: number; windowMs: number };
  /** Mark the session cookie Secure (behind HTTPS, e.g. the ALB in AWS). */
  secureCookies?: boolean;
  /**
   * Proxies in front of the server that append the caller's address to `X-Forwarded-For` (the ALB
   * in AWS: 1). Default 0: the address is the connection's. Behind a proxy without this, every
   * anonymous caller had the proxy's address and one rate-limit budget for all of them.
   */
  trustProxyHops?: number;
  logger?: FastifyServerOptions['logger'];
  /**
   * A logger of the caller's (recon's JSON lines, `nome` masked) for the app's own lines: failed
   * requests (5xx) and what the server does on its own. Requests themselves are not logged.
   */
  loggerInstance?: FastifyBaseLogger;
}

export const DEFAULT_UPLOAD_LIMIT = 1 << 30;

/**
 * The admin API (docs/admin-api.md): Fastify with OpenAPI at /docs, coded JSON errors, API keys or
 * session cookies, role checks per route and a rate limit per key.
 */
export async function buildAdminApp(deps: AdminDeps, options: AdminOptions = {}): Promise<FastifyInstance> {
  const hops = options.trustProxyHops ?? 0;
  const app = Fastify({
    ...(options.loggerInstance === undefined
      ? { logger: options.logger ?? false }
      : {
          loggerInstance: options.loggerInstance,
          // Through a LogController: the top-level `disableRequestLogging` is deprecated
          // (FSTDEP023) and goes in Fastify 6.
          logController: new LogController({ disableRequestLogging: true }),
        }),
    // The `hops` proxies nearest the socket are trusted (proxy-addr asks hop by hop).
    trustProxy: hops > 0 ? (_address: string, hop: number) => hop < hops : false,
    // Unknown query parameters are an error, not silently dropped (a mistyped filter would
    // otherwise show every row).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array' } },
  });
  installErrorHandling(app);
  // Response schemas (schemas.ts) document the answers in the OpenAPI document; they do not
  // serialize them: a field a schema lacks is still sent, as JSON.stringify writes it.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  await app.register(cookie);
  await app.register(multipart, {
    limits: { fileSize: options.uploadLimitBytes ?? DEFAULT_UPLOAD_LIMIT, files: 1, fields: 10 },
  });
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'recon admin API',
        version: '1.0.0',
        description: 'Jobs, divergences and the dashboard of the daily reconciliation (docs/admin-api.md).',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key' },
          session: { type: 'apiKey', in: 'cookie', name: 'recon_session' },
        },
      },
      security: [{ bearer: [] }, { apiKey: [] }, { session: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  // Who is calling, for every route (the role checks come per route).
  app.addHook('onRequest', async (request, reply) => {
    const principal = await authenticate(request, deps.keys, deps.sessions);
    if (principal !== undefined) request.principal = principal;
    else if (request.staleSession !== undefined) void reply.clearCookie(SESSION_COOKIE, { path: '/' });
  });
  const limit = options.rateLimit ?? { max: 300, windowMs: 60_000 };
  await app.register(rateLimit, {
    global: true,
    max: limit.max,
    timeWindow: limit.windowMs,
    // After authentication (a global onRequest hook, run first): the budget is the key's, wherever
    // it calls from, else the address's. Before the role checks (preParsing), so refused requests
    // (no key, a wrong one) count too.
    hook: 'onRequest',
    keyGenerator: (request) =>
      request.principal === undefined ? `ip:${request.ip}` : `key:${request.principal.keyId}`,
    allowList: (request) => ['/health', '/ready', '/metrics'].includes(request.url.split('?')[0] ?? ''),
    errorResponseBuilder: (_request, context) =>
      new ApiError(
        'RATE_LIMITED',
        `rate limit of ${context.max} requests per window reached; retry after ${context.after}`,
      ),
  });

  registerSystemRoutes(app, deps);
  registerSessionRoutes(app, deps, { secureCookies: options.secureCookies ?? false });
  registerJobRoutes(app, deps);
  registerDivergenceRoutes(app, deps);
  registerKeyRoutes(app, deps);
  if (deps.dashboard !== undefined) await deps.dashboard(app);
  return app;
}
