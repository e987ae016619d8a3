import { createHash } from 'node:crypto';
import { FileRejectedError } from '@recon/contracts';
import { beforeEach, describe, expect, it } from 'vitest';
import { type RangeSource, type RecordBlock, RecordBlockReader } from './blocks.ts';
import { scanRecords } from './csv.ts';

async function* bytesOf(...parts: (string | Uint8Array)[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
}

/** The file the parts make, read by byte ranges; `reads` records each range asked for. */
function rangesOf(parts: (string | Uint8Array)[], reads: [number, number][] = []): RangeSource {
  const file = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));
  return {
    size: file.length,
    read: async (start, end) => {
      reads.push([start, end]);
      return file.subarray(start, end);
    },
  };
}

/** How the file reaches the reader: as stream chunks (`blocks`), or by byte ranges (`blocksOf`). */
type Mode = 'stream' | 'ranges';
let mode: Mode = 'stream';

async function read(parts: (string | Uint8Array)[], blockBytes = 1) {
  const reader = new RecordBlockReader({ label: 'dia.csv', blockBytes });
  const blocks: RecordBlock[] = [];
  const source = mode === 'stream' ? reader.blocks(bytesOf(...parts)) : reader.blocksOf(rangesOf(parts));
  for await (const b of source) blocks.push(b);
  const records: [number, string][] = [];
  for (const b of blocks)
    scanRecords(b.text, b.firstLine, true, (_f, linha, raw) => records.push([linha, raw]));
  return { reader, blocks, records };
}

async function failure(parts: (string | Uint8Array)[]): Promise<FileRejectedError> {
  try {
    await read(parts);
  } catch (e) {
    if (e instanceof FileRejectedError) return e;
    throw e;
  }
  throw new Error('expected the file to be rejected');
}

const HEADER = 'fornecedor_id;ordem_id;nome;ativo_id;data;valor';

describe.each(['stream', 'ranges'] as const)('RecordBlockReader (%s)', (m) => {
  beforeEach(() => {
    mode = m;
  });

  it('keeps physical line numbers across blocks, ignoring a BOM and blank lines', async () => {
    const { reader, records } = await read([
      `\uFEFF${HEADER}\r\n`,
      'a;1;n;x;2026-01-01;1\r\n\r\n',
      'b;2;n;x;2026-01-01;1\r\n',
    ]);
    expect(reader.columnOrder).toEqual([0, 1, 2, 3, 4, 5]);
    expect(records).toEqual([
      [2, 'a;1;n;x;2026-01-01;1'],
      [4, 'b;2;n;x;2026-01-01;1'],
    ]);
    expect(reader.records).toBe(2);
  });

  it('never splits a quoted field across byte chunks or blocks', async () => {
    const { records } = await read([
      `${HEADER}\n`,
      'a;1;"x\n',
      'y";z;2026-01-01;1\n',
      'b;2;n;x;2026-01-01;1',
    ]);
    expect(records).toEqual([
      [2, 'a;1;"x\ny";z;2026-01-01;1'],
      [4, 'b;2;n;x;2026-01-01;1'],
    ]);
  });

  it('handles multi-byte characters split between chunks', async () => {
    const all = Buffer.from(`${HEADER}\nF;1;João;A;2026-01-01;1\n`);
    const cut = all.indexOf(Buffer.from('ã')) + 1;
    const { records } = await read([all.subarray(0, cut), all.subarray(cut)], 1 << 20);
    expect(records).toEqual([[2, 'F;1;João;A;2026-01-01;1']]);
  });

  it('rejects a 0-byte file', async () => {
    const e = await failure([]);
    expect(e.code).toBe('FILE_EMPTY');
    expect(e.message).toContain('dia.csv');
  });

  it('rejects a bad header, naming the columns', async () => {
    const e = await failure(['fornecedor;ordem_id;nome;ativo_id;data;valor\n1;2;3;4;5;6\n']);
    expect(e.code).toBe('INVALID_HEADER');
    expect(e.message).toMatch(/missing column\(s\): fornecedor_id; unknown column\(s\): "fornecedor"/);
  });

  it('rejects invalid UTF-8 naming the first bad line', async () => {
    const bad = Buffer.concat([
      Buffer.from(`${HEADER}\nF;1;ok;A;2026-01-01;1\nF;2;`),
      Buffer.from([0xc3, 0x28]),
      Buffer.from(';A;2026-01-01;1\n'),
    ]);
    const e = await failure([bad]);
    expect(e.code).toBe('FILE_NOT_UTF8');
    expect(e.message).toContain('dia.csv, line 3');
  });

  it('rejects an unterminated quote, naming the line where it opens', async () => {
    const e = await failure([
      `${HEADER}\nF;1;ok;A;2026-01-01;1\nF;2;"never closed;A;2026-01-01;1\nF;3;x;A;2026-01-01;1\n`,
    ]);
    expect(e.code).toBe('UNTERMINATED_QUOTE');
    expect(e.message).toContain('line 3');
  });

  it('counts zero records for a header-only file (the caller decides)', async () => {
    const { reader, blocks } = await read([`${HEADER}\n\n`]);
    expect(blocks).toEqual([]);
    expect(reader.records).toBe(0);
    expect(reader.columnOrder).not.toBeNull();
  });
});

describe.each(['stream', 'ranges'] as const)('RecordBlock bytes (%s)', (m) => {
  beforeEach(() => {
    mode = m;
  });

  it('hold the records (as text) with their line numbers, whatever the chunking', async () => {
    const body = [
      'a;1;João;x;2026-01-01;1\r\n',
      'b;2;"multi\nline; ""q""";x;2026-01-01;1\r\n',
      '\r\n',
      'c;3;Jo\u0303ao 😀;x;2026-01-01;1\n',
      'd;4;"x";y;2026-01-01;1',
    ].join('');
    const file = Buffer.from(`\uFEFF${HEADER}\r\n${body}`, 'utf8');
    for (const piece of [1, 2, 3, 7, 64, file.length]) {
      const parts: Uint8Array[] = [];
      for (let k = 0; k < file.length; k += piece) parts.push(file.subarray(k, k + piece));
      for (const blockBytes of [1, 16, 1 << 20]) {
        const { reader, blocks, records } = await read(parts, blockBytes);
        for (const b of blocks) {
          expect(b.bytes.toString('utf8')).toBe(b.text);
          // A block is where its offset says in the file: byte ranges of it can be read back.
          expect(file.subarray(b.offset, b.offset + b.bytes.length).equals(b.bytes)).toBe(true);
        }
        expect(records).toEqual([
          [2, 'a;1;João;x;2026-01-01;1'],
          [3, 'b;2;"multi\nline; ""q""";x;2026-01-01;1'],
          [6, 'c;3;Jo\u0303ao 😀;x;2026-01-01;1'],
          [7, 'd;4;"x";y;2026-01-01;1'],
        ]);
        expect(reader.records).toBe(4);
      }
    }
  });

  it('tell their byte offset in the file after blank lines before the header', async () => {
    const file = Buffer.from(`\n \r\n${HEADER}\na;1;n;x;2026-01-01;1\n\nb;2;n;x;2026-01-01;1\n`, 'utf8');
    for (const piece of [1, 5, file.length]) {
      const parts: Uint8Array[] = [];
      for (let k = 0; k < file.length; k += piece) parts.push(file.subarray(k, k + piece));
      const { blocks } = await read(parts, 1);
      expect(blocks.length).toBeGreaterThan(0);
      for (const b of blocks)
        expect(file.subarray(b.offset, b.offset + b.bytes.length).equals(b.bytes)).toBe(true);
      expect(blocks[0]!.offset).toBe(file.indexOf('a;1'));
    }
  });
});

describe('RecordBlockReader.blocksOf', () => {
  const file = Buffer.from(
    `${HEADER}\n${Array.from({ length: 500 }, (_, k) => `F${k % 7};${k};nome ${k};A;2026-01-01;${k},50`).join('\n')}\n`,
  );

  it('reads each byte once, in order, one range per block, the next while a block is used', async () => {
    for (const blockBytes of [64, 1000, 4096, file.length + 10]) {
      const reads: [number, number][] = [];
      const hash = createHash('sha256');
      const reader = new RecordBlockReader({ label: 'dia.csv', blockBytes, onBytes: (b) => hash.update(b) });
      let records = 0;
      let position = file.indexOf('\n') + 1;
      for await (const block of reader.blocksOf(rangesOf([file], reads))) {
        expect(block.offset).toBe(position);
        // The next block's read is already asked for while this one is used (but the last).
        if (position + block.bytes.length < file.length)
          expect(reads.at(-1)![0]).toBe(position + block.bytes.length);
        position += block.bytes.length;
        records += block.records;
      }
      expect(position).toBe(file.length);
      expect(records).toBe(500);
      expect(reader.bytes).toBe(file.length);
      expect(hash.digest('hex')).toBe(createHash('sha256').update(file).digest('hex'));
      // Reads start where the last whole line of the one before ended: only that partial line is read twice.
      for (const [start, end] of reads) expect(end - start).toBeLessThanOrEqual(blockBytes);
      expect(reads.length).toBeLessThanOrEqual(Math.ceil(file.length / (blockBytes - 40)) + 1);
    }
  });

  it('leaves no read to reject unhandled when the caller stops early', async () => {
    let calls = 0;
    const source: RangeSource = {
      size: file.length,
      read: async (start, end) => {
        if (calls++ > 0) throw new Error('the disk went away');
        return file.subarray(start, end);
      },
    };
    const reader = new RecordBlockReader({ label: 'dia.csv', blockBytes: 256 });
    for await (const block of reader.blocksOf(source)) {
      expect(block.records).toBeGreaterThan(0);
      break;
    }
    // Vitest fails the run on an unhandled rejection: give the failed read its turn to surface.
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(calls).toBe(2);
  });

  it('gives a failed read to the caller', async () => {
    const source: RangeSource = {
      size: file.length,
      read: async () => {
        throw new Error('the disk went away');
      },
    };
    const reader = new RecordBlockReader({ label: 'dia.csv', blockBytes: 256 });
    await expect(async () => {
      for await (const _ of reader.blocksOf(source));
    }).rejects.toThrow('the disk went away');
  });
});
