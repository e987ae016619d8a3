import { mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type JobSummary, SEVERIDADES, TIPOS } from '@recon/contracts';
import { maskNome } from '@recon/rules';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/browser.ts';
import { startTestServer } from '../support/serve.ts';

/**
 * The dashboard of `recon serve` in a real headless Chromium against the real server (embedded
 * PostgreSQL, days reconciled by the real pipeline). Every expected number comes from the jobs'
 * summary.json, never from the API the page itself reads.
 */

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const PAGE_SIZE = 100;

type Server = Awaited<ReturnType<typeof startTestServer>>;

/** The page's globals, typed just enough for `page.evaluate` (the project's tsconfig has no DOM lib). */
interface PageGlobals {
  Chart: {
    getChart(canvas: unknown): { data: { labels: unknown[]; datasets: { data: unknown[] }[] } } | undefined;
  };
  document: { querySelector(selector: string): unknown; body: { dataset: { state?: string } } };
}

let server: Server;
let browser: Browser;
let viewer: BrowserContext;
let page: Page;
/** Console errors and uncaught exceptions of the viewer's page (a CSP violation shows up here). */
const pageErrors: string[] = [];

// Expected values, pt-BR, written independently of the page's Intl-based formatting.
const ptInteger = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, '.');
const ptPercent = (rate: number) => `${(rate * 100).toFixed(2).replace('.', ',')}%`;
const parsePtPercent = (text: string) =>
  Number(text.replace('%', '').replace(/\./g, '').replace(',', '.')) / 100;

const totalOf = (s: JobSummary) => TIPOS.reduce((n, t) => n + s.divergences[t], 0);
const sumOver = (summaries: readonly JobSummary[], f: (s: JobSummary) => number) =>
  summaries.reduce((n, s) => n + f(s), 0);

beforeAll(async () => {
  // Chromium first: when it is missing, fail at once with the instructions, before the slow setup.
  browser = await launchChromium();
  server = await startTestServer({ days: 2 });
  expect(server.summaries.length).toBe(2);
  for (const s of server.summaries) expect(s.status).toBe('SUCCEEDED');
  viewer = await newContext();
  page = await viewer.newPage();
  page.on('console', (message) => {
    // The 401s of "not logged in yet" and of the wrong key are expected; anything else is not.
    if (message.type() === 'error' && !/status of 401/.test(message.text())) pageErrors.push(message.text());
  });
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  page.on('response', (response) => {
    if (response.status() >= 400 && response.status() !== 401)
      pageErrors.push(`${response.status()} ${response.url()}`);
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function newContext(): Promise<BrowserContext> {
  const context = await browser.newContext({
    viewport: { width: 1440, height: 900 },
    locale: 'pt-BR',
    reducedMotion: 'reduce',
    acceptDownloads: true,
  });
  context.setDefaultTimeout(15_000);
  return context;
}

/**
 * Runs an action that reloads the dashboard and waits until the page has drawn the answer: the
 * page marks `<body data-state="loading">` before its requests and `ready` (or `error`) after.
 */
async function settle(target: Page, action: () => Promise<unknown>): Promise<void> {
  const tableAnswered = target.waitForResponse((r) => new URL(r.url()).pathname === '/v1/divergences');
  await action();
  await tableAnswered;
  // Functions, not strings: the page's CSP forbids eval, and Playwright evaluates strings in its world.
  const state = () => (globalThis as unknown as PageGlobals).document.body.dataset.state;
  await target.waitForFunction(() => {
    const current = (globalThis as unknown as PageGlobals).document.body.dataset.state;
    return current === 'ready' || current === 'error';
  });
  if ((await target.evaluate(state)) !== 'ready') {
    throw new Error(`the dashboard shows an error: ${await target.getByTestId('error').textContent()}`);
  }
}

async function login(target: Page, key: string): Promise<void> {
  await target.getByTestId('api-key').fill(key);
  await settle(target, () => target.getByTestId('login-submit').click());
}

async function text(target: Page, testId: string): Promise<string> {
  return ((await target.getByTestId(testId).textContent()) ?? '').trim();
}

/** The cells of one column of the table, in row order. */
async function column(target: Page, name: string): Promise<string[]> {
  return target.locator(`[data-testid="divergence-row"] td[data-col="${name}"]`).allTextContents();
}

/** The cells of a chart's data table, row by row (the row header first). */
async function dataTable(target: Page, testId: string): Promise<string[][]> {
  const rows = target.locator(`[data-testid="${testId}"] tbody tr`);
  const out: string[][] = [];
  for (let k = 0; k < (await rows.count()); k++) {
    out.push((await rows.nth(k).locator('th, td').allTextContents()).map((c) => c.trim()));
  }
  return out;
}

/** What the Chart.js instance on a canvas holds right now. */
async function chartData(target: Page, testId: string): Promise<{ labels: unknown[]; data: unknown[][] }> {
  return target.evaluate((id) => {
    const g = globalThis as unknown as PageGlobals;
    const chart = g.Chart.getChart(g.document.querySelector(`[data-testid="${id}"]`));
    if (!chart) throw new Error(`no Chart.js chart on ${id}`);
    return { labels: [...chart.data.labels], data: chart.data.datasets.map((d) => [...d.data]) };
  }, testId);
}

async function setTipos(target: Page, tipos: readonly string[]): Promise<void> {
  for (const t of TIPOS) {
    await target.locator(`input[name="tipo"][value="${t}"]`).setChecked(tipos.includes(t));
  }
}

/** A `;`-separated CSV (RFC 4180 quoting) into rows of cells. */
function parseCsv(content: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  const body = content.replace(/^\uFEFF/, '');
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (quoted) {
      if (c === '"' && body[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ';') {
      row.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && body[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += c;
  }
  if (cell !== '' || row.length > 0) rows.push([...row, cell]);
  return rows;
}

describe('the dashboard in headless Chromium', () => {
  it('asks for an API key, refuses a wrong one and logs a viewer in', async () => {
    await page.goto(server.url);
    await expect.poll(() => page.getByTestId('login').isVisible()).toBe(true);
    expect(await page.getByTestId('dashboard').isVisible()).toBe(false);

    await page.getByTestId('api-key').fill('rk_nao_existe_123');
    await page.getByTestId('login-submit').click();
    await expect.poll(() => text(page, 'login-error')).toBe('Chave de API inválida ou revogada.');

    await login(page, server.keys.viewer);
    expect(await page.getByTestId('login').isVisible()).toBe(false);
    expect(await text(page, 'session-role')).toContain('viewer');
  });

  it('shows KPIs and charts equal to the job summaries', async () => {
    const { summaries } = server;
    const total = sumOver(summaries, totalOf);
    const tipo3 = TIPOS.filter((t) => t.startsWith('TIPO_3_'));
    expect(await text(page, 'kpi-total')).toBe(ptInteger(total));
    expect(await text(page, 'kpi-tipo1')).toBe(ptInteger(sumOver(summaries, (s) => s.divergences.TIPO_1)));
    expect(await text(page, 'kpi-tipo2')).toBe(ptInteger(sumOver(summaries, (s) => s.divergences.TIPO_2)));
    expect(await text(page, 'kpi-tipo3')).toBe(
      ptInteger(sumOver(summaries, (s) => tipo3.reduce((n, t) => n + s.divergences[t], 0))),
    );
    for (const t of tipo3) {
      expect(await text(page, `kpi-${t}`)).toBe(ptInteger(sumOver(summaries, (s) => s.divergences[t])));
    }
    // Over several days the rate is their orders-weighted mean: between the days' own rates.
    const rate = parsePtPercent(await text(page, 'kpi-rate'));
    const rates = summaries.map((s) => s.divergence_rate);
    expect(rate).toBeGreaterThanOrEqual(Math.min(...rates) - 0.00005);
    expect(rate).toBeLessThanOrEqual(Math.max(...rates) + 0.00005);

    const byType = await chartData(page, 'chart-type');
    expect(byType.data[0]).toEqual(TIPOS.map((t) => sumOver(summaries, (s) => s.divergences[t])));
    const bySeverity = await chartData(page, 'chart-severity');
    expect(bySeverity.data[0]).toEqual(SEVERIDADES.map((v) => sumOver(summaries, (s) => s.by_severity[v])));
    const byDay = [...summaries].sort((a, b) => a.reference_date.localeCompare(b.reference_date));
    const trend = await chartData(page, 'chart-trend');
    expect(trend.data[0]).toEqual(byDay.map(totalOf));
    expect(trend.data[1]).toHaveLength(byDay.length);
    for (const [i, s] of byDay.entries()) expect(trend.data[1]![i]).toBeCloseTo(s.divergence_rate, 9);

    expect(await text(page, 'table-total')).toBe(`${ptInteger(total)} divergências`);
    expect(await page.getByTestId('divergence-row').count()).toBe(Math.min(PAGE_SIZE, total));

    // Each chart's numbers are also a table under it (screen readers, keyboards, exact values).
    const typeRows = await dataTable(page, 'chart-type-data');
    expect(typeRows.map((r) => r[1])).toEqual(
      TIPOS.map((t) => ptInteger(sumOver(summaries, (s) => s.divergences[t]))),
    );
    const severityRows = await dataTable(page, 'chart-severity-data');
    expect(severityRows.map((r) => r[1])).toEqual(
      SEVERIDADES.map((v) => ptInteger(sumOver(summaries, (s) => s.by_severity[v]))),
    );
    const trendRows = await dataTable(page, 'chart-trend-data');
    expect(trendRows.map((r) => [r[1], r[2]])).toEqual(
      byDay.map((s) => [ptInteger(totalOf(s)), ptPercent(s.divergence_rate)]),
    );
    expect((await dataTable(page, 'chart-suppliers-data')).length).toBe(
      (await chartData(page, 'chart-suppliers')).labels.length,
    );
  });

  it('scrolls the divergence table sideways from the keyboard, on a narrow screen', async () => {
    await page.setViewportSize({ width: 760, height: 900 });
    // A named region, so a screen reader announces what the focus landed on.
    const region = page.getByRole('region', { name: 'Tabela de divergências (rolável)' });
    expect(await region.getAttribute('data-testid')).toBe('table-scroll');
    expect(await region.getAttribute('tabindex')).toBe('0');
    const widths = await region.evaluate((el) => {
      const box = el as unknown as { scrollWidth: number; clientWidth: number };
      return { scroll: box.scrollWidth, client: box.clientWidth };
    });
    expect(widths.scroll).toBeGreaterThan(widths.client); // there is something to scroll to
    await region.focus();
    for (let k = 0; k < 5; k++) await page.keyboard.press('ArrowRight');
    await expect
      .poll(() => region.evaluate((el) => (el as unknown as { scrollLeft: number }).scrollLeft))
      .toBeGreaterThan(0);
    await region.evaluate((el) => {
      (el as unknown as { scrollLeft: number }).scrollLeft = 0;
    });
    await page.setViewportSize({ width: 1440, height: 900 });
  });

  it('a one-day period shows exactly that job: rate, types and top suppliers', async () => {
    const day = server.summaries[0]!;
    await page.getByTestId('filter-dt-from').fill(day.reference_date);
    await page.getByTestId('filter-dt-to').fill(day.reference_date);
    await settle(page, () => page.getByTestId('filter-apply').click());

    expect(await text(page, 'kpi-total')).toBe(ptInteger(totalOf(day)));
    expect(await text(page, 'kpi-rate')).toBe(ptPercent(day.divergence_rate));
    expect((await chartData(page, 'chart-type')).data[0]).toEqual(TIPOS.map((t) => day.divergences[t]));
    const suppliers = await chartData(page, 'chart-suppliers');
    expect(suppliers.labels).toEqual(day.top_suppliers.map((s) => s.fornecedor_id));
    expect(suppliers.data[0]).toEqual(day.top_suppliers.map((s) => s.count));
    const url = new URL(page.url());
    expect([url.searchParams.get('dt_from'), url.searchParams.get('dt_to')]).toEqual([
      day.reference_date,
      day.reference_date,
    ]);

    await settle(page, () => page.getByTestId('filter-clear').click());
    expect(await text(page, 'kpi-total')).toBe(ptInteger(sumOver(server.summaries, totalOf)));
    expect(new URL(page.url()).search).toBe('');
  });

  it('a tipo filter changes the table, the KPIs and the charts; the URL keeps it', async () => {
    const expected = sumOver(server.summaries, (s) => s.divergences.TIPO_1);
    expect(expected).toBeGreaterThan(2 * PAGE_SIZE);
    await setTipos(page, ['TIPO_1']);
    await settle(page, () => page.getByTestId('filter-apply').click());

    expect(new URL(page.url()).searchParams.get('tipo')).toBe('TIPO_1');
    expect(await text(page, 'table-total')).toBe(`${ptInteger(expected)} divergências`);
    const tipos = await column(page, 'tipo_divergencia');
    expect(tipos).toHaveLength(PAGE_SIZE);
    expect(new Set(tipos)).toEqual(new Set(['TIPO_1']));
    expect(await text(page, 'kpi-total')).toBe(ptInteger(expected));
    expect((await chartData(page, 'chart-type')).data[0]).toEqual(
      TIPOS.map((t) => (t === 'TIPO_1' ? expected : 0)),
    );
    const severities = (await chartData(page, 'chart-severity')).data[0] as number[];
    expect(severities.reduce((a, b) => a + b, 0)).toBe(expected);
    const trend = (await chartData(page, 'chart-trend')).data[0] as number[];
    expect(trend.reduce((a, b) => a + b, 0)).toBe(expected);
  });

  it('pages through the filtered rows, and a reload keeps filters and page', async () => {
    const total = sumOver(server.summaries, (s) => s.divergences.TIPO_1);
    const pages = Math.ceil(total / PAGE_SIZE);
    expect(await text(page, 'page-info')).toBe(`Página 1 de ${ptInteger(pages)}`);
    expect(await page.getByTestId('page-prev').isDisabled()).toBe(true);
    const firstPage = await column(page, 'ordem_id');

    await settle(page, () => page.getByTestId('page-next').click());
    expect(await text(page, 'page-info')).toBe(`Página 2 de ${ptInteger(pages)}`);
    expect(new URL(page.url()).searchParams.get('page')).toBe('2');
    const secondPage = await column(page, 'ordem_id');
    expect(secondPage).toHaveLength(Math.min(PAGE_SIZE, total - PAGE_SIZE));
    expect(secondPage.filter((o) => firstPage.includes(o))).toEqual([]);
    expect(new Set(await column(page, 'tipo_divergencia'))).toEqual(new Set(['TIPO_1']));

    await settle(page, () => page.reload());
    expect(await text(page, 'page-info')).toBe(`Página 2 de ${ptInteger(pages)}`);
    expect(await column(page, 'ordem_id')).toEqual(secondPage);
    expect(await page.locator('input[name="tipo"][value="TIPO_1"]').isChecked()).toBe(true);
    expect(await page.locator('input[name="tipo"]:checked').count()).toBe(1);
  });

  it('exports exactly the filtered rows as CSV', async () => {
    const expected = sumOver(server.summaries, (s) => s.divergences.TIPO_1);
    const onScreen = await column(page, 'ordem_id');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('export-csv').click(),
    ]);
    expect(await download.failure()).toBeNull();
    const [header, ...rows] = parseCsv(readFileSync(await download.path(), 'utf8'));
    expect(header).toContain('tipo_divergencia');
    const tipo = header!.indexOf('tipo_divergencia');
    const ordem = header!.indexOf('ordem_id');
    expect(rows).toHaveLength(expected);
    expect(new Set(rows.map((r) => r[tipo]))).toEqual(new Set(['TIPO_1']));
    const exported = new Set(rows.map((r) => r[ordem]));
    expect(onScreen.filter((o) => !exported.has(o))).toEqual([]);
  });

  it('an export after the session expired asks for the key again instead of saving the 401 answer', async () => {
    const context = await newContext();
    try {
      const other = await context.newPage();
      await other.goto(server.url);
      await login(other, server.keys.viewer);
      const downloads: unknown[] = [];
      other.on('download', (d) => downloads.push(d));
      await context.clearCookies(); // the session cookie is gone: as after it expired
      await other.getByTestId('export-csv').click();
      await expect.poll(() => other.getByTestId('login').isVisible()).toBe(true);
      expect(await text(other, 'login-error')).toContain('Sessão expirada');
      expect(downloads).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('masks nome for a viewer and shows it whole to an operator', async () => {
    const masked = await column(page, 'nome');
    expect(masked.length).toBeGreaterThan(0);
    for (const nome of masked) expect(nome).toMatch(/^\*\*\*\S*$/);

    // The operator opens the same address (filters and page in the URL) in a browser of its own.
    const operator = await newContext();
    try {
      const operatorPage = await operator.newPage();
      await operatorPage.goto(page.url());
      await login(operatorPage, server.keys.operator);
      expect(await text(operatorPage, 'session-role')).toContain('operator');
      expect(await column(operatorPage, 'ordem_id')).toEqual(await column(page, 'ordem_id'));
      const whole = await column(operatorPage, 'nome');
      expect(whole.some((n) => n.startsWith('***'))).toBe(false);
      expect(whole.map(maskNome)).toEqual(masked);
    } finally {
      await operator.close();
    }
  });

  it('keeps a screenshot of the whole page, raised no browser error, and logs out', async () => {
    await settle(page, () => page.getByTestId('filter-clear').click());
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}dashboard.png`, fullPage: true });

    expect(pageErrors).toEqual([]);

    await page.getByTestId('logout').click();
    await expect.poll(() => page.getByTestId('login').isVisible()).toBe(true);
    await page.reload();
    await expect.poll(() => page.getByTestId('login').isVisible()).toBe(true);
  });
});
