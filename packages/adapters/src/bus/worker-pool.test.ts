import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Envelope } from '@recon/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkerPool } from './worker-pool.ts';

// Worker modules speaking the pool's protocol (see WorkerToMain), written as plain JavaScript.
const HEALTHY = `
import { parentPort } from 'node:worker_threads';
parentPort.on('message', (m) => {
  if (m.kind !== 'task') return;
  if (m.envelope.payload.crash) process.exit(3);
  parentPort.postMessage({ kind: 'done', id: m.id, ok: true });
});
parentPort.postMessage({ kind: 'ready' });
`;
const BROKEN = `
import { appendFileSync } from 'node:fs';
import { workerData } from 'node:worker_threads';
appendFileSync(workerData.starts, 'x');
throw new Error('cannot load: a dependency is missing');
`;

/**
 * A worker loaded from a bundle (workerData.afterRun: whether with a code cache written after a
 * run) that writes "its code cache" (a line in workerData.log) when asked, unless workerData.mute.
 */
const CACHING = `
import { appendFileSync } from 'node:fs';
import { parentPort, threadId, workerData } from 'node:worker_threads';
parentPort.on('message', (m) => {
  if (m.kind === 'write-code-cache') {
    if (workerData.mute) return;
    appendFileSync(workerData.log, 'cache by thread ' + threadId + '\\n');
    parentPort.postMessage({ kind: 'code-cache-written', ok: true });
  } else if (m.kind === 'task') {
    appendFileSync(workerData.log, 'task on thread ' + threadId + '\\n');
    parentPort.postMessage({ kind: 'done', id: m.id, ok: true });
  }
});
parentPort.postMessage({ kind: 'ready', codeCacheAfterRun: workerData.afterRun });
`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recon-worker-pool-'));
  await writeFile(join(dir, 'healthy.mjs'), HEALTHY);
  await writeFile(join(dir, 'broken.mjs'), BROKEN);
  await writeFile(join(dir, 'caching.mjs'), CACHING);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const envelope = (payload: Record<string, unknown> = {}) =>
  ({ id: 'e', type: 'shard.ready', correlationId: 'J', payload }) as unknown as Envelope;

function pool(module: string, workerData: unknown = {}) {
  return new WorkerPool({
    size: 2,
    boot: { url: pathToFileURL(join(dir, module)), execArgv: [] },
    workerData,
    rpc: async () => undefined,
  });
}

describe('WorkerPool', () => {
  it('has the worker that ran the most tasks write its code cache when it closes, if none had one after a run', async () => {
    const run = async (name: string, data: Record<string, unknown>, tasks: number) => {
      const log = join(dir, `${name}.log`);
      await writeFile(log, '');
      const p = pool('caching.mjs', { log, ...data });
      // One at a time: the first worker to take one takes them all (the other is never asked).
      for (let k = 0; k < tasks; k++) await p.run('matcher', envelope());
      const started = performance.now();
      await p.close();
      const lines = (await readFile(log, 'utf8')).trim().split('\n').filter(Boolean);
      return { lines, closeMs: performance.now() - started };
    };
    const cold = await run('cold', { afterRun: false }, 3);
    expect(cold.lines).toHaveLength(4);
    const thread = cold.lines[0]!.replace('task on thread ', '');
    expect(cold.lines[3]).toBe(`cache by thread ${thread}`);
    // Compiled with such a cache already, or from TypeScript (no bundle), or nothing ran: no cache.
    expect((await run('warm', { afterRun: true }, 3)).lines).toHaveLength(3);
    expect((await run('tsx', { afterRun: null }, 3)).lines).toHaveLength(3);
    expect((await run('idle', { afterRun: false }, 0)).lines).toHaveLength(0);
    // A worker that does not answer is terminated after a while, as the others.
    const mute = await run('mute', { afterRun: false, mute: true }, 1);
    expect(mute.lines).toHaveLength(1);
    expect(mute.closeMs).toBeGreaterThan(2500);
  }, 20_000);

  it('runs tasks on its workers, and replaces a worker that crashes during a task', async () => {
    const p = pool('healthy.mjs');
    try {
      await Promise.all(Array.from({ length: 5 }, () => p.run('matcher', envelope())));
      await expect(p.run('matcher', envelope({ crash: true }))).rejects.toThrow(/worker exited with code 3/);
      await Promise.all(Array.from({ length: 3 }, () => p.run('matcher', envelope())));
      expect(p.startFailure).toBeNull();
    } finally {
      await p.close();
    }
  });

  it('refuses every task with the reason when its workers cannot load, and starts them only once', async () => {
    const starts = join(dir, 'starts.txt');
    await writeFile(starts, '');
    const p = pool('broken.mjs', { starts });
    try {
      await expect(p.run('ingest', envelope())).rejects.toThrow(
        /worker threads could not start: cannot load: a dependency is missing/,
      );
      await expect(p.run('ingest', envelope())).rejects.toThrow(/could not start/);
      expect(p.startFailure?.message).toMatch(/could not start/);
      // A worker that cannot load is not replaced over and over.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await readFile(starts, 'utf8')).length).toBeLessThanOrEqual(2);
    } finally {
      await p.close();
    }
  });
});
