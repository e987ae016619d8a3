import { readFile } from 'node:fs/promises';
import { divergenceColumnsToRows, encodeShardRecord } from '@recon/contracts';
import { instantiateWasm } from '@recon/rules';
import { describe, expect, it } from 'vitest';
import { compileModule, generatedModule, MODULES } from '../../../scripts/wasm/build-lib.mjs';
import { pick, rng } from '../../../test/support/random.ts';
import { classifyShard, matchShard, type ShardInput } from './classify.ts';
import { DEFAULT_SEVERITY } from './severity.ts';
import { hashBytes } from './testing.ts';
import { SHARD_MATCHER_WASM } from './wasm/shard-matcher.wasm.ts';

/** classify-equivalence.test.ts holds the classification's cases; these are the module's own. */

interface HashExports {
  memory: { buffer: ArrayBuffer };
  hash(start: number, end: number): number;
}

function shardInput(seed: number, orders: number): ShardInput {
  const r = rng(seed);
  const line = (linha: number, ordem: string, valor: string) =>
    encodeShardRecord(linha, {
      fornecedor_id: `F${ordem.length % 3}`,
      ordem_id: ordem,
      nome: pick(r, ['Ana', 'Bia', 'José']),
      ativo_id: 'A1',
      data: '2026-11-20',
      valor,
    });
  const vendor: string[] = [];
  const base: string[] = [];
  for (let k = 0; k < orders; k++) {
    const ordem = `ORD-${seed}-${k}`;
    const valor = pick(r, ['1.00', '2.50', '3.00']);
    if (r() < 0.9) base.push(line(0, ordem, r() < 0.95 ? valor : '9.99'));
    if (r() < 0.9) vendor.push(line(2 + k, ordem, valor));
    if (r() < 0.02) vendor.push(line(5000 + k, ordem, valor));
  }
  return {
    jobId: 'JOB-20261123-000001',
    vendor: [Buffer.from(vendor.join(''))],
    base: [Buffer.from(base.join(''))],
    scope: 'all',
    window: null,
    timestamp: 1_700_000_000_000,
    severity: DEFAULT_SEVERITY,
  };
}

describe('the WebAssembly shard matcher', () => {
  it('is the module compiled from assembly/shard-matcher.ts (pnpm build:wasm)', async () => {
    const binary = await compileModule('shard-matcher');
    expect(Buffer.from(SHARD_MATCHER_WASM, 'base64').equals(Buffer.from(binary))).toBe(true);
    expect(await readFile(MODULES['shard-matcher'].generated, 'utf8')).toBe(
      generatedModule('shard-matcher', binary),
    );
  }, 60_000);

  it("hashes keys as testing.ts's hashBytes (which the tests use to make keys collide)", () => {
    const wasm = instantiateWasm<HashExports>(SHARD_MATCHER_WASM);
    const memory = new Uint8Array(wasm.memory.buffer);
    const r = rng(3);
    for (let n = 0; n < 5000; n++) {
      const key = Buffer.from(
        `${pick(r, ['ORD-', 'K', '', 'é'])}${Math.floor(r() * 1e12)}`.slice(0, 1 + (n % 23)),
      );
      const at = 1024 + (n % 7);
      memory.set(key, at);
      const words = new DataView(key.buffer, key.byteOffset, key.byteLength);
      expect(wasm.hash(at, at + key.length) >>> 0).toBe(hashBytes(key, words, 0, key.length));
    }
  });

  it('gives each shard being matched a memory of its own, finished in any order', () => {
    const inputs = [shardInput(1, 4000), shardInput(2, 300), shardInput(3, 2500)];
    const expected = inputs.map((input) => {
      const out = classifyShard(input);
      return { ...out, divergences: divergenceColumnsToRows(out.divergences) };
    });
    expect(expected[0]!.counts.vendorDuplicates).toBeGreaterThan(10);
    expect(expected[0]!.divergences.length).toBeGreaterThan(100);
    // All three matched before any is finished, then finished last to first.
    const matches = inputs.map((input) => matchShard(input));
    const outputs = matches
      .map((match, k) => [k, match] as const)
      .reverse()
      .map(([k, match]) => {
        const out = match.finish(null, []);
        return [k, { ...out, divergences: divergenceColumnsToRows(out.divergences) }] as const;
      });
    for (const [k, out] of outputs) expect(out).toEqual(expected[k]);
    // And again, on the instances they gave back.
    for (const [k, input] of inputs.entries()) {
      const out = classifyShard(input);
      expect({ ...out, divergences: divergenceColumnsToRows(out.divergences) }).toEqual(expected[k]);
    }
  });
});
