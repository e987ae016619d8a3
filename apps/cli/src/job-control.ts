import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { type JobSummary, ReconError } from '@recon/contracts';

/** SHA-256 of a file (hex): one streaming read, ~0.15 s for a 70 MB day. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * The earliest SUCCEEDED job of the output folder whose file had this SHA-256
 * (`jobs/<job_id>/summary.json`), or undefined.
 */
export async function findSucceededJob(out: string, sha256: string): Promise<JobSummary | undefined> {
  let ids: string[];
  try {
    ids = (await readdir(join(out, 'jobs'))).filter((d) => d.startsWith('JOB-')).sort();
  } catch {
    return undefined;
  }
  for (const id of ids) {
    let summary: JobSummary;
    try {
      summary = JSON.parse(await readFile(join(out, 'jobs', id, 'summary.json'), 'utf8')) as JobSummary;
    } catch {
      continue;
    }
    if (summary.status === 'SUCCEEDED' && summary.file_sha256 === sha256) return summary;
  }
  return undefined;
}

interface LockBody {
  pid: number;
  jobId: string;
  at: string;
}

/** Whether a process with this pid is alive (EPERM: alive, not ours). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One job per reference date at a time (RULES §7), in one output folder: an exclusive lock file
 * `jobs/.locks/<date>.lock` (created with O_EXCL) holding the pid and job id. A second job for the
 * date is refused (JOB_RUNNING, naming the running job); a lock whose pid is dead (a process that
 * was killed) is taken over.
 */
export class DateLock {
  private constructor(
    private readonly path: string,
    private readonly body: string,
  ) {}

  static async acquire(out: string, referenceDate: string, jobId: string): Promise<DateLock> {
    const dir = join(out, 'jobs', '.locks');
    await mkdir(dir, { recursive: true });
    const path = join(dir, `${referenceDate}.lock`);
    const body = `${JSON.stringify({ pid: process.pid, jobId, at: new Date().toISOString() } satisfies LockBody)}\n`;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const handle = await open(path, 'wx');
        try {
          await handle.writeFile(body);
        } finally {
          await handle.close();
        }
        return new DateLock(path, body);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      let holder: LockBody | undefined;
      try {
        holder = JSON.parse(await readFile(path, 'utf8')) as LockBody;
      } catch {
        // Being written this very moment, or garbage: treat a garbage lock as stale below.
        holder = undefined;
      }
      if (holder !== undefined && alive(holder.pid)) {
        throw new ReconError(
          'JOB_RUNNING',
          `job ${holder.jobId} (pid ${holder.pid}, since ${holder.at}) is already reconciling reference date ${referenceDate} in this output folder; one job per date at a time — retry when it has ended`,
        );
      }
      if (attempt === 0) await unlink(path).catch(() => undefined);
    }
    throw new ReconError(
      'JOB_RUNNING',
      `another job took the lock of reference date ${referenceDate} (${path}) at the same moment; retry when it has ended`,
    );
  }

  /** Removes the lock if it is still ours. */
  async release(): Promise<void> {
    try {
      if ((await readFile(this.path, 'utf8')) === this.body) await unlink(this.path);
    } catch {
      // Already gone.
    }
  }
}
