import type {
  AlertRaised,
  DeliveryMissing,
  JobFailed,
  JobSucceeded,
  JobSummary,
  TipoDivergencia,
} from '@recon/contracts';
import { day, duration, int, pct, timestamp } from './format.ts';

/** Severities a notification can have: the alert severities (RULES §7) and INFO for good news. */
export const NOTIFICATION_SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFO'] as const;
export type NotificationSeverity = (typeof NOTIFICATION_SEVERITIES)[number];

export type NotificationKind =
  | 'job.succeeded'
  | 'job.failed'
  | 'job.timeout'
  | 'job.cancelled'
  | 'delivery.missing'
  | 'alert.processing_time'
  | 'alert.error_rate'
  | 'alert.divergence_rate';

/**
 * A notification, channel-neutral: each channel renders it (Slack Block Kit, email text and HTML,
 * a log line). `severity` drives routing (RULES §7, runbook §3.2).
 */
export interface Notification {
  /** The event it announces: at most one notification per event id and channel. */
  eventId: string;
  /** The job it is about; absent for what precedes any job (a delivery that never came). */
  jobId?: string;
  kind: NotificationKind;
  severity: NotificationSeverity;
  /** One line: the email subject, the Slack header. */
  title: string;
  /** One or two sentences: the gist (the log line, the Slack fallback text). */
  text: string;
  /** Key facts, label → value. */
  fields: { label: string; value: string }[];
  /** Lists under a heading (counts per type, top suppliers, what to do). */
  sections: { heading: string; lines: string[] }[];
  links: { label: string; url: string }[];
  /** The runbook playbook that applies (docs/runbook.md), e.g. "2.2 Timeout de 20 Minutos". */
  playbook?: string;
}

/** What the templates need besides the event. */
export interface MessageContext {
  /** Time zone of the times shown to people. */
  timeZone: string;
  /** The dashboard (QuickSight in AWS, `recon serve` locally); omitted when not configured. */
  dashboardUrl?: string;
  /** Where a person finds an object of the store (a path, an s3:// URI). */
  uri(key: string): string;
}

/** The runbook §2.5 names for the divergence types. */
const TYPE_LINES: { label: string; tipos: readonly TipoDivergencia[] }[] = [
  { label: 'Tipo 1 (ausente na base)', tipos: ['TIPO_1'] },
  { label: 'Tipo 2 (ausente no CSV)', tipos: ['TIPO_2'] },
  {
    label: 'Tipo 3 (campos divergentes)',
    tipos: ['TIPO_3_VALOR', 'TIPO_3_DATA', 'TIPO_3_NOME', 'TIPO_3_ATIVO', 'TIPO_3_FORNECEDOR'],
  },
];

/** Per-field words for the Tipo 3 breakdown (no "campo: valor" form, which the masking would read as a value). */
const TIPO_3_WORDS: Record<string, string> = {
  TIPO_3_VALOR: 'valor',
  TIPO_3_DATA: 'data',
  TIPO_3_NOME: 'nome',
  TIPO_3_ATIVO: 'ativo',
  TIPO_3_FORNECEDOR: 'fornecedor',
};

const STAGE_NAMES: Record<string, string> = {
  ingest: 'ingestão',
  partition: 'particionamento',
  base: 'extração da base',
  matcher: 'conciliação',
  matching: 'conciliação',
  reporter: 'geração de relatórios',
  reporting: 'geração de relatórios',
  notifier: 'notificação',
  total: 'total',
};

function stageName(stage: string): string {
  const name = STAGE_NAMES[stage];
  return name === undefined ? stage : `${name} (${stage})`;
}

/** "Divergências por tipo" lines of the runbook §2.5 template. */
export function typeLines(divergences: Record<TipoDivergencia, number>): string[] {
  return TYPE_LINES.map(({ label, tipos }) => {
    const total = tipos.reduce((n, t) => n + (divergences[t] ?? 0), 0);
    if (tipos.length === 1) return `${label}: ${int(total)}`;
    const parts = tipos.map((t) => `${TIPO_3_WORDS[t]} ${int(divergences[t] ?? 0)}`).join(' · ');
    return `${label}: ${int(total)} (${parts})`;
  });
}

function dashboardLinks(mc: MessageContext, label = 'Painel de divergências'): Notification['links'] {
  return mc.dashboardUrl === undefined ? [] : [{ label, url: mc.dashboardUrl }];
}

/** Runbook §1.1: a job ended well — counts per type, rate, duration, dashboard. */
export function jobSucceededMessage(
  eventId: string,
  e: JobSucceeded,
  summary: JobSummary | null,
  mc: MessageContext,
): Notification {
  const fields: Notification['fields'] = [
    { label: 'Job', value: e.jobId },
    { label: 'Data de referência', value: day(e.referenceDate) },
    {
      label: 'Linhas do arquivo',
      value:
        summary === null
          ? int(e.totalLines)
          : `${int(e.totalLines)} (válidas ${int(summary.valid_lines)}, inválidas ${int(summary.invalid_lines)})`,
    },
    { label: 'Divergências', value: int(e.divergences) },
    { label: 'Taxa de divergência', value: pct(e.divergenceRate) },
    { label: 'Duração', value: duration(e.durationSeconds) },
  ];
  if (summary !== null) {
    fields.push({
      label: 'Por severidade',
      value: `HIGH ${int(summary.by_severity.HIGH)} · MEDIUM ${int(summary.by_severity.MEDIUM)} · LOW ${int(summary.by_severity.LOW)}`,
    });
  }
  const sections: Notification['sections'] = [
    {
      heading: 'Divergências por tipo',
      lines:
        summary === null
          ? ['detalhamento indisponível: o summary.json do job não pôde ser lido']
          : typeLines(summary.divergences),
    },
  ];
  return {
    eventId,
    jobId: e.jobId,
    kind: 'job.succeeded',
    severity: 'INFO',
    title: `Conciliação de ${day(e.referenceDate)} concluída (${e.jobId})`,
    text: `Job ${e.jobId} concluído em ${duration(e.durationSeconds)}: ${int(e.totalLines)} linhas, ${int(e.divergences)} divergências, taxa ${pct(e.divergenceRate)}.`,
    fields,
    sections,
    links: [...dashboardLinks(mc), { label: 'Resumo do job (summary.json)', url: mc.uri(e.summaryKey) }],
  };
}

/**
 * The runbook's playbook and severity for a failure, by the stage that failed. Two are not
 * failures of the system: a job an operator CANCELLED is MEDIUM (Slack: the team learns of a
 * deliberate decision), and a file refused because another job is reconciling its date
 * (JOB_RUNNING) is HIGH (someone must reprocess it once that job ends).
 */
export function failurePlaybook(
  status: JobFailed['status'],
  stage: string,
  code?: string,
): { severity: NotificationSeverity; playbook?: string } {
  if (status === 'TIMEOUT') return { severity: 'CRITICAL', playbook: '2.2 Timeout de 20 Minutos' };
  if (status === 'CANCELLED') return { severity: 'MEDIUM' };
  if (code === 'JOB_RUNNING') return { severity: 'HIGH' };
  switch (stage) {
    case 'ingest':
      return { severity: 'CRITICAL', playbook: '2.1 Falha na Ingestão' };
    case 'partition':
    case 'base':
    case 'matcher':
      return { severity: 'HIGH', playbook: '2.3 Falha na Conciliação' };
    case 'reporter':
      return { severity: 'MEDIUM', playbook: '2.4 Falha na Entrega de Resultados' };
    default:
      return { severity: 'CRITICAL' };
  }
}

/** What the job store knows about a failed job (its start, when it ended). */
export interface FailedJobFacts {
  startedAt?: string;
  finishedAt?: string;
  referenceDate?: string;
}

/** Runbook §2.1–2.4: a job failed or timed out — id, start, end, reason, stage, checkpoint, how to reprocess. */
export function jobFailedMessage(
  eventId: string,
  e: JobFailed,
  facts: FailedJobFacts,
  mc: MessageContext,
): Notification {
  const timeout = e.status === 'TIMEOUT';
  const cancelled = e.status === 'CANCELLED';
  const { severity, playbook } = failurePlaybook(e.status, e.stage, e.code);
  const fields: Notification['fields'] = [
    { label: 'Job', value: e.jobId },
    { label: 'Status', value: e.status },
  ];
  if (facts.referenceDate !== undefined)
    fields.push({ label: 'Data de referência', value: day(facts.referenceDate) });
  fields.push(
    {
      label: 'Início',
      value: facts.startedAt === undefined ? 'desconhecido' : timestamp(facts.startedAt, mc.timeZone),
    },
    {
      label: 'Fim',
      value: facts.finishedAt === undefined ? 'desconhecido' : timestamp(facts.finishedAt, mc.timeZone),
    },
    { label: 'Etapa', value: stageName(e.stage) },
    { label: 'Motivo', value: `${timeout ? 'timeout' : cancelled ? 'cancelado' : e.code}: ${e.message}` },
    {
      label: 'Checkpoint',
      value: e.checkpointKey === undefined ? 'nenhum checkpoint gravado' : mc.uri(e.checkpointKey),
    },
  );
  const reprocess = [
    e.checkpointKey === undefined
      ? `Reprocessar: \`pnpm recon reprocess ${e.jobId}\``
      : `Reprocessar a partir do checkpoint: \`pnpm recon reprocess ${e.jobId}\` (refaz só o que está pendente)`,
  ];
  if (e.code === 'JOB_RUNNING')
    reprocess.push(
      'Outro job está conciliando a mesma data de referência (um job por data): reprocesse este quando aquele terminar.',
    );
  else if (!cancelled)
    reprocess.push(
      'Para conciliar o arquivo inteiro de novo: `pnpm recon run --file <arquivo> --force` (force_reprocess).',
    );
  return {
    eventId,
    jobId: e.jobId,
    kind: timeout ? 'job.timeout' : cancelled ? 'job.cancelled' : 'job.failed',
    severity,
    title: timeout
      ? `Conciliação ${e.jobId} excedeu o prazo (TIMEOUT)`
      : cancelled
        ? `Conciliação ${e.jobId} cancelada por um operador`
        : `Conciliação ${e.jobId} falhou na etapa de ${stageName(e.stage)}`,
    text: timeout
      ? `O job ${e.jobId} foi interrompido no prazo limite, na etapa de ${stageName(e.stage)}: ${e.message}`
      : cancelled
        ? `O job ${e.jobId} foi cancelado na etapa de ${stageName(e.stage)}; o trabalho parou e o checkpoint foi gravado. ${e.message}`
        : `O job ${e.jobId} falhou na etapa de ${stageName(e.stage)}. Motivo (${e.code}): ${e.message}`,
    fields,
    sections: [{ heading: 'Como reprocessar', lines: reprocess }],
    links: dashboardLinks(mc),
    ...(playbook === undefined ? {} : { playbook }),
  };
}

/** Inputs of an alert message besides the event. */
export interface AlertFacts {
  summary: JobSummary | null;
  /** Average divergence rate of recent days (runbook §2.5 "Histórico médio"), when known. */
  historicalRate: number | null;
}

/** RULES §7 alerts: processing time (HIGH), error rate (CRITICAL), divergence rate (MEDIUM, runbook §2.5). */
export function alertMessage(
  eventId: string,
  e: AlertRaised,
  facts: AlertFacts,
  mc: MessageContext,
): Notification {
  switch (e.alert) {
    case 'DIVERGENCE_RATE':
      return divergenceRateMessage(eventId, e, facts, mc);
    case 'ERROR_RATE':
      return errorRateMessage(eventId, e, facts.summary, mc);
    case 'PROCESSING_TIME':
      return processingTimeMessage(eventId, e, facts.summary, mc);
  }
}

/** The runbook §2.5 template ("Taxa de Divergências Anormal"). */
function divergenceRateMessage(
  eventId: string,
  e: AlertRaised,
  { summary, historicalRate }: AlertFacts,
  mc: MessageContext,
): Notification {
  const date = summary === null ? e.jobId : day(summary.reference_date);
  const sections: Notification['sections'] = [];
  if (summary !== null) {
    sections.push({ heading: 'Divergências por tipo', lines: typeLines(summary.divergences) });
    const top = summary.top_suppliers.slice(0, 3);
    sections.push({
      heading: 'Top 3 fornecedores com mais divergências',
      lines:
        top.length === 0
          ? ['nenhum fornecedor com divergências']
          : top.map((s, k) => `${k + 1}. ${s.fornecedor_id}: ${int(s.count)}`),
    });
  } else {
    sections.push({
      heading: 'Divergências por tipo',
      lines: ['detalhamento indisponível: o summary.json do job não pôde ser lido'],
    });
  }
  sections.push({
    heading: 'O que fazer (playbook 2.5)',
    lines: [
      'Comparar com a média dos últimos 7 dias e verificar padrão sazonal.',
      'Verificar se a base interna está atualizada e se o CSV do fornecedor tem volume e formato habituais.',
      'Notificar a área de negócio e, se o problema estiver no CSV, o fornecedor.',
    ],
  });
  return {
    eventId,
    jobId: e.jobId,
    kind: 'alert.divergence_rate',
    severity: e.severity,
    title: `Taxa de Divergências Anormal - ${date}`,
    text: `Taxa de divergências detectada: ${pct(e.value)} (limite ${pct(e.threshold)}; histórico médio ${historicalRate === null ? 'não disponível' : pct(historicalRate)}).`,
    fields: [
      { label: 'Job', value: e.jobId },
      { label: 'Taxa de divergências detectada', value: pct(e.value) },
      {
        label: 'Histórico médio',
        value: historicalRate === null ? 'não disponível' : pct(historicalRate),
      },
      { label: 'Limite do alerta', value: pct(e.threshold) },
    ],
    sections,
    links: dashboardLinks(mc, 'Link para análise detalhada'),
    playbook: '2.5 Taxa de Divergências Anormal',
  };
}

function errorRateMessage(
  eventId: string,
  e: AlertRaised,
  summary: JobSummary | null,
  mc: MessageContext,
): Notification {
  const fields: Notification['fields'] = [
    { label: 'Job', value: e.jobId },
    { label: 'Taxa de linhas inválidas', value: pct(e.value) },
    { label: 'Limite', value: pct(e.threshold) },
  ];
  const sections: Notification['sections'] = [];
  const links = dashboardLinks(mc);
  if (summary !== null) {
    fields.push({
      label: 'Linhas inválidas',
      value: `${int(summary.invalid_lines)} de ${int(summary.total_lines)}`,
    });
    const reasons = Object.entries(summary.rejects_by_reason ?? {})
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5);
    if (reasons.length > 0)
      sections.push({
        heading: 'Principais motivos de rejeição',
        lines: reasons.map(([r, n]) => `${r}: ${int(n)}`),
      });
    const rejects = summary.outputs.rejects;
    if (typeof rejects === 'string')
      links.push({ label: 'Linhas rejeitadas (rejeitados.csv)', url: rejects });
  }
  sections.push({
    heading: 'O que fazer (playbook 2.1)',
    lines: [
      'Validar o CSV recebido: cabeçalho com as seis colunas, separador ponto e vírgula, UTF-8.',
      'Se o erro for de formato, contatar o fornecedor, aguardar a correção e reprocessar.',
    ],
  });
  return {
    eventId,
    jobId: e.jobId,
    kind: 'alert.error_rate',
    severity: e.severity,
    title: `Taxa de linhas inválidas acima de ${pct(e.threshold)} (${e.jobId})`,
    text: `O arquivo do job ${e.jobId} tem ${pct(e.value)} de linhas inválidas, acima do limite de ${pct(e.threshold)}.`,
    fields,
    sections,
    links,
    playbook: '2.1 Falha na Ingestão',
  };
}

function processingTimeMessage(
  eventId: string,
  e: AlertRaised,
  summary: JobSummary | null,
  mc: MessageContext,
): Notification {
  const sections: Notification['sections'] = [];
  if (summary !== null) {
    const stages = Object.entries(summary.stage_seconds).filter(([s]) => s !== 'total');
    if (stages.length > 0)
      sections.push({
        heading: 'Tempo por etapa',
        lines: stages.map(([s, secs]) => `${stageName(s)}: ${duration(secs)}`),
      });
  }
  sections.push({
    heading: 'O que fazer (playbook 2.2, análise de causa)',
    lines: [
      'Identificar a etapa mais lenta: base lenta → índice em ordem_id e conexões; conciliação lenta → particionamento (skew); ingestão lenta → I/O.',
      'O prazo absoluto é de 20 minutos a partir da chegada do arquivo.',
    ],
  });
  return {
    eventId,
    jobId: e.jobId,
    kind: 'alert.processing_time',
    severity: e.severity,
    title: `Tempo de processamento acima de ${duration(e.threshold)} (${e.jobId})`,
    text: `O job ${e.jobId} levou ${duration(e.value)} desde a chegada do arquivo, acima do limite de ${duration(e.threshold)}.`,
    fields: [
      { label: 'Job', value: e.jobId },
      { label: 'Tempo de processamento', value: duration(e.value) },
      { label: 'Limite', value: duration(e.threshold) },
    ],
    sections,
    links: dashboardLinks(mc),
    playbook: '2.2 Timeout de 20 Minutos',
  };
}

/**
 * The runbook's daily check (§1.1, "Verificar execução do dia anterior"): the vendor file of D-1
 * had not arrived by the configured time. One per date (the event id is `delivery.missing:<date>`).
 */
export function deliveryMissingMessage(
  eventId: string,
  e: DeliveryMissing,
  mc: MessageContext,
): Notification {
  const date = day(e.referenceDate);
  return {
    eventId,
    kind: 'delivery.missing',
    severity: e.severity,
    title: `Arquivo do fornecedor de ${date} não recebido`,
    text: `Nenhum arquivo do fornecedor com data de referência ${date} chegou até ${e.expectedBy} (${e.timeZone}); a conciliação de ${date} não foi executada.`,
    fields: [
      { label: 'Data de referência', value: date },
      { label: 'Prazo de chegada', value: `${e.expectedBy} (${e.timeZone})` },
      { label: 'Verificado em', value: timestamp(e.checkedAt, mc.timeZone) },
      { label: 'Onde foi procurado', value: e.lookedIn.join(', ') },
    ],
    sections: [
      {
        heading: 'O que fazer (monitoramento diário, runbook 1.1)',
        lines: [
          `Confirmar com o fornecedor o envio do arquivo de ${date} (caminho esperado: ${e.referenceDate}/<arquivo>.csv no bucket de ingestão).`,
          'Quando o arquivo chegar, a conciliação começa sozinha; localmente: `pnpm recon run --file <arquivo> --reference-date ' +
            `${e.referenceDate}\`.`,
          'O prazo de 20 minutos conta a partir da chegada do arquivo.',
        ],
      },
    ],
    links: dashboardLinks(mc),
  };
}
