import { type Kysely, sql } from 'kysely';

/**
 * The read model's first schema: each finished job's divergences and aggregates, API keys and
 * the admin server's secrets. Frozen once released (see the job store's migrations).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE recon_job_reports (
      job_id text PRIMARY KEY,
      dt date NOT NULL,
      status text NOT NULL,
      file_sha256 text,
      total_lines bigint NOT NULL,
      valid_lines bigint NOT NULL,
      invalid_lines bigint NOT NULL,
      base_rows bigint NOT NULL,
      matched bigint NOT NULL,
      divergences bigint NOT NULL,
      distinct_orders bigint NOT NULL,
      divergent_orders bigint NOT NULL,
      summary jsonb NOT NULL,
      started_at timestamptz NOT NULL,
      finished_at timestamptz NOT NULL,
      loaded_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX recon_job_reports_dt_idx ON recon_job_reports (dt, finished_at DESC, job_id DESC)`.execute(
    db,
  );
  // seq: the row's place in the job's Parquet order (tipo_divergencia, ordem_id).
  await sql`
    CREATE TABLE recon_divergences (
      job_id text NOT NULL REFERENCES recon_job_reports (job_id) ON DELETE CASCADE,
      seq integer NOT NULL,
      dt date NOT NULL,
      tipo_divergencia text NOT NULL,
      severidade text NOT NULL,
      ordem_id text NOT NULL,
      fornecedor_id text NOT NULL,
      nome text NOT NULL,
      ativo_id text NOT NULL,
      data date NOT NULL,
      data_base date,
      valor_csv numeric(18, 2),
      valor_base numeric(18, 2),
      diferenca numeric(18, 2),
      campo text,
      detalhes text NOT NULL,
      hash_linha text NOT NULL,
      linha_arquivo integer,
      "timestamp" timestamptz NOT NULL,
      PRIMARY KEY (job_id, seq)
    )`.execute(db);
  await sql`CREATE INDEX recon_divergences_job_tipo_idx ON recon_divergences (job_id, tipo_divergencia, severidade)`.execute(
    db,
  );
  await sql`CREATE INDEX recon_divergences_fornecedor_idx ON recon_divergences (fornecedor_id, job_id)`.execute(
    db,
  );
  await sql`CREATE INDEX recon_divergences_ordem_idx ON recon_divergences (ordem_id)`.execute(db);
  await sql`
    CREATE TABLE recon_api_keys (
      id text PRIMARY KEY,
      name text NOT NULL,
      role text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
      secret_sha256 text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      revoked_at timestamptz,
      last_used_at timestamptz
    )`.execute(db);
  await sql`
    CREATE TABLE recon_secrets (
      name text PRIMARY KEY,
      value text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE recon_secrets, recon_api_keys, recon_divergences, recon_job_reports`.execute(db);
}
