import { readFile } from 'node:fs/promises';
import type { RejectedLine } from '@recon/contracts';
import { describe, expect, it } from 'vitest';
import { compileModule, generatedModule, MODULES } from '../../../scripts/wasm/build-lib.mjs';
import { slotOfHash } from './fast-record.ts';
import { orderHash } from './hash.ts';
import { normalizeRecord } from './record.ts';
import { ShardWriter } from './shard-writer.ts';
import { RECORD_ENCODER_WASM } from './wasm/record-encoder.wasm.ts';
import { encodeRecordBlock } from './wasm-record.ts';

/**
 * One block through `encodeRecordBlock` (as the partition's handlers run it), with or without the
 * WebAssembly encoder: the part's bytes and offsets, the scan, the rejects. (fast-record.test.ts
 * compares the paths with the general one on random and crafted lines.)
 */
function encode(
  bytes: Buffer,
  options: { wasm: boolean; shards: number; buckets: number; firstLine?: number },
) {
  const order = [0, 1, 2, 3, 4, 5];
  const writer = new ShardWriter(options.shards, bytes.length, options.buckets);
  const rejects: RejectedLine[] = [];
  const scan = encodeRecordBlock(
    bytes,
    options.firstLine ?? 2,
    order,
    writer,
    (fields, linha, raw) => {
      const r = normalizeRecord(fields, order);
      if (r.ok) writer.add(linha, r.record);
      else rejects.push({ linha, motivo: r.motivo, mensagem: r.mensagem, conteudo: raw });
    },
    { wasm: options.wasm },
  );
  const { body, part } = writer.take('part');
  const { wasm, ...rest } = scan;
  return { part: Buffer.concat(body), offsets: part.offsets, scan: rest, rejects, wasm };
}

function expectSameAsTypeScript(bytes: Buffer, shards: number, buckets: number, firstLine?: number) {
  const ts = encode(bytes, {
    wasm: false,
    shards,
    buckets,
    ...(firstLine === undefined ? {} : { firstLine }),
  });
  const wasm = encode(bytes, {
    wasm: true,
    shards,
    buckets,
    ...(firstLine === undefined ? {} : { firstLine }),
  });
  expect(ts.wasm).toBe(0);
  // Buffers compared as bytes (toEqual walks them element by element).
  expect(wasm.part.equals(ts.part)).toBe(true);
  expect({ ...wasm, wasm: 0, part: null }).toEqual({ ...ts, part: null });
  return wasm;
}

const line = (ordem: string, nome = 'Maria', valor = '10,50') => `F1;${ordem};${nome};A1;20/11/2026;${valor}`;

describe('the WebAssembly record encoder', () => {
  it('is the module compiled from assembly/record-encoder.ts (pnpm build:wasm)', async () => {
    const binary = await compileModule('record-encoder');
    expect(Buffer.from(RECORD_ENCODER_WASM, 'base64').equals(Buffer.from(binary))).toBe(true);
    expect(await readFile(MODULES['record-encoder'].generated, 'utf8')).toBe(
      generatedModule('record-encoder', binary),
    );
  }, 60_000);

  it('empties a full slot into the writer and goes on (every line of the block in one slot)', () => {
    // 4096 slots, one order: its lines (duplicates, kept in file order) fill a region many times.
    const lines = Array.from({ length: 40_000 }, (_, k) => line('ORD-1', `Nome ${k}`));
    const bytes = Buffer.from(`${lines.join('\n')}\n`);
    const wasm = expectSameAsTypeScript(bytes, 64, 64);
    expect(wasm.wasm).toBe(40_000);
    expect(wasm.part.length).toBeGreaterThan(40_000 * 30);
  });

  it('keeps each region to itself: lines of neighbouring slots, each filling its region many times', () => {
    // Two orders whose slots (of 4096) are side by side, their lines interleaved.
    const slotOf = (id: string) => slotOfHash(orderHash(id), 64, 6);
    const first = 'ORD-0';
    let second = '';
    for (let k = 1; second === ''; k++) if (slotOf(`ORD-${k}`) === slotOf(first) + 1) second = `ORD-${k}`;
    const lines = Array.from({ length: 20_000 }, (_, k) => line(k % 2 === 0 ? first : second, `Nome ${k}`));
    const bytes = Buffer.from(`${lines.join('\n')}\n`);
    expect(expectSameAsTypeScript(bytes, 64, 64).wasm).toBe(20_000);
  });

  it('keeps file order in a slot when lines of the TypeScript paths come between its own', () => {
    // One shard: an emoji (U+1F600) sends a line to the TypeScript encoder, a bad valor to the
    // general path (a reject), the rest stay here.
    const lines = Array.from({ length: 3000 }, (_, k) =>
      k % 3 === 1
        ? line(`ORD-${k}`, 'Ana 😀')
        : k % 7 === 0
          ? line(`ORD-${k}`, 'Ana', '1,2,3x')
          : line(`ORD-${k}`),
    );
    const bytes = Buffer.from(`${lines.join('\r\n')}\r\n`);
    const wasm = expectSameAsTypeScript(bytes, 1, 1);
    expect(wasm.wasm).toBeGreaterThan(1500);
    expect(wasm.rejects.length).toBeGreaterThan(200);
  });

  it('stops being offered the lines of a block it mostly leaves (names NFC may change)', () => {
    // Greek names (U+0370 on) go to the TypeScript encoder: after 256 of them with fewer lines
    // written, the rest of the block goes there directly.
    const lines = Array.from({ length: 3000 }, (_, k) =>
      line(`ORD-${k}`, k % 10 === 0 ? 'Ana' : 'Αλέξανδρος'),
    );
    const bytes = Buffer.from(`${lines.join('\n')}\n`);
    const wasm = expectSameAsTypeScript(bytes, 8, 2);
    expect(wasm.wasm).toBeGreaterThan(0);
    expect(wasm.wasm).toBeLessThan(40);
    expect(wasm.scan.fast).toBe(3000);
  });

  it('leaves a line longer than its region to the TypeScript encoder', () => {
    const long = 'x'.repeat(6000);
    const lines = Array.from({ length: 200 }, (_, k) => line(`ORD-${k}`, k === 100 ? long : 'Ana'));
    const bytes = Buffer.from(lines.join('\n'));
    const wasm = expectSameAsTypeScript(bytes, 64, 64);
    expect(wasm.wasm).toBe(199);
    expect(wasm.part.includes(long)).toBe(true);
  });

  it('leaves blocks whose line numbers pass int32 to the TypeScript encoder', () => {
    const bytes = Buffer.from(`${line('ORD-1')}\n${line('ORD-2')}\n`);
    const wasm = expectSameAsTypeScript(bytes, 4, 1, 0x7fffffff - 1);
    expect(wasm.wasm).toBe(0);
    expect(wasm.scan.fast).toBe(2);
  });

  it('unhooks the writer when the block fails, and takes the next block as usual', () => {
    const bytes = Buffer.from(`${line('ORD-1')}\n${line('ORD-2', 'Ana', 'x')}\n${line('ORD-3')}\n`);
    const writer = new ShardWriter(2, bytes.length, 1);
    expect(() =>
      encodeRecordBlock(bytes, 2, [0, 1, 2, 3, 4, 5], writer, () => {
        throw new Error('onRecord failed');
      }),
    ).toThrow('onRecord failed');
    expect(writer.beforeWrite).toBeNull();
    const big = Buffer.from(`${Array.from({ length: 50_000 }, (_, k) => line(`ORD-${k}`)).join('\n')}\n`);
    expect(expectSameAsTypeScript(big, 32, 8).wasm).toBe(50_000);
    const small = Buffer.from(`${line('ORD-7', 'Ana', '1.234,565')}\n`);
    expect(expectSameAsTypeScript(small, 3, 1).part.toString()).toBe(
      '2\tORD-7\tF1\tAna\tA1\t2026-11-20\t1234.56\n',
    );
  });
});
