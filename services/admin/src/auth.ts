import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ApiKeyRecord, ApiKeyStore, Role } from '@recon/adapters/read-model';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from './errors.ts';

export const ROLE_RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };
export const SESSION_COOKIE = 'recon_session';
export const SESSION_HOURS = 8;

/** Who is calling: the API key (directly, or through a session token signed for it). */
export interface Principal {
  keyId: string;
  name: string;
  role: Role;
  via: 'key' | 'session';
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
    /** Why the session cookie sent was not taken (it is cleared then), for the 401 of a route that needs one. */
    staleSession?: string;
    /** Why the API key sent was not taken, for the 401 of a route that needs one. */
    badApiKey?: string;
  }
}

/**
 * Session tokens: `<payload>.<signature>`, both base64url; payload `{ kid, role, exp }` (exp in
 * epoch seconds), signature HMAC-SHA256 over the payload text with the server's secret.
 */
export class SessionTokens {
  constructor(
    private readonly secret: Buffer,
    private readonly now: () => Date = () => new Date(),
  ) {}

  sign(key: Pick<ApiKeyRecord, 'id' | 'role'>, hours = SESSION_HOURS): { token: string; expiresAt: Date } {
    const expiresAt = new Date(this.now().getTime() + hours * 3_600_000);
    const payload = Buffer.from(
      JSON.stringify({ kid: key.id, role: key.role, exp: Math.floor(expiresAt.getTime() / 1000) }),
    ).toString('base64url');
    return { token: `${payload}.${this.mac(payload)}`, expiresAt };
  }

  /** The key id and role of a valid, unexpired token; undefined otherwise. */
  verify(token: string): { kid: string; role: Role } | undefined {
    const [payload, signature, extra] = token.split('.');
    if (payload === undefined || signature === undefined || extra !== undefined) return undefined;
    const expected = Buffer.from(this.mac(payload), 'utf8');
    const given = Buffer.from(signature, 'utf8');
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
    try {
      const body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
        kid?: unknown;
        role?: unknown;
        exp?: unknown;
      };
      if (typeof body.kid !== 'string' || typeof body.role !== 'string' || typeof body.exp !== 'number')
        return undefined;
      if (body.exp * 1000 <= this.now().getTime()) return undefined;
      if (!(body.role in ROLE_RANK)) return undefined;
      return { kid: body.kid, role: body.role as Role };
    } catch {
      return undefined;
    }
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.secret).update(payload).digest('base64url');
  }
}

/** Reads the caller's credentials: `Authorization: Bearer`, `X-Api-Key`, or the session cookie. */
export async function authenticate(
  request: FastifyRequest,
  keys: ApiKeyStore,
  sessions: SessionTokens,
): Promise<Principal | undefined> {
  const header = request.headers.authorization;
  const apiKey =
    typeof header === 'string' && /^Bearer\s+/i.test(header)
      ? header.replace(/^Bearer\s+/i, '').trim()
      : typeof request.headers['x-api-key'] === 'string'
        ? request.headers['x-api-key'].trim()
        : undefined;
  if (apiKey !== undefined) {
    const record = await keys.verify(apiKey);
    if (record === undefined) {
      // Refused by the route's role check, after the rate limit has counted the attempt.
      request.badApiKey = 'the API key is unknown, malformed or revoked';
      return undefined;
    }
    return { keyId: record.id, name: record.name, role: record.role, via: 'key' };
  }
  // A session that no longer holds (expired, signed with another secret, its key revoked) is no
  // session: the caller is anonymous, so the dashboard still loads and signing in again works; a
  // route that needs a role says why in its 401.
  const cookie = request.cookies?.[SESSION_COOKIE];
  if (cookie !== undefined && cookie !== '') {
    const claim = sessions.verify(cookie);
    if (claim === undefined) {
      request.staleSession = 'the session expired or is invalid: sign in again';
      return undefined;
    }
    // A revoked key's sessions end with it; a key's role is the one it has now.
    const record = await keys.active(claim.kid);
    if (record === undefined) {
      request.staleSession = 'the key of this session was revoked: sign in again';
      return undefined;
    }
    return { keyId: record.id, name: record.name, role: record.role, via: 'session' };
  }
  return undefined;
}

/**
 * A route hook that lets through callers with at least `role`. Routes run it at `preParsing`:
 * after the rate limit (onRequest) has counted the request, before a body is parsed, so a caller
 * without the role gets 401/403 whatever it sent.
 */
export function requireRole(role: Role) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const p = request.principal;
    if (p === undefined) {
      throw new ApiError(
        'UNAUTHORIZED',
        request.badApiKey ??
          request.staleSession ??
          'credentials required: send "Authorization: Bearer <api key>" or sign in at POST /v1/session',
      );
    }
    if (ROLE_RANK[p.role] < ROLE_RANK[role]) {
      throw new ApiError('FORBIDDEN', `this needs the ${role} role; the key ${p.keyId} has ${p.role}`);
    }
  };
}
