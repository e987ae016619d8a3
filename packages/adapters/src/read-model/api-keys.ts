import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ReconError } from '@recon/contracts';
import type { PostgresReadModel } from './postgres.ts';

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface ApiKeyRecord {
  id: string;
  name: string;
  role: Role;
  created_at: string;
  revoked_at: string | null;
  last_used_at: string | null;
}

const KEY_PATTERN = /^rk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Splits `rk_<id>_<secret>`; undefined when the text is not shaped like a key. */
export function parseApiKey(key: string): { id: string; secret: string } | undefined {
  const m = KEY_PATTERN.exec(key);
  return m === null ? undefined : { id: m[1]!, secret: m[2]! };
}

/**
 * API keys in the read model's database: a key is `rk_<id>_<secret>`, shown once at creation;
 * only the SHA-256 of its secret is stored (a 256-bit random secret needs no slow hash).
 */
export class ApiKeyStore {
  constructor(private readonly db: PostgresReadModel) {}

  async create(role: Role, name: string): Promise<{ record: ApiKeyRecord; key: string }> {
    if (!(ROLES as readonly string[]).includes(role)) {
      throw new ReconError(
        'INVALID_ARGUMENT',
        `role ${JSON.stringify(role)}: expected one of ${ROLES.join(', ')}`,
      );
    }
    const id = randomBytes(6).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const rows = await this.db.query(
      `INSERT INTO recon_api_keys (id, name, role, secret_sha256) VALUES ($1, $2, $3, $4)
       RETURNING ${RECORD_COLUMNS}`,
      [id, name, role, sha256(secret).toString('hex')],
    );
    return { record: toRecord(rows[0]!), key: `rk_${id}_${secret}` };
  }

  async list(): Promise<ApiKeyRecord[]> {
    const rows = await this.db.query(`SELECT ${RECORD_COLUMNS} FROM recon_api_keys ORDER BY created_at, id`);
    return rows.map(toRecord);
  }

  async count(): Promise<number> {
    const rows = await this.db.query('SELECT count(*) AS n FROM recon_api_keys WHERE revoked_at IS NULL');
    return Number(rows[0]?.n ?? 0);
  }

  /** Revokes a key; false when no such active key. */
  async revoke(id: string): Promise<boolean> {
    const rows = await this.db.query(
      'UPDATE recon_api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id',
      [id],
    );
    return rows.length === 1;
  }

  /** The active key this text is, or undefined (unknown, revoked, or a wrong secret). */
  async verify(key: string): Promise<ApiKeyRecord | undefined> {
    const parsed = parseApiKey(key);
    if (parsed === undefined) return undefined;
    const rows = await this.db.query(
      `UPDATE recon_api_keys SET last_used_at = now() WHERE id = $1 AND revoked_at IS NULL
       RETURNING ${RECORD_COLUMNS}, secret_sha256`,
      [parsed.id],
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    const stored = Buffer.from(row.secret_sha256 as string, 'hex');
    const given = sha256(parsed.secret);
    return stored.length === given.length && timingSafeEqual(stored, given) ? toRecord(row) : undefined;
  }

  /** The key by id if it is still active (session tokens are checked against it). */
  async active(id: string): Promise<ApiKeyRecord | undefined> {
    const rows = await this.db.query(
      `SELECT ${RECORD_COLUMNS} FROM recon_api_keys WHERE id = $1 AND revoked_at IS NULL`,
      [id],
    );
    return rows[0] === undefined ? undefined : toRecord(rows[0]);
  }

  /**
   * A secret shared by every instance of the admin server (the session tokens' HMAC key): read,
   * or created once (the first instance to insert it wins).
   */
  async secret(name: string): Promise<Buffer> {
    await this.db.query(
      'INSERT INTO recon_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING',
      [name, randomBytes(32).toString('base64url')],
    );
    const rows = await this.db.query('SELECT value FROM recon_secrets WHERE name = $1', [name]);
    return Buffer.from(rows[0]!.value as string, 'base64url');
  }
}

const RECORD_COLUMNS = `id, name, role,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at,
  to_char(revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS revoked_at,
  to_char(last_used_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS last_used_at`;

function toRecord(r: Record<string, unknown>): ApiKeyRecord {
  return {
    id: r.id as string,
    name: r.name as string,
    role: r.role as Role,
    created_at: r.created_at as string,
    revoked_at: (r.revoked_at as string | null) ?? null,
    last_used_at: (r.last_used_at as string | null) ?? null,
  };
}
