import type { AlertRaised, JobFailed, JobSucceeded } from '@recon/contracts';

/** A notification, channel-neutral; `severity` drives routing (RULES §7, runbook). */
export interface Notification {
  /** The event it announces: at most one notification per event id. */
  eventId: string;
  jobId: string;
  severity: 'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW' | 'INFO';
  title: string;
  text: string;
}

export function jobSucceededMessage(eventId: string, e: JobSucceeded): Notification {
  return {
    eventId,
    jobId: e.jobId,
    severity: 'INFO',
    title: `✅ Conciliação ${e.referenceDate} concluída (${e.jobId})`,
    text: `${e.totalLines.toLocaleString('pt-BR')} linhas, ${e.divergences.toLocaleString('pt-BR')} divergências, taxa ${(e.divergenceRate * 100).toFixed(2)}%, em ${e.durationSeconds.toFixed(1)} s.`,
  };
}

export function jobFailedMessage(eventId: string, e: JobFailed): Notification {
  return {
    eventId,
    jobId: e.jobId,
    severity: 'CRITICAL',
    title: `🚨 Conciliação ${e.jobId} ${e.status === 'TIMEOUT' ? 'excedeu o prazo' : 'falhou'}`,
    text: `Etapa: ${e.stage}. Motivo (${e.code}): ${e.message}`,
  };
}

export function alertMessage(eventId: string, e: AlertRaised): Notification {
  return {
    eventId,
    jobId: e.jobId,
    severity: e.severity,
    title: `⚠️ Alerta ${e.alert} (${e.jobId})`,
    text: e.message,
  };
}
