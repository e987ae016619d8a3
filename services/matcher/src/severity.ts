import type { Severidade, TipoDivergencia } from '@recon/contracts';
import { valorToCents } from '@recon/rules';

/** RULES §4 severity, configurable per type and, for TIPO_3_VALOR, by absolute difference. */
export interface SeverityPolicy {
  byType: Record<Exclude<TipoDivergencia, 'TIPO_3_VALOR'>, Severidade>;
  /** TIPO_3_VALOR: HIGH when |diferença| ≥ high, MEDIUM when ≥ medium, else LOW (canonical decimals). */
  valor: { high: string; medium: string };
}

export const DEFAULT_SEVERITY: SeverityPolicy = {
  byType: {
    TIPO_1: 'HIGH',
    TIPO_2: 'HIGH',
    TIPO_3_DATA: 'MEDIUM',
    TIPO_3_FORNECEDOR: 'MEDIUM',
    TIPO_3_NOME: 'LOW',
    TIPO_3_ATIVO: 'LOW',
  },
  valor: { high: '1000.00', medium: '1.00' },
};

export function valorSeverity(policy: SeverityPolicy, diferenca: string): Severidade {
  let cents = valorToCents(diferenca);
  if (cents < 0n) cents = -cents;
  if (cents >= valorToCents(policy.valor.high)) return 'HIGH';
  if (cents >= valorToCents(policy.valor.medium)) return 'MEDIUM';
  return 'LOW';
}
