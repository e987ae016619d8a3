import { relative } from 'node:path';
import { type JobSummary, TIPOS } from '@recon/contracts';
import { fmt } from './progress.ts';

/** A person-readable summary of a job, for the terminal. */
export function renderSummary(s: JobSummary): string {
  const lines: string[] = [];
  const secs = s.stage_seconds.total ?? 0;
  lines.push(
    `recon · ${s.job_id} · reference date ${s.reference_date} · ${s.status} in ${secs.toFixed(2)} s`,
  );
  if (s.status !== 'SUCCEEDED') {
    if (s.error) lines.push(`  ${s.error.code} at ${s.error.stage}: ${s.error.message}`);
    lines.push(`  summary  ${show(String(s.outputs.summary))}`);
    return `${lines.join('\n')}\n`;
  }
  const invalidPct = s.total_lines === 0 ? 0 : (s.invalid_lines / s.total_lines) * 100;
  lines.push(
    `  file         ${fmt(s.total_lines)} lines · ${fmt(s.valid_lines)} valid · ${fmt(s.invalid_lines)} rejected (${invalidPct.toFixed(2)}%)`,
  );
  lines.push(
    `  base         ${fmt(s.base_rows)} rows in scope (${s.scope ?? ''}) · ${fmt(s.matched)} matched`,
  );
  const total = Object.values(s.divergences).reduce((a, b) => a + b, 0);
  lines.push(`  divergences  ${fmt(total)} rows · divergence rate ${(s.divergence_rate * 100).toFixed(2)}%`);
  lines.push(`               ${TIPOS.map((t) => `${t} ${fmt(s.divergences[t])}`).join(' · ')}`);
  lines.push(
    `  severity     HIGH ${fmt(s.by_severity.HIGH)} · MEDIUM ${fmt(s.by_severity.MEDIUM)} · LOW ${fmt(s.by_severity.LOW)}`,
  );
  if (s.top_suppliers.length > 0) {
    lines.push(
      `  top suppliers ${s.top_suppliers
        .slice(0, 5)
        .map((t) => `${t.fornecedor_id} ${fmt(t.count)}`)
        .join(' · ')}`,
    );
  }
  const stages = Object.entries(s.stage_seconds)
    .filter(([k]) => k !== 'total')
    .map(([k, v]) => `${k} ${v.toFixed(2)} s`);
  lines.push(`  stages       ${stages.join(' · ')}`);
  for (const a of s.alerts ?? []) lines.push(`  ALERT ${a.severity} ${a.alert}: ${a.message}`);
  lines.push('  outputs');
  for (const [name, value] of Object.entries(s.outputs)) {
    for (const v of Array.isArray(value) ? value : [value]) lines.push(`    ${name.padEnd(13)}${show(v)}`);
  }
  return `${lines.join('\n')}\n`;
}

function show(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') ? path : rel;
}
