import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** The repository's root: the command line runs from there, as `pnpm recon` does. */
export const ROOT = join(import.meta.dirname, '../..');
const CLI = join(ROOT, 'apps/cli/src/main.ts');
const exec = promisify(execFile);

/** Node's arguments that run `recon <args>` (through tsx, as `pnpm recon` does), e.g. for spawn. */
export function reconArgv(args: readonly string[]): string[] {
  return ['--import', 'tsx', CLI, ...args];
}

/**
 * Runs `recon <args>` in a child process from ROOT, with `env` (default: this process's); rejects
 * as execFile does (with the output) when it exits non-zero.
 */
export function execRecon(
  args: readonly string[],
  env?: NodeJS.ProcessEnv,
): Promise<{ stdout: string; stderr: string }> {
  return exec(process.execPath, reconArgv(args), {
    cwd: ROOT,
    maxBuffer: 64 << 20,
    ...(env === undefined ? {} : { env }),
  });
}

/** A finished `recon` run: its exit code and output. */
export interface ReconRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `execRecon`, resolving with the exit code and output whatever the code. */
export async function runRecon(args: readonly string[], env?: NodeJS.ProcessEnv): Promise<ReconRun> {
  try {
    const { stdout, stderr } = await execRecon(args, env);
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as ReconRun;
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}
