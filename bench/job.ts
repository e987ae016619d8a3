/**
 * One measured job in its own process, so peak memory is this job's alone. Prints one JSON line.
 * Usage: tsx bench/job.ts '<json ReconcileParams>'
 */
import { type ReconcileParams, reconcile } from '../apps/cli/src/reconcile.ts';

const params = JSON.parse(process.argv[2]!) as ReconcileParams;
const started = performance.now();
const cpuBefore = process.cpuUsage();
const { summary } = await reconcile(params);
const seconds = (performance.now() - started) / 1000;
// Every thread of the process (the worker threads too): the work done, whatever else ran.
const cpu = process.cpuUsage(cpuBefore);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
process.stdout.write(
  `${JSON.stringify({ seconds, cpuSeconds, maxRssMb: process.resourceUsage().maxRSS / 1024, summary })}\n`,
);
