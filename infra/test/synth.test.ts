import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const infraDir = fileURLToPath(new URL('..', import.meta.url));
/** The CLI pinned in infra/package.json (TOOLCHAIN.md: `latest` is a broken build here). */
const cdk = join(infraDir, 'node_modules', '.bin', 'cdk');
const offlineEnv = {
  ...process.env,
  CDK_DISABLE_CLI_TELEMETRY: 'true',
  CDK_DEFAULT_ACCOUNT: '',
  CDK_DEFAULT_REGION: '',
};

describe('cdk synth (the pinned CLI, offline)', () => {
  let outdir: string | undefined;
  afterAll(async () => {
    if (outdir) await rm(outdir, { recursive: true, force: true });
  });

  it('is the pinned version', async () => {
    const { stdout } = await run(cdk, ['--version'], { env: offlineEnv });
    expect(stdout).toMatch(/^2\.1148\.1\b/);
  });

  it('synthesizes the app with a dummy account/region: no lookups, cdk-nag and CloudFormation validation on', async () => {
    outdir = await mkdtemp(join(tmpdir(), 'recon-cdk-'));
    const { stdout, stderr } = await run(
      cdk,
      [
        'synth',
        '-q',
        '--no-notices',
        '--no-version-reporting',
        '-c',
        'account=123456789012',
        '-c',
        'region=sa-east-1',
        '-o',
        outdir,
      ],
      { cwd: infraDir, env: offlineEnv, maxBuffer: 32 * 1024 * 1024 },
    );
    expect(`${stdout}${stderr}`).not.toMatch(/AwsSolutions-|Synthesis finished with errors/);
    const manifest = JSON.parse(await readFile(join(outdir, 'manifest.json'), 'utf8'));
    // No missing context: nothing was (or would need to be) looked up.
    expect(manifest.missing ?? []).toEqual([]);
    const template = JSON.parse(await readFile(join(outdir, 'Recon.template.json'), 'utf8'));
    const types = Object.values(template.Resources as Record<string, { Type: string }>).map((r) => r.Type);
    expect(types).toEqual(
      expect.arrayContaining(['AWS::ECS::Service', 'AWS::SQS::Queue', 'AWS::Glue::Table']),
    );
  }, 120_000);
});
