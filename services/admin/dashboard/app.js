// @ts-check
/**
 * "Visão Geral de Divergências" (technical document §4.3): KPIs, four charts and the divergence
 * table of `recon serve`, all driven by the same global filters, which live in the URL.
 *
 * Plain ES module, no build step. Everything is computed by the server: the page asks
 * `GET /v1/stats` for KPIs and series and `GET /v1/divergences` for one page of 100 rows, and the
 * export is a link to `GET /v1/divergences.csv`. Authentication is the HttpOnly session cookie set
 * by `POST /v1/session`; the page never keeps the API key.
 *
 * Chart.js is loaded before this module as a classic script (global `Chart`).
 */

// ---------------------------------------------------------------------------------------------
// Domain vocabulary
// ---------------------------------------------------------------------------------------------

const TIPOS = /** @type {const} */ ([
  'TIPO_1',
  'TIPO_2',
  'TIPO_3_VALOR',
  'TIPO_3_DATA',
  'TIPO_3_NOME',
  'TIPO_3_ATIVO',
  'TIPO_3_FORNECEDOR',
]);
const TIPOS_3 = TIPOS.filter((t) => t.startsWith('TIPO_3_'));
const SEVERIDADES = /** @type {const} */ (['HIGH', 'MEDIUM', 'LOW']);

/** @type {Record<string, string>} */
const TIPO_LABELS = {
  TIPO_1: 'Tipo 1 — ausente na base',
  TIPO_2: 'Tipo 2 — ausente no arquivo',
  TIPO_3_VALOR: 'Tipo 3 — valor',
  TIPO_3_DATA: 'Tipo 3 — data',
  TIPO_3_NOME: 'Tipo 3 — nome',
  TIPO_3_ATIVO: 'Tipo 3 — ativo',
  TIPO_3_FORNECEDOR: 'Tipo 3 — fornecedor',
};
/** @type {Record<string, string>} */
const SEVERIDADE_LABELS = { HIGH: 'Alta', MEDIUM: 'Média', LOW: 'Baixa' };
/** @type {Record<string, string>} */
const ROLE_LABELS = { viewer: 'Leitor', operator: 'Operador', admin: 'Administrador' };

const TIPO_COLORS = ['#c0392b', '#d98324', '#1f5f99', '#2f7fc1', '#5b9bd5', '#8fbce6', '#bcd7f0'];
/** @type {Record<string, string>} */
const SEVERIDADE_COLORS = { HIGH: '#c0392b', MEDIUM: '#d98324', LOW: '#7f8c8d' };
const SUPPLIER_COLOR = '#1f5f99';
const TREND_COLORS = { divergences: '#c0392b', rate: '#1f5f99' };

// ---------------------------------------------------------------------------------------------
// pt-BR formatting
// ---------------------------------------------------------------------------------------------

const integerFormat = new Intl.NumberFormat('pt-BR');
const percentFormat = new Intl.NumberFormat('pt-BR', {
  style: 'percent',
  minimumFractionDigits: 2,
  maximumFractionDigits: 2,
});
const timeFormat = new Intl.DateTimeFormat('pt-BR', { timeStyle: 'medium' });

/** @param {number} n */
const formatInteger = (n) => integerFormat.format(n);

/** A rate in 0..1 as a pt-BR percentage with two places ("5,12%"). @param {number} rate */
const formatPercent = (rate) => percentFormat.format(rate);

/**
 * An exact decimal string from the API ("-1234.50") in pt-BR ("-1.234,50"), by rewriting the
 * string: money never goes through a binary float. Anything of another shape is shown as it came.
 * @param {string | null} value
 */
function formatDecimal(value) {
  if (value === null || value === '') return '—';
  const match = /^([-+]?)(\d+)(?:\.(\d+))?$/.exec(value);
  if (!match) return value;
  const [, sign, integer, fraction] = match;
  const grouped = integer.replace(/\B(?=(\d{3})+(?!\d))/g, '.');
  return `${sign === '-' ? '-' : ''}${grouped}${fraction === undefined ? '' : `,${fraction}`}`;
}

/** "2026-11-21" → "21/11/2026"; anything else as it came. @param {string | null} iso */
function formatDate(iso) {
  if (!iso) return '—';
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  return match ? `${match[3]}/${match[2]}/${match[1]}` : iso;
}

/** @param {number} n @param {string} one @param {string} many */
const plural = (n, one, many) => `${formatInteger(n)} ${n === 1 ? one : many}`;

// ---------------------------------------------------------------------------------------------
// API client
// ---------------------------------------------------------------------------------------------

/** An answer of the API other than 2xx, or no answer at all (`status` 0). */
class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code the API's error code (`UNAUTHORIZED`, …) or `NETWORK`
   * @param {string} message
   * @param {{ retryAfter?: number | null, cause?: unknown }} [extra]
   */
  constructor(status, code, message, extra = {}) {
    super(message, { cause: extra.cause });
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfter = extra.retryAfter ?? null;
  }
}

/**
 * Calls the API with the session cookie and returns its JSON (null for an empty answer).
 * @param {string} path
 * @param {{ method?: string, body?: unknown, signal?: AbortSignal }} [options]
 * @returns {Promise<any>}
 */
async function api(path, { method = 'GET', body, signal } = {}) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  // No content-type without a body: a JSON parser would reject an empty one.
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      signal,
    });
  } catch (cause) {
    if (isAbort(cause)) throw cause;
    throw new ApiError(0, 'NETWORK', 'sem resposta do servidor', { cause });
  }
  const text = await response.text();
  let payload = null;
  try {
    payload = text ? JSON.parse(text) : null;
  } catch {
    payload = null;
  }
  if (!response.ok) {
    const retryAfter = Number.parseInt(response.headers.get('retry-after') ?? '', 10);
    throw new ApiError(
      response.status,
      payload?.error?.code ?? `HTTP_${response.status}`,
      payload?.error?.message ?? response.statusText,
      { retryAfter: Number.isFinite(retryAfter) ? retryAfter : null },
    );
  }
  return payload;
}

/** @param {unknown} error */
const isAbort = (error) => error instanceof DOMException && error.name === 'AbortError';

/**
 * What to tell the user about a failed call, in pt-BR.
 * @param {unknown} error
 */
function describeError(error) {
  if (!(error instanceof ApiError)) return `Erro inesperado no painel: ${String(error)}`;
  switch (error.status) {
    case 0:
      return 'Falha de rede: não foi possível contatar o servidor. Verifique a conexão e tente novamente.';
    case 400:
      return `Filtro inválido: ${error.message}`;
    case 401:
      return 'Sessão expirada ou chave inválida. Entre novamente.';
    case 403:
      return 'Acesso negado: o seu perfil não tem permissão para esta consulta.';
    case 404:
      return 'Recurso não encontrado no servidor.';
    case 429:
      return error.retryAfter === null
        ? 'Muitas requisições em pouco tempo. Aguarde um instante e tente novamente.'
        : `Muitas requisições em pouco tempo. Tente novamente em ${plural(error.retryAfter, 'segundo', 'segundos')}.`;
    default:
      return error.status >= 500
        ? `Erro no servidor (${error.code}). Tente novamente em instantes.`
        : `Erro ${error.status} (${error.code}): ${error.message}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Filters: the form, the URL and the API's query string
// ---------------------------------------------------------------------------------------------

/**
 * @typedef {{
 *   dt_from: string, dt_to: string, fornecedor_id: string, ordem_id: string,
 *   tipo: string[], severidade: string[],
 * }} Filters
 */

/** @returns {Filters} */
const emptyFilters = () => ({
  dt_from: '',
  dt_to: '',
  fornecedor_id: '',
  ordem_id: '',
  tipo: [],
  severidade: [],
});

/**
 * A comma-separated list from the URL, kept to known values; `TIPO_3` means every `TIPO_3_*`
 * (as in the API).
 * @param {string | null} raw @param {readonly string[]} known
 */
function parseList(raw, known) {
  const values = (raw ?? '')
    .split(',')
    .map((v) => v.trim().toUpperCase())
    .flatMap((v) => (v === 'TIPO_3' && known === TIPOS ? TIPOS_3 : [v]));
  return known.filter((k) => values.includes(k));
}

/** @param {string | null} raw */
const parseDate = (raw) => (raw && /^\d{4}-\d{2}-\d{2}$/.test(raw) ? raw : '');

/**
 * Filters and page from a query string (the page's URL).
 * @param {string} search
 * @returns {{ filters: Filters, page: number }}
 */
function stateFromSearch(search) {
  const params = new URLSearchParams(search);
  const page = Number.parseInt(params.get('page') ?? '1', 10);
  return {
    filters: {
      dt_from: parseDate(params.get('dt_from')),
      dt_to: parseDate(params.get('dt_to')),
      fornecedor_id: (params.get('fornecedor_id') ?? '').trim(),
      ordem_id: (params.get('ordem_id') ?? '').trim(),
      tipo: parseList(params.get('tipo'), TIPOS),
      severidade: parseList(params.get('severidade'), SEVERIDADES),
    },
    page: Number.isFinite(page) && page >= 1 ? page : 1,
  };
}

/**
 * The API's query parameters for some filters (also the page's own query string). Unset filters
 * are left out; a full selection of types or severities is the same as none.
 * @param {Filters} filters
 */
function filterParams(filters) {
  const params = new URLSearchParams();
  if (filters.dt_from) params.set('dt_from', filters.dt_from);
  if (filters.dt_to) params.set('dt_to', filters.dt_to);
  if (filters.fornecedor_id) params.set('fornecedor_id', filters.fornecedor_id);
  if (filters.ordem_id) params.set('ordem_id', filters.ordem_id);
  if (filters.tipo.length > 0 && filters.tipo.length < TIPOS.length)
    params.set('tipo', filters.tipo.join(','));
  if (filters.severidade.length > 0 && filters.severidade.length < SEVERIDADES.length)
    params.set('severidade', filters.severidade.join(','));
  return params;
}

/**
 * A path with a query string. Commas are legal in a query and the API splits lists on them, so they
 * stay readable in the address bar instead of `%2C`.
 * @param {string} path @param {URLSearchParams} params
 */
function withQuery(path, params) {
  const query = params.toString().replaceAll('%2C', ',');
  return query ? `${path}?${query}` : path;
}

/** @param {HTMLFormElement} form @returns {Filters} */
function readFilterForm(form) {
  const data = new FormData(form);
  const text = (/** @type {string} */ name) => String(data.get(name) ?? '').trim();
  return {
    dt_from: text('dt_from'),
    dt_to: text('dt_to'),
    fornecedor_id: text('fornecedor_id'),
    ordem_id: text('ordem_id'),
    tipo: data.getAll('tipo').map(String),
    severidade: data.getAll('severidade').map(String),
  };
}

/** @param {HTMLFormElement} form @param {Filters} filters */
function writeFilterForm(form, filters) {
  for (const name of /** @type {const} */ (['dt_from', 'dt_to', 'fornecedor_id', 'ordem_id'])) {
    /** @type {HTMLInputElement} */ (form.elements.namedItem(name)).value = filters[name];
  }
  for (const box of form.querySelectorAll('input[type="checkbox"]')) {
    const input = /** @type {HTMLInputElement} */ (box);
    const chosen = input.name === 'tipo' ? filters.tipo : filters.severidade;
    input.checked = chosen.includes(input.value);
  }
}

/** A reason the filters cannot be sent, or null. @param {Filters} filters */
function invalidFilters(filters) {
  if (filters.dt_from && filters.dt_to && filters.dt_from > filters.dt_to)
    return 'A data inicial não pode ser posterior à data final.';
  return null;
}

// ---------------------------------------------------------------------------------------------
// Charts
// ---------------------------------------------------------------------------------------------

/**
 * The four charts, created once per session and updated in place when the data changes (so
 * canvases and their listeners are never leaked); destroyed on logout.
 */
class DashboardCharts {
  /** @param {ParentNode} root */
  constructor(root) {
    const Chart = /** @type {any} */ (window).Chart;
    if (!Chart) throw new Error('Chart.js não foi carregado');
    Chart.defaults.locale = 'pt-BR';
    Chart.defaults.maintainAspectRatio = false;
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    if (window.matchMedia('(prefers-reduced-motion: reduce)').matches) Chart.defaults.animation = false;
    /** @param {string} id */
    const canvas = (id) => root.querySelector(`[data-testid="${id}"]`);
    // Under each chart, its numbers as a table (screen readers, keyboards, exact values).
    /** @type {HTMLElement[]} */
    this.dataTables = CHART_DATA_TABLES.map(({ chart, caption, headers }) => {
      const details = dataTableDetails(`${chart}-data`, caption, headers);
      canvas(chart)?.closest('figure')?.append(details);
      return details;
    });

    this.type = new Chart(canvas('chart-type'), {
      type: 'pie',
      data: {
        labels: TIPOS.map((t) => TIPO_LABELS[t]),
        datasets: [{ label: 'Divergências', data: [], backgroundColor: TIPO_COLORS }],
      },
      options: { plugins: { legend: { position: 'right' }, tooltip: { callbacks: { label: countLabel } } } },
    });

    this.severity = new Chart(canvas('chart-severity'), {
      type: 'bar',
      data: {
        labels: SEVERIDADES.map((s) => `${SEVERIDADE_LABELS[s]} (${s})`),
        datasets: [
          { label: 'Divergências', data: [], backgroundColor: SEVERIDADES.map((s) => SEVERIDADE_COLORS[s]) },
        ],
      },
      options: {
        plugins: { legend: { display: false } },
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
      },
    });

    this.suppliers = new Chart(canvas('chart-suppliers'), {
      type: 'bar',
      data: { labels: [], datasets: [{ label: 'Divergências', data: [], backgroundColor: SUPPLIER_COLOR }] },
      options: {
        indexAxis: 'y',
        plugins: { legend: { display: false } },
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
      },
    });

    this.trend = new Chart(canvas('chart-trend'), {
      type: 'line',
      data: {
        labels: [],
        datasets: [
          {
            label: 'Divergências',
            data: [],
            yAxisID: 'y',
            borderColor: TREND_COLORS.divergences,
            backgroundColor: TREND_COLORS.divergences,
            tension: 0.2,
          },
          {
            label: 'Taxa de divergência',
            data: [],
            yAxisID: 'rate',
            borderColor: TREND_COLORS.rate,
            backgroundColor: TREND_COLORS.rate,
            borderDash: [6, 4],
            tension: 0.2,
          },
        ],
      },
      options: {
        interaction: { mode: 'index', intersect: false },
        scales: {
          y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: 'Divergências' } },
          rate: {
            position: 'right',
            beginAtZero: true,
            grid: { drawOnChartArea: false },
            ticks: { callback: (/** @type {number} */ v) => formatPercent(v) },
            title: { display: true, text: 'Taxa' },
          },
        },
        plugins: {
          tooltip: {
            callbacks: {
              label: (/** @type {any} */ item) =>
                item.dataset.yAxisID === 'rate'
                  ? `${item.dataset.label}: ${formatPercent(item.parsed.y)}`
                  : `${item.dataset.label}: ${formatInteger(item.parsed.y)}`,
            },
          },
        },
      },
    });
  }

  /** @param {DashboardStats} stats */
  update(stats) {
    this.type.data.datasets[0].data = TIPOS.map((t) => stats.by_type[t] ?? 0);
    this.severity.data.datasets[0].data = SEVERIDADES.map((s) => stats.by_severity[s] ?? 0);
    this.suppliers.data.labels = stats.top_suppliers.map((s) => s.fornecedor_id);
    this.suppliers.data.datasets[0].data = stats.top_suppliers.map((s) => s.count);
    this.trend.data.labels = stats.daily.map((d) => formatDate(d.dt));
    this.trend.data.datasets[0].data = stats.daily.map((d) => d.divergences);
    this.trend.data.datasets[1].data = stats.daily.map((d) => d.divergence_rate);
    for (const chart of this.all()) chart.update();
    // The same numbers as tables, under each chart.
    fillDataTable(
      'chart-type-data',
      TIPOS.map((t) => [TIPO_LABELS[t] ?? t, formatInteger(stats.by_type[t] ?? 0)]),
    );
    fillDataTable(
      'chart-severity-data',
      SEVERIDADES.map((s) => [`${SEVERIDADE_LABELS[s]} (${s})`, formatInteger(stats.by_severity[s] ?? 0)]),
    );
    fillDataTable(
      'chart-suppliers-data',
      stats.top_suppliers.map((s) => [s.fornecedor_id, formatInteger(s.count)]),
    );
    fillDataTable(
      'chart-trend-data',
      stats.daily.map((d) => [
        formatDate(d.dt),
        formatInteger(d.divergences),
        formatPercent(d.divergence_rate),
      ]),
    );
  }

  all() {
    return [this.type, this.severity, this.suppliers, this.trend];
  }

  destroy() {
    for (const chart of this.all()) chart.destroy();
    for (const details of this.dataTables) details.remove();
  }
}

/** The data table of each chart: its caption and column headers. */
const CHART_DATA_TABLES = [
  { chart: 'chart-type', caption: 'Divergências por tipo', headers: ['Tipo', 'Divergências'] },
  {
    chart: 'chart-severity',
    caption: 'Divergências por severidade',
    headers: ['Severidade', 'Divergências'],
  },
  {
    chart: 'chart-suppliers',
    caption: 'Os dez fornecedores com mais divergências',
    headers: ['Fornecedor', 'Divergências'],
  },
  {
    chart: 'chart-trend',
    caption: 'Divergências e taxa de divergência por dia',
    headers: ['Dia', 'Divergências', 'Taxa'],
  },
];

/**
 * A collapsed "Dados do gráfico" with an empty table (filled by fillDataTable).
 * @param {string} testId @param {string} caption @param {string[]} headers
 */
function dataTableDetails(testId, caption, headers) {
  const details = document.createElement('details');
  details.className = 'chart-data';
  const summary = document.createElement('summary');
  summary.textContent = 'Dados do gráfico';
  const table = document.createElement('table');
  table.dataset.testid = testId;
  const captionElement = table.createCaption();
  captionElement.className = 'visually-hidden';
  captionElement.textContent = caption;
  const row = table.createTHead().insertRow();
  headers.forEach((header, k) => {
    const th = document.createElement('th');
    th.scope = 'col';
    if (k > 0) th.className = 'num';
    th.textContent = header;
    row.append(th);
  });
  table.createTBody();
  details.append(summary, table);
  return details;
}

/**
 * Replaces the rows of a chart's data table: the first cell of each row is its header.
 * @param {string} testId @param {string[][]} rows
 */
function fillDataTable(testId, rows) {
  const body = /** @type {HTMLTableElement} */ (byTestId(testId)).tBodies[0];
  if (!body) return;
  body.replaceChildren(
    ...rows.map(([label, ...values]) => {
      const tr = document.createElement('tr');
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = label ?? '';
      tr.append(th);
      for (const value of values) {
        const td = document.createElement('td');
        td.className = 'num';
        td.textContent = value;
        tr.append(td);
      }
      return tr;
    }),
  );
}

/** Tooltip line of a count. @param {any} item */
const countLabel = (item) => `${item.label}: ${formatInteger(item.parsed)}`;

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

/**
 * @typedef {{
 *   total_divergences: number, total_lines: number, divergence_rate: number,
 *   by_type: Record<string, number>, by_severity: Record<string, number>,
 *   top_suppliers: { fornecedor_id: string, count: number }[],
 *   daily: { dt: string, divergences: number, total_lines: number, divergence_rate: number }[],
 *   jobs: number,
 * }} DashboardStats
 *
 * @typedef {{
 *   job_id: string, dt: string, tipo_divergencia: string, severidade: string, ordem_id: string,
 *   fornecedor_id: string, nome: string, ativo_id: string, data: string, data_base: string | null,
 *   valor_csv: string | null, valor_base: string | null, diferenca: string | null,
 *   campo: string | null, detalhes: string,
 * }} Divergence
 *
 * @typedef {{ items: Divergence[], page: number | null, page_size: number, total: number }} DivergencePage
 */

/** @param {string} testId */
function byTestId(testId) {
  const element = document.querySelector(`[data-testid="${testId}"]`);
  if (!element) throw new Error(`elemento ausente: ${testId}`);
  return /** @type {HTMLElement} */ (element);
}

/** @param {DashboardStats} stats */
function renderKpis(stats) {
  const tipo3 = TIPOS_3.reduce((n, t) => n + (stats.by_type[t] ?? 0), 0);
  byTestId('kpi-total').textContent = formatInteger(stats.total_divergences);
  byTestId('kpi-rate').textContent = formatPercent(stats.divergence_rate);
  byTestId('kpi-tipo1').textContent = formatInteger(stats.by_type.TIPO_1 ?? 0);
  byTestId('kpi-tipo2').textContent = formatInteger(stats.by_type.TIPO_2 ?? 0);
  byTestId('kpi-tipo3').textContent = formatInteger(tipo3);
  for (const t of TIPOS_3) byTestId(`kpi-${t}`).textContent = formatInteger(stats.by_type[t] ?? 0);
  byTestId('kpi-scope').textContent =
    stats.jobs === 0
      ? 'Nenhum job concluído no período selecionado.'
      : `${plural(stats.jobs, 'dia conciliado', 'dias conciliados')} no escopo · ` +
        `${plural(stats.total_lines, 'linha', 'linhas')} do arquivo do fornecedor. ` +
        'Taxa = ordens com divergência ÷ ordens distintas.';
}

const TABLE_COLUMNS = /** @type {const} */ ([
  ['dt', (/** @type {Divergence} */ d) => formatDate(d.dt)],
  ['fornecedor_id', (/** @type {Divergence} */ d) => d.fornecedor_id],
  ['ordem_id', (/** @type {Divergence} */ d) => d.ordem_id],
  ['nome', (/** @type {Divergence} */ d) => d.nome],
  ['tipo_divergencia', (/** @type {Divergence} */ d) => d.tipo_divergencia],
  ['severidade', (/** @type {Divergence} */ d) => d.severidade],
  ['data', (/** @type {Divergence} */ d) => formatDate(d.data)],
  ['valor_csv', (/** @type {Divergence} */ d) => formatDecimal(d.valor_csv)],
  ['valor_base', (/** @type {Divergence} */ d) => formatDecimal(d.valor_base)],
  ['diferenca', (/** @type {Divergence} */ d) => formatDecimal(d.diferenca)],
  ['detalhes', (/** @type {Divergence} */ d) => d.detalhes],
]);
const NUMERIC_COLUMNS = new Set(['valor_csv', 'valor_base', 'diferenca']);

/**
 * One page of the table, built with text nodes only (the rows are data, never markup).
 * @param {DivergencePage} result
 */
function renderTable(result) {
  const rows = document.createDocumentFragment();
  for (const divergence of result.items) {
    const tr = document.createElement('tr');
    tr.dataset.testid = 'divergence-row';
    for (const [column, value] of TABLE_COLUMNS) {
      const td = document.createElement('td');
      td.dataset.col = column;
      if (NUMERIC_COLUMNS.has(column)) td.className = 'num';
      if (column === 'severidade') {
        const badge = document.createElement('span');
        badge.className = `badge severity-${divergence.severidade.toLowerCase()}`;
        badge.textContent = value(divergence);
        badge.title = SEVERIDADE_LABELS[divergence.severidade] ?? '';
        td.append(badge);
      } else {
        td.textContent = value(divergence);
      }
      tr.append(td);
    }
    rows.append(tr);
  }
  if (result.items.length === 0) {
    const tr = document.createElement('tr');
    const td = document.createElement('td');
    td.colSpan = TABLE_COLUMNS.length;
    td.className = 'empty';
    td.dataset.testid = 'table-empty';
    td.textContent = 'Nenhuma divergência encontrada para os filtros selecionados.';
    tr.append(td);
    rows.append(tr);
  }
  byTestId('divergences-body').replaceChildren(rows);

  const pages = pageCount(result);
  byTestId('table-total').textContent = plural(result.total, 'divergência', 'divergências');
  const page = result.page ?? 1; // null only for cursor paging, which this page does not use
  byTestId('page-info').textContent = `Página ${formatInteger(page)} de ${formatInteger(pages)}`;
  /** @type {HTMLButtonElement} */ (byTestId('page-prev')).disabled = page <= 1;
  /** @type {HTMLButtonElement} */ (byTestId('page-next')).disabled = page >= pages;
}

/** @param {DivergencePage} result */
const pageCount = (result) => Math.max(1, Math.ceil(result.total / (result.page_size || 100)));

/** The export link follows the filters (never the page: the CSV holds every matching row). */
function renderExportLink(/** @type {Filters} */ filters) {
  const link = /** @type {HTMLAnchorElement} */ (byTestId('export-csv'));
  link.href = withQuery('/v1/divergences.csv', filterParams(filters));
  const period = [filters.dt_from, filters.dt_to].filter(Boolean).join('_a_');
  link.download = period ? `divergencias_${period}.csv` : 'divergencias.csv';
}

// ---------------------------------------------------------------------------------------------
// The page
// ---------------------------------------------------------------------------------------------

/**
 * What the page shows: `login` (asking for a key), `loading`, `ready` or `error`. Kept on
 * `<body data-state>` for styling and for the browser tests to wait on.
 * @param {'login' | 'loading' | 'ready' | 'error'} state
 */
function setPageState(state) {
  document.body.dataset.state = state;
  for (const id of ['divergences-table', 'kpis'])
    byTestId(id).setAttribute('aria-busy', String(state === 'loading'));
}

/** @param {string} message */
function setStatus(message) {
  byTestId('status').textContent = message;
}

/** @param {string | null} message */
function showError(message, target = 'error') {
  const element = byTestId(target);
  element.textContent = message ?? '';
  element.hidden = message === null;
}

class DashboardPage {
  constructor() {
    this.filterForm = /** @type {HTMLFormElement} */ (byTestId('filters'));
    this.loginForm = /** @type {HTMLFormElement} */ (byTestId('login-form'));
    /** @type {Filters} */
    this.filters = emptyFilters();
    this.page = 1;
    /** @type {DashboardCharts | null} */
    this.charts = null;
    /** The load in flight; a newer one aborts it, so a slow answer never overwrites a newer one. */
    /** @type {AbortController | null} */
    this.inFlight = null;
  }

  start() {
    this.loginForm.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.login();
    });
    byTestId('logout').addEventListener('click', () => void this.logout());
    this.filterForm.addEventListener('submit', (event) => {
      event.preventDefault();
      this.applyFilters(readFilterForm(this.filterForm));
    });
    byTestId('filter-clear').addEventListener('click', () => {
      writeFilterForm(this.filterForm, emptyFilters());
      this.applyFilters(emptyFilters());
    });
    byTestId('export-csv').addEventListener('click', (event) => this.exportCsv(event));
    byTestId('page-prev').addEventListener('click', () => this.goToPage(this.page - 1));
    byTestId('page-next').addEventListener('click', () => this.goToPage(this.page + 1));
    window.addEventListener('popstate', () => {
      if (!this.charts) return;
      this.readUrl();
      void this.load({ stats: true });
    });
    void this.resumeSession();
  }

  /** Shows the dashboard when the cookie still holds a session, else the login form. */
  async resumeSession() {
    setPageState('loading');
    setStatus('Verificando sessão…');
    try {
      this.showDashboard(await api('/v1/me'));
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) this.showLogin(null);
      else this.showLogin(describeError(error));
    }
  }

  async login() {
    const input = /** @type {HTMLInputElement} */ (byTestId('api-key'));
    const apiKey = input.value.trim();
    if (!apiKey) {
      showError('Informe a chave de API.', 'login-error');
      input.focus();
      return;
    }
    const submit = /** @type {HTMLButtonElement} */ (byTestId('login-submit'));
    submit.disabled = true;
    setStatus('Entrando…');
    try {
      await api('/v1/session', { method: 'POST', body: { api_key: apiKey } });
      input.value = '';
      showError(null, 'login-error');
      this.showDashboard(await api('/v1/me'));
    } catch (error) {
      setPageState('login');
      setStatus('');
      showError(
        error instanceof ApiError && error.status === 401
          ? 'Chave de API inválida ou revogada.'
          : describeError(error),
        'login-error',
      );
    } finally {
      submit.disabled = false;
    }
  }

  async logout() {
    this.inFlight?.abort();
    try {
      await api('/v1/session', { method: 'DELETE' });
      this.showLogin(null);
      setStatus('Sessão encerrada.');
    } catch (error) {
      // A session that had already expired is as good as ended.
      if (error instanceof ApiError && error.status === 401) this.showLogin(null);
      else showError(describeError(error));
    }
  }

  /**
   * The export link downloads natively (the file streams to disk), but a session that expired
   * would have the browser save the server's 401 answer as the CSV: the session is checked first,
   * and only a click that passed the check goes through.
   * @param {MouseEvent} event
   */
  exportCsv(event) {
    const link = /** @type {HTMLAnchorElement} */ (event.currentTarget);
    if (link.dataset.checked === 'yes') {
      delete link.dataset.checked;
      return;
    }
    event.preventDefault();
    void api('/v1/me').then(
      () => {
        link.dataset.checked = 'yes';
        link.click();
      },
      (error) => {
        if (error instanceof ApiError && error.status === 401) this.showLogin(describeError(error));
        else showError(`Exportação não iniciada. ${describeError(error)}`);
      },
    );
  }

  /** @param {string | null} message an error to show above the form */
  showLogin(message) {
    this.charts?.destroy();
    this.charts = null;
    byTestId('divergences-body').replaceChildren();
    byTestId('dashboard').hidden = true;
    byTestId('session').hidden = true;
    byTestId('login').hidden = false;
    showError(null);
    showError(message, 'login-error');
    setStatus('');
    setPageState('login');
    byTestId('api-key').focus();
  }

  /** @param {{ role: string, key_id: string, name: string | null }} me */
  showDashboard(me) {
    byTestId('session-role').textContent = `${ROLE_LABELS[me.role] ?? me.role} (${me.role})`;
    byTestId('session-name').textContent = me.name ?? '';
    byTestId('session').hidden = false;
    byTestId('login').hidden = true;
    byTestId('dashboard').hidden = false;
    // Charts measure their container: create them only once it is visible.
    this.charts ??= new DashboardCharts(document);
    this.readUrl();
    void this.load({ stats: true });
  }

  /** Filters and page from the address bar into the form and the state. */
  readUrl() {
    const { filters, page } = stateFromSearch(window.location.search);
    this.filters = filters;
    this.page = page;
    writeFilterForm(this.filterForm, filters);
  }

  /**
   * Puts filters and page in the address bar, so a reload or a shared link shows the same view:
   * a new history entry (the back button undoes a filter), or a correction of the current one.
   */
  writeUrl({ replace = false } = {}) {
    const params = filterParams(this.filters);
    if (this.page > 1) params.set('page', String(this.page));
    const url = withQuery(window.location.pathname, params);
    if (url === window.location.pathname + window.location.search) return;
    if (replace) window.history.replaceState(null, '', url);
    else window.history.pushState(null, '', url);
  }

  /** @param {Filters} filters */
  applyFilters(filters) {
    const problem = invalidFilters(filters);
    if (problem) {
      showError(problem);
      return;
    }
    this.filters = filters;
    this.page = 1;
    this.writeUrl();
    void this.load({ stats: true });
  }

  /** @param {number} page */
  goToPage(page) {
    if (page < 1) return;
    this.page = page;
    this.writeUrl();
    void this.load({ stats: false });
  }

  /**
   * Fetches what the filters and page show: the stats (KPIs and charts) unless only the page
   * changed, and the table's page, in parallel.
   * @param {{ stats: boolean }} what
   * @returns {Promise<void>}
   */
  async load({ stats }) {
    this.inFlight?.abort();
    const controller = new AbortController();
    this.inFlight = controller;
    const { signal } = controller;
    const params = filterParams(this.filters);
    renderExportLink(this.filters);
    setPageState('loading');
    setStatus('Carregando…');
    try {
      const tableParams = new URLSearchParams(params);
      tableParams.set('page', String(this.page));
      const [statsResult, pageResult] = await Promise.all([
        stats ? api(withQuery('/v1/stats', params), { signal }) : Promise.resolve(null),
        api(withQuery('/v1/divergences', tableParams), { signal }),
      ]);
      if (signal.aborted) return;
      const lastPage = pageCount(pageResult);
      if (this.page > lastPage) {
        // A page past the end (an old link, or fewer rows now): show the last one instead.
        this.page = lastPage;
        this.writeUrl({ replace: true });
        this.inFlight = null;
        return this.load({ stats: false });
      }
      if (statsResult) {
        renderKpis(statsResult);
        this.charts?.update(statsResult);
      }
      renderTable(pageResult);
      showError(null);
      setStatus(`Atualizado às ${timeFormat.format(new Date())}.`);
      setPageState('ready');
    } catch (error) {
      if (isAbort(error) || signal.aborted) return;
      if (error instanceof ApiError && error.status === 401) {
        this.showLogin(describeError(error));
        return;
      }
      showError(describeError(error));
      setStatus('Não foi possível atualizar o painel.');
      setPageState('error');
    } finally {
      if (this.inFlight === controller) this.inFlight = null;
    }
  }
}

new DashboardPage().start();
