/** Kept apart so `recon --help` and `recon run` do not load the stack (fauxqs, the AWS SDK). */
export const STACK_USAGE = `  recon stack up [--dir .recon/stack] [--port 4566] [--matchers 2] [--database-url URL] [--shards N]
                 [--visibility-timeout 30] [--max-receive-count 5] [--log-level info]
  recon stack drop FILE [--date YYYY-MM-DD] [--dir .recon/stack] [--wait] [--timeout 600]`;
