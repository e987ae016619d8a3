import { DuckDBInstance } from '@duckdb/node-api';
import type { DivergenceRow } from '@recon/contracts';

/** Every divergence column except the run-specific ones (job_id, timestamp), as DuckDB returns them. */
export type ParquetRow = Omit<DivergenceRow, 'job_id' | 'timestamp'>;

/** Reads Parquet files back with DuckDB (an independent reader), in file order. */
export async function readParquet(
  paths: readonly string[],
): Promise<{ rows: ParquetRow[]; jobIds: string[] }> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    const list = paths.map((p) => `'${p.replaceAll("'", "''")}'`).join(', ');
    const reader = await conn.runAndReadAll(`
      SELECT tipo_divergencia, severidade, ordem_id, fornecedor_id, nome, ativo_id,
             CAST(data AS VARCHAR) AS data, CAST(data_base AS VARCHAR) AS data_base,
             CAST(valor_csv AS VARCHAR) AS valor_csv, CAST(valor_base AS VARCHAR) AS valor_base,
             CAST(diferenca AS VARCHAR) AS diferenca, campo, detalhes, hash_linha, linha_arquivo, job_id
      FROM read_parquet([${list}])`);
    const raw = reader.getRowObjectsJson() as unknown as (ParquetRow & { job_id: string })[];
    const jobIds = [...new Set(raw.map((r) => r.job_id))];
    const rows = raw.map(({ job_id: _job, ...r }) => ({
      ...r,
      linha_arquivo: r.linha_arquivo === null ? null : Number(r.linha_arquivo),
    }));
    return { rows, jobIds };
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/** The Parquet schema as DuckDB sees it: column name → type. */
export async function parquetSchema(path: string): Promise<Record<string, string>> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    const reader = await conn.runAndReadAll(
      `DESCRIBE SELECT * FROM read_parquet('${path.replaceAll("'", "''")}')`,
    );
    const rows = reader.getRowObjectsJson() as { column_name: string; column_type: string }[];
    return Object.fromEntries(rows.map((r) => [r.column_name, r.column_type]));
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
