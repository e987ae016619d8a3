import type { Severidade, TipoDivergencia } from './divergence.ts';

/** `summary.json` of a job (issue "Embedded pipeline", RULES §6). */
export interface JobSummary {
  job_id: string;
  status: 'SUCCEEDED' | 'FAILED' | 'TIMEOUT' | 'CANCELLED';
  file_sha256: string | null;
  reference_date: string;
  total_lines: number;
  valid_lines: number;
  invalid_lines: number;
  base_rows: number;
  matched: number;
  divergences: Record<TipoDivergencia, number>;
  by_severity: Record<Severidade, number>;
  divergence_rate: number;
  top_suppliers: { fornecedor_id: string; count: number }[];
  stage_seconds: Record<string, number>;
  started_at: string;
  finished_at: string;
  outputs: Record<string, string | string[]>;
  error?: { stage: string; code: string; message: string };
  /** Beyond the required keys: what else an analyst needs to read the job. */
  scope?: string;
  window?: { from: string; to: string } | null;
  rejects_by_reason?: Record<string, number>;
  base_invalid_rows?: number;
  alerts?: { alert: string; severity: string; message: string }[];
  /** Distinct ordem_id of both sides, and those with a divergence: divergence_rate's terms. */
  distinct_orders?: number;
  divergent_orders?: number;
}
