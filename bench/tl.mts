import { writeFileSync } from 'node:fs';
import { reconcile } from '../apps/cli/src/reconcile.ts';
const lines: string[] = [];
const t0 = performance.now();
const c0 = process.cpuUsage();
const { summary } = await reconcile({
  file: '.recon/bench/day-1000000/vendor.csv', out: '/tmp/tl-out', base: { kind: 'csv', path: '.recon/bench/day-1000000/base.csv' },
  scope: 'all', logLevel: (process.env.LL ?? 'info') as 'info', logDestination: (l) => lines.push(`${(performance.now() - t0).toFixed(0)} ${l}`),
  jobId: `JOB-20261122-${String(Math.floor(Math.random()*900000)+100000)}`,
});
const c = process.cpuUsage(c0);
writeFileSync('/tmp/tl-log', lines.join('\n'));
console.log('wall', ((performance.now() - t0) / 1000).toFixed(2), 'cpu', ((c.user + c.system) / 1e6).toFixed(2), JSON.stringify(summary.stage_seconds));
