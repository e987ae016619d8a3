import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
// For `schema.hide`: the page and its assets are not part of the API's OpenAPI description.
import type {} from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';

/**
 * The dashboard ("Visão Geral de Divergências", technical document §4.3): static files only. The
 * page asks for an API key itself and every `/v1` call it makes is authenticated, so these routes
 * need no credentials.
 */

const DASHBOARD_DIR = fileURLToPath(new URL('../dashboard/', import.meta.url));

/**
 * Chart.js's UMD build (defines the global `Chart`). The package does not export its `dist/`
 * folder, so resolve the CommonJS entry (which lives beside it) and take the sibling file.
 */
function chartJsUmdPath(): string {
  const entry = createRequire(import.meta.url).resolve('chart.js');
  return join(dirname(entry), 'chart.umd.js');
}

/**
 * Only this origin's own files; no inline script or style, no plugins, no framing. Chart.js sizes
 * its canvases through the CSSOM (`element.style.x = …`), which `style-src 'self'` allows.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

interface Asset {
  url: string;
  contentType: string;
  body: Buffer;
  cacheControl: string;
}

function loadAssets(): Asset[] {
  const read = (path: string) => readFileSync(path);
  // `no-cache` (revalidate every time) rather than a long max-age: the files carry no content hash
  // in their names, and a stale app.js after an upgrade would talk to a newer API.
  const cacheControl = 'no-cache';
  return [
    {
      url: '/',
      contentType: 'text/html; charset=utf-8',
      body: read(join(DASHBOARD_DIR, 'index.html')),
      cacheControl,
    },
    {
      url: '/assets/app.js',
      contentType: 'text/javascript; charset=utf-8',
      body: read(join(DASHBOARD_DIR, 'app.js')),
      cacheControl,
    },
    {
      url: '/assets/styles.css',
      contentType: 'text/css; charset=utf-8',
      body: read(join(DASHBOARD_DIR, 'styles.css')),
      cacheControl,
    },
    {
      url: '/assets/chart.umd.js',
      contentType: 'text/javascript; charset=utf-8',
      body: read(chartJsUmdPath()),
      cacheControl,
    },
  ];
}

/**
 * Serves the dashboard: `GET /` (the page) and its assets under `/assets/`. The files are read once,
 * when the plugin is registered; a missing file fails the server's start, not a request.
 */
export async function registerDashboard(app: FastifyInstance): Promise<void> {
  for (const asset of loadAssets()) {
    app.get(asset.url, { schema: { hide: true } }, async (_request, reply) => {
      return reply
        .header('content-type', asset.contentType)
        .header('cache-control', asset.cacheControl)
        .header('content-security-policy', DASHBOARD_CSP)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .send(asset.body);
    });
  }
}
