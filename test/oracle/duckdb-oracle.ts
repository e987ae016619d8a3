/**
 * An independent implementation of RULES.md §2–§5 in DuckDB SQL, used as a test oracle.
 *
 * Both CSVs are read by DuckDB's own CSV reader as all-VARCHAR; every normalization step
 * (trim, NFC, valor grammar with half-even rounding on exact integers, date formats, duplicate
 * detection, date-window scope, classification, severity, hash) is SQL. TypeScript only builds
 * the statements, maps the header names and reads the result.
 *
 * Deliberate limits (the generator never produces these):
 * - no multi-line quoted records, and no line numbers (`linha_arquivo` is not computed);
 * - every record DuckDB's reader itself refuses (wrong number of fields, broken quoting) is
 *   counted as FIELD_COUNT;
 * - no BOM / invalid-UTF-8 / empty-file handling; a header problem throws.
 *
 * Semantics chosen where RULES leaves room (documented so they can be compared with the product):
 * - valor grammar: optional `-`, then digit groups separated by single `.`/`,` (a separator
 *   must sit between digits: `1234.`, `.5`, `1..2`, `+5`, `1e5` are INVALID_VALOR); more than
 *   16 integer digits (does not fit decimal(18,2)) is INVALID_VALOR; `-0.00` is `0.00`.
 *   When both kinds occur the last separator is the decimal one and all others are grouping,
 *   without checking group sizes.
 * - data: exactly `\d{4}-\d{2}-\d{2}` or `\d{2}/\d{2}/\d{4}` (two-digit day/month), then a real
 *   calendar date.
 * - reject precedence: FIELD_COUNT, MISSING_ORDEM_ID, INVALID_DATE, INVALID_VALOR; duplicates
 *   are looked for among the lines that passed those checks (an invalid first line does not
 *   make a later valid line a duplicate).
 * - date-window scope: window = [min, max] of `data` over the valid (deduplicated) vendor lines;
 *   "ordem_id appears in the vendor file" = among the valid vendor lines.
 * - base CSV: same parsing; malformed base rows are dropped, a repeated base ordem_id keeps its
 *   first row (RULES says it is unique there).
 */
import { DuckDBInstance } from '@duckdb/node-api';

export type OracleScope = 'date-window' | 'all';

export interface OracleRow {
  tipo_divergencia: string;
  ordem_id: string;
  severidade: string;
  campo: string | null;
  fornecedor_id: string;
  nome: string;
  ativo_id: string;
  data: string;
  data_base: string | null;
  valor_csv: string | null;
  valor_base: string | null;
  diferenca: string | null;
  hash_linha: string;
}

export interface OracleResult {
  rows: OracleRow[];
  validLines: number;
  invalidLines: number;
  /** Rejected vendor lines per reason code. */
  rejects: Record<string, number>;
  /** Base rows in scope. */
  baseRows: number;
  /** Valid vendor lines whose ordem_id is in the base. */
  matched: number;
  /** Distinct ordem_ids over valid vendor lines ∪ in-scope base rows. */
  distinctOrders: number;
  /** Distinct ordem_ids with at least one divergence. */
  divergentOrders: number;
}

const CANONICAL = ['fornecedor_id', 'ordem_id', 'nome', 'ativo_id', 'data', 'valor'] as const;

function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

function ident(s: string): string {
  return `"${s.replaceAll('"', '""')}"`;
}

/** Helpers shared by both sides; all exact (VARCHAR / BIGINT), never DOUBLE. */
const MACROS = [
  // Trim spaces and tabs, then NFC. NULL (DuckDB's empty unquoted field) becomes ''.
  String.raw`CREATE OR REPLACE MACRO o_text(x) AS nfc_normalize(trim(coalesce(x, ''), e' \t'))`,
  String.raw`CREATE OR REPLACE MACRO o_date(x) AS (
    CASE
      WHEN regexp_full_match(trim(coalesce(x, ''), e' \t'), '[0-9]{4}-[0-9]{2}-[0-9]{2}')
        THEN CAST(try_strptime(trim(x, e' \t'), '%Y-%m-%d') AS DATE)
      WHEN regexp_full_match(trim(coalesce(x, ''), e' \t'), '[0-9]{2}/[0-9]{2}/[0-9]{4}')
        THEN CAST(try_strptime(trim(x, e' \t'), '%d/%m/%Y') AS DATE)
    END)`,
  // Canonical two-decimal string of an integer number of cents.
  `CREATE OR REPLACE MACRO o_money(c) AS (
    CASE WHEN c IS NULL THEN NULL ELSE
      (CASE WHEN c < 0 THEN '-' ELSE '' END) || CAST(abs(c) // 100 AS VARCHAR) || '.' ||
      lpad(CAST(abs(c) % 100 AS VARCHAR), 2, '0')
    END)`,
];

/**
 * SELECT list turning a raw table (columns f,o,n,a,d,v as VARCHAR, rn = file order) into
 * parsed fields. valor → exact cents (BIGINT), step by step:
 *   s      trimmed text; neg = leading '-'; body = rest
 *   ok     body is digit groups separated by single '.' or ','
 *   has_dec: both kinds occur, or exactly one separator in total
 *   int_raw/frac: split at the LAST separator when has_dec (greedy regex), else all integer
 *   cents  = int digits ‖ first two fraction digits (right-padded), then + 1 when the rest of the
 *            fraction is > half, or == half and the cents are odd (half-to-even), else + 0.
 */
function parseStage(raw: string): string {
  return `
  WITH s0 AS (
    SELECT rn, f, o, n, a, d, v,
      o_text(o) AS ordem_id, o_text(f) AS fornecedor_id, o_text(n) AS nome, o_text(a) AS ativo_id,
      o_date(d) AS data,
      trim(coalesce(v, ''), e' \\t') AS vs
    FROM ${raw}
  ), s1 AS (
    SELECT *, starts_with(vs, '-') AS neg,
      CASE WHEN starts_with(vs, '-') THEN substr(vs, 2) ELSE vs END AS body
    FROM s0
  ), s2 AS (
    SELECT *,
      regexp_full_match(body, '[0-9]+([.,][0-9]+)*') AS ok,
      length(body) - length(replace(body, '.', '')) AS ndots,
      length(body) - length(replace(body, ',', '')) AS ncommas
    FROM s1
  ), s3 AS (
    SELECT *, ok AND ((ndots > 0 AND ncommas > 0) OR ndots + ncommas = 1) AS has_dec FROM s2
  ), s4 AS (
    SELECT *,
      CASE WHEN has_dec THEN regexp_extract(body, '^(.*)[.,]([0-9]+)$', 1) ELSE body END AS int_raw,
      CASE WHEN has_dec THEN regexp_extract(body, '^(.*)[.,]([0-9]+)$', 2) ELSE '' END AS frac
    FROM s3
  ), s5 AS (
    SELECT *,
      ltrim(regexp_replace(int_raw, '[.,]', '', 'g'), '0') AS int_digits,
      rpad(left(frac, 2), 2, '0') AS frac2,
      substr(frac, 3) AS rest
    FROM s4
  ), s6 AS (
    SELECT *,
      CASE WHEN ok AND length(int_digits) <= 16
        THEN CAST((CASE WHEN int_digits = '' THEN '0' ELSE int_digits END) || frac2 AS BIGINT)
      END AS trunc_cents
    FROM s5
  ), s7 AS (
    SELECT *,
      CASE
        WHEN trunc_cents IS NULL THEN NULL
        WHEN regexp_full_match(rest, '0*') THEN trunc_cents
        WHEN left(rest, 1) > '5' THEN trunc_cents + 1
        WHEN left(rest, 1) < '5' THEN trunc_cents
        WHEN NOT regexp_full_match(substr(rest, 2), '0*') THEN trunc_cents + 1
        WHEN trunc_cents % 2 = 1 THEN trunc_cents + 1
        ELSE trunc_cents
      END AS abs_cents
    FROM s6
  )
  SELECT rn, ordem_id, fornecedor_id, nome, ativo_id, data,
    CASE WHEN abs_cents IS NULL THEN NULL WHEN neg THEN -abs_cents ELSE abs_cents END AS cents
  FROM s7`;
}

/** Reads a CSV into `<name>_raw(rn, f, o, n, a, d, v)` in file order; returns its reader-level rejects. */
async function load(
  conn: Awaited<ReturnType<DuckDBInstance['connect']>>,
  path: string,
  name: string,
): Promise<number> {
  // File order: the reader runs single-threaded (parallel=false) and, with
  // preserve_insertion_order (set explicitly below), a single-table scan keeps the file's row
  // order, which `row_number() OVER ()` turns into an explicit column (DuckDB's documented
  // order-preservation guarantee). The duplicate test in oracle.test.ts would catch a violation:
  // the generator's later duplicates carry a different valor.
  await conn.run(`
    CREATE OR REPLACE TABLE ${name}_csv AS
    SELECT row_number() OVER () AS rn, *
    FROM read_csv(${sqlString(path)}, delim = ';', quote = '"', escape = '"', header = true,
      all_varchar = true, parallel = false, ignore_errors = true, store_rejects = true,
      rejects_table = '${name}_rej', rejects_scan = '${name}_scan')`);
  const described = (await conn.runAndReadAll(`DESCRIBE ${name}_csv`)).getRowObjectsJson();
  const byCanonical = new Map<string, string>();
  const unknown: string[] = [];
  for (const r of described) {
    const col = String(r.column_name);
    if (col === 'rn') continue;
    const key = col.trim().toLowerCase();
    if ((CANONICAL as readonly string[]).includes(key) && !byCanonical.has(key)) byCanonical.set(key, col);
    else unknown.push(col);
  }
  const missing = CANONICAL.filter((c) => !byCanonical.has(c));
  if (missing.length > 0 || unknown.length > 0) {
    throw new Error(`${path}: header missing [${missing.join(', ')}], unknown [${unknown.join(', ')}]`);
  }
  const c = (k: (typeof CANONICAL)[number]) => ident(byCanonical.get(k) as string);
  await conn.run(`
    CREATE OR REPLACE TABLE ${name}_raw AS
    SELECT rn, ${c('fornecedor_id')} AS f, ${c('ordem_id')} AS o, ${c('nome')} AS n,
      ${c('ativo_id')} AS a, ${c('data')} AS d, ${c('valor')} AS v
    FROM ${name}_csv`);
  // One reader-level reject can be reported several times (once per missing column).
  const rej = await conn.runAndReadAll(`SELECT count(DISTINCT line) AS n FROM ${name}_rej`);
  return Number(rej.getRowObjectsJson()[0]?.n ?? 0);
}

export async function oracleReconcile(opts: {
  vendorCsv: string;
  baseCsv: string;
  scope: OracleScope;
}): Promise<OracleResult> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    await conn.run('SET preserve_insertion_order = true');
    for (const m of MACROS) await conn.run(m);
    const fieldCountRejects = await load(conn, opts.vendorCsv, 'vendor');
    await load(conn, opts.baseCsv, 'base');

    // Vendor: parse, assign the first failing reason, then first-occurrence dedupe.
    await conn.run(`
      CREATE TABLE vendor_parsed AS
      WITH p AS (${parseStage('vendor_raw')}),
      r AS (
        SELECT *, CASE
          WHEN ordem_id = '' THEN 'MISSING_ORDEM_ID'
          WHEN data IS NULL THEN 'INVALID_DATE'
          WHEN cents IS NULL THEN 'INVALID_VALOR'
        END AS reason
        FROM p
      )
      SELECT *,
        CASE WHEN reason IS NULL AND row_number() OVER (PARTITION BY reason IS NULL, ordem_id ORDER BY rn) > 1
          THEN 'DUPLICATE_ORDEM_ID' ELSE reason END AS motivo
      FROM r`);
    await conn.run(`CREATE TABLE v AS SELECT * FROM vendor_parsed WHERE motivo IS NULL`);
    await conn.run(`
      CREATE TABLE b_all AS
      WITH p AS (${parseStage('base_raw')})
      SELECT * FROM p
      WHERE ordem_id <> '' AND data IS NOT NULL AND cents IS NOT NULL
      QUALIFY row_number() OVER (PARTITION BY ordem_id ORDER BY rn) = 1`);

    // RULES §5 scope.
    const scopeFilter =
      opts.scope === 'all'
        ? 'TRUE'
        : `(b.data BETWEEN (SELECT min(data) FROM v) AND (SELECT max(data) FROM v))
           OR b.ordem_id IN (SELECT ordem_id FROM v)`;
    await conn.run(`CREATE TABLE b AS SELECT * FROM b_all b WHERE ${scopeFilter}`);

    // RULES §4 classification, one row per differing field; §6 columns.
    await conn.run(`
      CREATE TABLE div AS
      WITH m AS (
        SELECT v.ordem_id,
          v.fornecedor_id AS vf, v.nome AS vn, v.ativo_id AS va, v.data AS vd, v.cents AS vc,
          b.fornecedor_id AS bf, b.nome AS bn, b.ativo_id AS ba, b.data AS bd, b.cents AS bc
        FROM v JOIN b ON v.ordem_id = b.ordem_id
      ), t3 AS (
        SELECT 'TIPO_3_VALOR' AS tipo, 'valor' AS campo, * FROM m WHERE vc <> bc
        UNION ALL SELECT 'TIPO_3_DATA', 'data', * FROM m WHERE vd <> bd
        UNION ALL SELECT 'TIPO_3_NOME', 'nome', * FROM m WHERE vn <> bn
        UNION ALL SELECT 'TIPO_3_ATIVO', 'ativo_id', * FROM m WHERE va <> ba
        UNION ALL SELECT 'TIPO_3_FORNECEDOR', 'fornecedor_id', * FROM m WHERE vf <> bf
      ), all_rows AS (
        SELECT 'TIPO_1' AS tipo, NULL AS campo, v.ordem_id,
          v.fornecedor_id AS vf, v.nome AS vn, v.ativo_id AS va, v.data AS vd, v.cents AS vc,
          NULL AS bf, NULL AS bn, NULL AS ba, NULL::DATE AS bd, NULL::BIGINT AS bc
        FROM v ANTI JOIN b ON v.ordem_id = b.ordem_id
        UNION ALL
        SELECT 'TIPO_2', NULL, b.ordem_id, NULL, NULL, NULL, NULL::DATE, NULL::BIGINT,
          b.fornecedor_id, b.nome, b.ativo_id, b.data, b.cents
        FROM b ANTI JOIN v ON v.ordem_id = b.ordem_id
        UNION ALL
        SELECT tipo, campo, ordem_id, vf, vn, va, vd, vc, bf, bn, ba, bd, bc FROM t3
      )
      SELECT
        tipo AS tipo_divergencia,
        ordem_id,
        CASE
          WHEN tipo IN ('TIPO_1', 'TIPO_2') THEN 'HIGH'
          WHEN tipo = 'TIPO_3_VALOR' THEN
            CASE WHEN abs(vc - bc) >= 100000 THEN 'HIGH' WHEN abs(vc - bc) >= 100 THEN 'MEDIUM' ELSE 'LOW' END
          WHEN tipo IN ('TIPO_3_DATA', 'TIPO_3_FORNECEDOR') THEN 'MEDIUM'
          ELSE 'LOW'
        END AS severidade,
        campo,
        coalesce(vf, bf) AS fornecedor_id,
        coalesce(vn, bn) AS nome,
        coalesce(va, ba) AS ativo_id,
        strftime(coalesce(vd, bd), '%Y-%m-%d') AS data,
        strftime(bd, '%Y-%m-%d') AS data_base,
        o_money(vc) AS valor_csv,
        o_money(bc) AS valor_base,
        o_money(vc - bc) AS diferenca,
        CASE WHEN tipo = 'TIPO_2'
          THEN sha256(bf || ';' || ordem_id || ';' || bn || ';' || ba || ';' || strftime(bd, '%Y-%m-%d') || ';' || o_money(bc))
          ELSE sha256(vf || ';' || ordem_id || ';' || vn || ';' || va || ';' || strftime(vd, '%Y-%m-%d') || ';' || o_money(vc))
        END AS hash_linha
      FROM all_rows`);

    const rows = (
      await conn.runAndReadAll(`
        SELECT tipo_divergencia, ordem_id, severidade, campo, fornecedor_id, nome, ativo_id, data,
          data_base, valor_csv, valor_base, diferenca, hash_linha
        FROM div ORDER BY tipo_divergencia, ordem_id`)
    ).getRowObjectsJson() as unknown as OracleRow[];

    const stats = (
      await conn.runAndReadAll(`
        SELECT
          (SELECT count(*) FROM v) AS valid,
          (SELECT count(*) FROM vendor_parsed WHERE motivo IS NOT NULL) AS invalid,
          (SELECT count(*) FROM b) AS base_rows,
          (SELECT count(*) FROM v SEMI JOIN b ON v.ordem_id = b.ordem_id) AS matched,
          (SELECT count(*) FROM (SELECT ordem_id FROM v UNION SELECT ordem_id FROM b)) AS distinct_orders,
          (SELECT count(DISTINCT ordem_id) FROM div) AS divergent_orders`)
    ).getRowObjectsJson()[0];
    const reasons = (
      await conn.runAndReadAll(
        `SELECT motivo, count(*) AS n FROM vendor_parsed WHERE motivo IS NOT NULL GROUP BY motivo`,
      )
    ).getRowObjectsJson();

    const rejects: Record<string, number> = {
      FIELD_COUNT: fieldCountRejects,
      MISSING_ORDEM_ID: 0,
      INVALID_DATE: 0,
      INVALID_VALOR: 0,
      DUPLICATE_ORDEM_ID: 0,
    };
    for (const r of reasons) rejects[String(r.motivo)] = Number(r.n);
    return {
      rows,
      validLines: Number(stats?.valid),
      invalidLines: Number(stats?.invalid) + fieldCountRejects,
      rejects,
      baseRows: Number(stats?.base_rows),
      matched: Number(stats?.matched),
      distinctOrders: Number(stats?.distinct_orders),
      divergentOrders: Number(stats?.divergent_orders),
    };
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
