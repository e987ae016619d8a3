import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildStack, TEST_CONFIG } from './fixture.ts';

const workspaceRoot = fileURLToPath(new URL('../..', import.meta.url));

describe('container images', () => {
  it('registry mode: <repository>:<service>-<tag>, one per workload', () => {
    // (the default: images built and pushed by CI; covered by the main template)
    expect(TEST_CONFIG.images).toEqual({ kind: 'registry', repositoryName: 'recon', tag: '0.1.0' });
  });

  it('asset mode: cdk builds infra/docker/Dockerfile from the workspace with SERVICE per service', () => {
    const { app, stack } = buildStack({ ...TEST_CONFIG, images: { kind: 'asset', workspaceRoot } });
    const assembly = app.synth();
    const assets = JSON.parse(
      readFileSync(join(assembly.directory, `${stack.artifactId}.assets.json`), 'utf8'),
    ) as {
      dockerImages: Record<
        string,
        {
          source: {
            directory: string;
            dockerFile: string;
            dockerBuildArgs: Record<string, string>;
            platform?: string;
          };
        }
      >;
    };
    const images = Object.values(assets.dockerImages).map((i) => i.source);
    expect(images.map((i) => i.dockerBuildArgs.SERVICE).sort()).toEqual(
      ['admin-api', 'ingest', 'matcher', 'notifier', 'partition', 'reporter'].sort(),
    );
    for (const image of images) {
      expect(image.dockerFile).toBe('infra/docker/Dockerfile');
      // The tasks' architecture, whatever machine builds the image.
      expect(image.platform).toBe('linux/amd64');
      // The staged context is the workspace without node_modules, .git or .recon.
      const staged = readdirSync(join(assembly.directory, image.directory));
      expect(staged).toEqual(expect.arrayContaining(['pnpm-lock.yaml', 'services', 'packages', 'infra']));
      expect(staged).not.toContain('node_modules');
      expect(staged).not.toContain('.recon');
    }
    rmSync(assembly.directory, { recursive: true, force: true });
  });

  it('installs nothing the lockfile does not pin: tsx, which runs each image, is a dependency of every deployable package', () => {
    const dockerfile = readFileSync(join(workspaceRoot, 'infra/docker/Dockerfile'), 'utf8');
    // The only npm install is pnpm itself (pinned by PNPM_VERSION); packages come through pnpm.
    const installs = [...dockerfile.matchAll(/\bnpm install[^\n]*/g)].map((m) => m[0]);
    expect(installs).toHaveLength(1);
    expect(installs[0]).toMatch(/^npm install -g pnpm@\$\{PNPM_VERSION\} /);
    expect(dockerfile).toContain('pnpm install --offline --frozen-lockfile --prod');
    const root = JSON.parse(readFileSync(join(workspaceRoot, 'package.json'), 'utf8'));
    for (const dir of [
      'services/ingest',
      'services/partition',
      'services/matcher',
      'services/reporter',
      'services/notifier',
      'apps/cli',
    ]) {
      const pkg = JSON.parse(readFileSync(join(workspaceRoot, dir, 'package.json'), 'utf8'));
      expect(pkg.dependencies?.tsx, dir).toBe(root.devDependencies.tsx);
    }
  });
});
