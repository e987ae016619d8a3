import type { RejectReason, TipoDivergencia } from '@recon/contracts';

export type Scope = 'date-window' | 'all';

export interface GenerateOptions {
  /** Valid vendor data lines (the reconciled records). */
  rows: number;
  /** % of the vendor lines whose ordem_id is not in the base (TIPO_1). Default 5. */
  tipo1Pct: number;
  /** % (of `rows`) extra base rows inside the vendor date window, absent from the file (TIPO_2). Default 3. */
  tipo2Pct: number;
  /** % of the vendor lines present in the base with field differences (TIPO_3_*). Default 2. */
  tipo3Pct: number;
  /** Same seed + options => byte-identical files. */
  seed: number;
  outDir: string;
  /** % (of `rows`) extra malformed vendor lines, round-robin over the four line-level reasons. Default 0. */
  invalidPct?: number;
  /** % (of `rows`) extra vendor lines repeating an earlier ordem_id (with another valor). Default 0. */
  duplicatePct?: number;
  /** Base rows dated before the window, not in the file; TIPO_2 only under scope 'all'. Default floor(rows/10). */
  historyRows?: number;
  /** Reference date "YYYY-MM-DD"; the vendor window ends the day before. Default "2026-11-21". */
  referenceDate?: string;
  /** Length of the vendor date window in days. Default 30. */
  windowDays?: number;
}

export interface ExpectedCounts {
  /** Non-blank data records of the vendor file (= valid_lines + invalid_lines). */
  total_lines: number;
  valid_lines: number;
  invalid_lines: number;
  rejects: Record<RejectReason, number>;
  /** Base rows in scope (RULES §5). */
  base_rows: number;
  /** Valid vendor lines whose ordem_id is in the base. */
  matched: number;
  /** Divergence rows per type (an order differing in two fields counts twice). */
  divergences: Record<TipoDivergencia, number>;
  /** Distinct ordem_ids with at least one divergence. */
  divergent_orders: number;
  /** Distinct ordem_ids over valid vendor lines ∪ in-scope base rows. */
  distinct_orders: number;
  /** divergent_orders / distinct_orders (0 when there are no orders). */
  divergence_rate: number;
}

export interface GeneratedDay {
  vendorPath: string;
  basePath: string;
  expectedPath: string;
  expected: Record<Scope, ExpectedCounts>;
}
