/** Kept apart so `recon --help` does not load the server (Fastify, pg). */
export const SERVE_USAGE = `  recon serve [--out DIR] [--database-url URL] [--host 127.0.0.1] [--port 8080]
              [--base-csv F | --base-relation transacoes] [--scope date-window|all] [--ingress DIR]
              [--upload-limit-mb 1024]
  recon serve --distributed [--host 0.0.0.0] [--port 8080]   (or RECON_SERVE_RUNTIME=distributed: the
              admin API over the distributed runtime; buckets, queues and DATABASE_URL as the services)
  recon keys create --role viewer|operator|admin [--name N] [--database-url URL] [--json]
  recon keys list [--database-url URL] [--json]
  recon keys revoke ID [--database-url URL]`;
