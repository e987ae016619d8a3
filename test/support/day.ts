import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type GeneratedDay, generateDay } from '@recon/generator';

/**
 * A fresh temporary folder holding a small generated day with every kind of line: 20k lines, the
 * 5/3/2 divergence mix, 2% invalid lines, 1.5% duplicates and 1,500 history rows in the base.
 * The caller removes `dir` when done.
 */
export async function smallMixedDay(
  prefix: string,
  seed: number,
): Promise<{ dir: string; day: GeneratedDay }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const day = await generateDay({
    rows: 20_000,
    tipo1Pct: 5,
    tipo2Pct: 3,
    tipo3Pct: 2,
    invalidPct: 2,
    duplicatePct: 1.5,
    historyRows: 1_500,
    seed,
    outDir: join(dir, 'day'),
  });
  return { dir, day };
}
