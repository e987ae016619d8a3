import { describe, expect, it } from 'vitest';
import { BaseDatabaseEnvSchema, baseDatabaseUrl, parseEnv } from './config.ts';

const JOB_STORE = 'postgresql://jobs.internal:5432/recon?sslmode=verify-full';
const BASE = 'postgresql://base.internal:6543/empresa?sslmode=verify-full';

const env = (vars: Record<string, string>) => ({
  DATABASE_URL: JOB_STORE,
  ...parseEnv(BaseDatabaseEnvSchema, vars),
});

describe('baseDatabaseUrl', () => {
  it('reads the base from the job store database when none of its own is named', () => {
    expect(baseDatabaseUrl(env({}))).toBe(JOB_STORE);
    // An empty variable counts as unset (as in a shell `VAR= cmd`).
    expect(baseDatabaseUrl(env({ RECON_BASE_DATABASE_URL: '', RECON_BASE_PGUSER: '' }))).toBe(JOB_STORE);
  });

  it('a database of its own, with the URL as given when no credentials come apart', () => {
    expect(baseDatabaseUrl(env({ RECON_BASE_DATABASE_URL: BASE }))).toBe(BASE);
  });

  it('puts the base user and password into its URL, any character they hold recoverable', () => {
    const password = 'p@ss:w/rd %ç?#&=';
    const url = new URL(
      baseDatabaseUrl(
        env({
          RECON_BASE_DATABASE_URL: BASE,
          RECON_BASE_PGUSER: 'leitor@empresa',
          RECON_BASE_PGPASSWORD: password,
        }),
      ),
    );
    expect(decodeURIComponent(url.username)).toBe('leitor@empresa');
    expect(decodeURIComponent(url.password)).toBe(password);
    expect(url.host).toBe('base.internal:6543');
    expect(url.pathname).toBe('/empresa');
    expect(url.searchParams.get('sslmode')).toBe('verify-full');
  });

  it.each([
    [{ RECON_BASE_PGUSER: 'leitor' }, /RECON_BASE_DATABASE_URL is not/],
    [{ RECON_BASE_PGPASSWORD: 'x' }, /RECON_BASE_DATABASE_URL is not/],
    [
      { RECON_BASE_DATABASE_URL: 'postgresql://a:b@base.internal/empresa', RECON_BASE_PGUSER: 'leitor' },
      /already holds credentials/,
    ],
    [{ RECON_BASE_DATABASE_URL: BASE, RECON_BASE_PGPASSWORD: 'x' }, /without RECON_BASE_PGUSER/],
  ])('refuses credentials it cannot place: %j', (vars, message) => {
    expect(() => baseDatabaseUrl(env(vars))).toThrow(message);
  });
});
