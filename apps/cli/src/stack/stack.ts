import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createS3Client,
  createSqsClient,
  ensureBucket,
  ensureReconQueues,
  type PostgresHandle,
  type QueueWithDlq,
  startEmbeddedPostgres,
} from '@recon/adapters';
import { QUEUES, type QueueName, ReconError } from '@recon/contracts';
import { type FauxqsServer, startFauxqs } from 'fauxqs';

/** The processes of the distributed runtime (the matcher may run several times). */
export type ServiceName = QueueName;
export const SERVICES: readonly ServiceName[] = QUEUES;

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const TSX_LOADER = import.meta.resolve('tsx');
/** Dummy credentials: fauxqs accepts any; the SDK needs some. */
const LOCAL_CREDENTIALS = { accessKeyId: 'recon', secretAccessKey: 'recon' };

export interface StackOptions {
  /** Folder of the stack's state: `stack.json`, the embedded PostgreSQL's data (`pg/`). */
  dir: string;
  /** PostgreSQL of the job store and the base; unset: an embedded server under `<dir>/pg`. */
  databaseUrl?: string;
  /** Port of the SQS/S3 emulator (fauxqs); 0 picks a free one. Default 4566. */
  port?: number;
  /** Matcher processes; default 2. */
  matchers?: number;
  queuePrefix?: string;
  storeBucket?: string;
  ingressBucket?: string;
  /** Bucket of the intermediate `work/` objects (as in AWS, apart from the outputs). */
  workBucket?: string;
  /** Visibility timeout of every queue and consumer (seconds); default 30. */
  visibilityTimeoutSeconds?: number;
  /** Receives before a message is dead-lettered; default 5. */
  maxReceiveCount?: number;
  /** Environment of every service (e.g. RECON_SHARDS for ingest is per service: see serviceEnv). */
  env?: Record<string, string>;
  serviceEnv?: Partial<Record<ServiceName, Record<string, string>>>;
  logLevel?: 'error' | 'warn' | 'info' | 'debug';
  /** Every line a service writes (stderr JSON logs and stdout), with the process's name. */
  onLine?: (process: string, line: string) => void;
}

/** What `recon stack drop` (another process) needs to reach a running stack. */
export interface StackState {
  endpoint: string;
  region: string;
  queuePrefix: string;
  storeBucket: string;
  ingressBucket: string;
  workBucket: string;
  databaseUrl: string;
  queues: Record<QueueName, QueueWithDlq>;
  processes: { name: string; pid: number }[];
}

/** A parsed JSON log line of a service. */
export type LogRecord = Record<string, unknown> & { msg?: string; service?: string; pid?: number };

export interface ServiceProcess {
  /** `ingest`, `partition`, `matcher-1`, `matcher-2`, … */
  name: string;
  service: ServiceName;
  child: ChildProcess;
  pid: number;
  logs: LogRecord[];
  /** Resolves with the exit code (or signal) when the process ends. */
  exited: Promise<number | string>;
  alive: boolean;
}

/**
 * The local distributed stack: fauxqs (SQS + S3) in this process, PostgreSQL (embedded unless a
 * URL is given), and every service as its own OS process consuming its own queue, exactly as on
 * AWS (one Fargate task per process) but for the emulator endpoint. Used by `recon stack up`, the
 * distributed tests and the benchmark.
 */
export class Stack {
  readonly options: StackOptions;
  fauxqs!: FauxqsServer;
  state!: StackState;
  readonly processes: ServiceProcess[] = [];
  private pg: PostgresHandle | null = null;
  private readonly waiters = new Set<() => void>();
  private matcherCount = 0;

  constructor(options: StackOptions) {
    this.options = options;
  }

  get endpoint(): string {
    return this.state.endpoint;
  }

  get databaseUrl(): string {
    return this.state.databaseUrl;
  }

  /** Starts the emulator, PostgreSQL, the queues and buckets, then every service; resolves once all consume. */
  async start(): Promise<void> {
    const o = this.options;
    const dir = resolve(o.dir);
    await mkdir(dir, { recursive: true });
    this.fauxqs = await startFauxqs({
      port: o.port ?? 4566,
      logger: false,
      messageSpies: { bufferSize: 20_000 },
    });
    try {
      let databaseUrl = o.databaseUrl;
      if (databaseUrl === undefined) {
        this.pg = await startEmbeddedPostgres({ dataDir: join(dir, 'pg') });
        databaseUrl = this.pg.url;
      }
      const connection = {
        region: 'us-east-1',
        endpoint: this.fauxqs.address,
        credentials: LOCAL_CREDENTIALS,
      };
      const sqs = createSqsClient(connection);
      const s3 = createS3Client(connection);
      const settings = {
        visibilityTimeoutSeconds: o.visibilityTimeoutSeconds ?? 30,
        maxReceiveCount: o.maxReceiveCount ?? 5,
      };
      const storeBucket = o.storeBucket ?? 'recon-store';
      const ingressBucket = o.ingressBucket ?? 'recon-ingress';
      const workBucket = o.workBucket ?? 'recon-work';
      const queuePrefix = o.queuePrefix ?? 'recon-';
      let queues: Record<QueueName, QueueWithDlq>;
      try {
        queues = await ensureReconQueues(sqs, { prefix: queuePrefix, settings });
        await ensureBucket(s3, storeBucket);
        await ensureBucket(s3, ingressBucket);
        await ensureBucket(s3, workBucket);
      } finally {
        sqs.destroy();
        s3.destroy();
      }
      this.state = {
        endpoint: this.fauxqs.address,
        region: 'us-east-1',
        queuePrefix,
        storeBucket,
        ingressBucket,
        workBucket,
        databaseUrl,
        queues,
        processes: [],
      };
      const starting: Promise<unknown>[] = [];
      for (const service of SERVICES) {
        if (service === 'matcher') {
          for (let i = 0; i < (o.matchers ?? 2); i++) starting.push(this.startService('matcher'));
        } else starting.push(this.startService(service));
      }
      await Promise.all(starting);
      await this.saveState();
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /** The environment of a service process: the documented schema's fields, nothing inherited but PATH/HOME. */
  serviceEnv(service: ServiceName): Record<string, string> {
    const o = this.options;
    return {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/',
      AWS_REGION: this.state.region,
      AWS_ENDPOINT_URL: this.state.endpoint,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      RECON_QUEUE_PREFIX: this.state.queuePrefix,
      RECON_STORE_BUCKET: this.state.storeBucket,
      RECON_INGRESS_BUCKET: this.state.ingressBucket,
      RECON_WORK_BUCKET: this.state.workBucket,
      DATABASE_URL: this.state.databaseUrl,
      RECON_VISIBILITY_TIMEOUT_SECONDS: String(o.visibilityTimeoutSeconds ?? 30),
      RECON_LOG_LEVEL: o.logLevel ?? 'info',
      ...o.env,
      ...o.serviceEnv?.[service],
    };
  }

  /** Starts one more process of `service` (e.g. a third matcher); resolves once it consumes. */
  async startService(service: ServiceName): Promise<ServiceProcess> {
    const name = service === 'matcher' ? `matcher-${++this.matcherCount}` : service;
    const main = join(REPO_ROOT, 'services', service, 'src', 'main.ts');
    const child = spawn(process.execPath, ['--import', TSX_LOADER, main], {
      cwd: REPO_ROOT,
      env: this.serviceEnv(service),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const proc: ServiceProcess = {
      name,
      service,
      child,
      pid: child.pid ?? -1,
      logs: [],
      alive: true,
      exited: new Promise((resolveExit) =>
        child.once('exit', (code, signal) => {
          proc.alive = false;
          this.notify();
          resolveExit(code ?? signal ?? 'unknown');
        }),
      ),
    };
    let ready = false;
    const onLine = (line: string) => {
      if (line.startsWith('recon-service-ready ')) {
        ready = true;
        this.notify();
        return;
      }
      this.options.onLine?.(name, line);
      if (line.startsWith('{')) {
        try {
          proc.logs.push(JSON.parse(line) as LogRecord);
          this.notify();
        } catch {
          // not a log line
        }
      }
    };
    lines(child.stdout!, onLine);
    const stderrTail: string[] = [];
    lines(child.stderr!, (line) => {
      stderrTail.push(line);
      if (stderrTail.length > 20) stderrTail.shift();
      onLine(line);
    });
    this.processes.push(proc);
    try {
      await this.until(() => ready || !proc.alive, 60_000, `${name} to start`);
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    }
    if (!proc.alive) {
      throw new ReconError('INTERNAL', `${name} exited while starting:\n${stderrTail.join('\n')}`);
    }
    if (this.state !== undefined) await this.saveState();
    return proc;
  }

  /** Resolves when `predicate` holds (re-checked on every log line and process exit, and every 250 ms). */
  until(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolveWait, reject) => {
      const check = () => {
        if (!predicate()) return;
        cleanup();
        resolveWait();
      };
      // Also polled: state outside the logs (queues, the database) is checked by callers' predicates.
      const poll = setInterval(check, 250);
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const cleanup = () => {
        clearInterval(poll);
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Every log line of every process (optionally of one service), in arrival order per process. */
  logs(service?: ServiceName): LogRecord[] {
    return this.processes
      .filter((p) => service === undefined || p.service === service)
      .flatMap((p) => p.logs);
  }

  /** Sends `signal` to one process and waits for it to end. */
  async kill(proc: ServiceProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (proc.alive) proc.child.kill(signal);
    await proc.exited;
  }

  /** Stops every process it started (SIGTERM, then SIGKILL after 20 s), the emulator and PostgreSQL. */
  async stop(): Promise<void> {
    await Promise.all(
      this.processes.map(async (p) => {
        if (!p.alive) return;
        p.child.kill('SIGTERM');
        const timer = setTimeout(() => p.child.kill('SIGKILL'), 20_000);
        await p.exited;
        clearTimeout(timer);
      }),
    );
    await this.fauxqs?.stop().catch(() => {});
    await this.pg?.stop().catch(() => {});
    this.pg = null;
    await rm(join(resolve(this.options.dir), 'stack.json'), { force: true });
  }

  /** Restarts the embedded PostgreSQL on the same data and port (a test of reconnection). */
  async restartPostgres(onStopped?: () => Promise<void>): Promise<void> {
    if (this.pg === null) throw new ReconError('INVALID_ARGUMENT', 'the stack does not own its PostgreSQL');
    const port = Number(new URL(this.state.databaseUrl).port);
    await this.pg.stop();
    await onStopped?.();
    this.pg = await startEmbeddedPostgres({ dataDir: join(resolve(this.options.dir), 'pg'), port });
  }

  private async saveState(): Promise<void> {
    this.state.processes = this.processes.filter((p) => p.alive).map((p) => ({ name: p.name, pid: p.pid }));
    await writeFile(
      join(resolve(this.options.dir), 'stack.json'),
      `${JSON.stringify(this.state, null, 2)}\n`,
    );
  }
}

function lines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    rest += chunk;
    let nl = rest.indexOf('\n');
    while (nl >= 0) {
      onLine(rest.slice(0, nl));
      rest = rest.slice(nl + 1);
      nl = rest.indexOf('\n');
    }
  });
  stream.on('end', () => {
    if (rest !== '') onLine(rest);
  });
}
