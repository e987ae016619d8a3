import { describe, expect, it } from 'vitest';
import { readEnv, runtimeSettings } from './config.ts';

describe('runtimeSettings', () => {
  it('gives every job run RECON_WORKERS (recon serve too), and nothing when it is unset', () => {
    expect(runtimeSettings(readEnv({ RECON_WORKERS: '3' })).workers).toBe(3);
    expect('workers' in runtimeSettings(readEnv({}))).toBe(false);
  });
});
