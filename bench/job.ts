/**
 * One measured job in its own process, so peak memory is this job's alone. Prints one JSON line.
 * Usage: tsx bench/job.ts '<json ReconcileParams>' [--warm]
 *
 * `--warm` measures a second job on the same runtime, whose workers already ran the first one
 * (their code loaded, compiled and optimized), as in a long-running process; peak memory is then
 * that of both jobs.
 */
import { workerBootSource } from '../apps/cli/src/embedded/worker-bundle.ts';
import { openRuntime, type ReconcileParams, reconcile } from '../apps/cli/src/reconcile.ts';

const params = JSON.parse(process.argv[2]!) as ReconcileParams;
const warm = process.argv.includes('--warm');
const shared = warm ? openRuntime(params) : undefined;
try {
  // The warm-up: the same job, unmeasured (its own job id, in the same output folder).
  if (shared !== undefined) await reconcile(params, shared);
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const { summary } = await reconcile(params, shared);
  const seconds = (performance.now() - started) / 1000;
  // Every thread of the process (the worker threads too): the work done, whatever else ran.
  const cpu = process.cpuUsage(cpuBefore);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  process.stdout.write(
    `${JSON.stringify({ seconds, cpuSeconds, maxRssMb: process.resourceUsage().maxRSS / 1024, summary, workerBoot: workerBootSource() })}\n`,
  );
} finally {
  await shared?.runtime.close();
}
