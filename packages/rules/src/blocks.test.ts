import { FileRejectedError } from '@recon/contracts';
import { describe, expect, it } from 'vitest';
import { type RecordBlock, RecordBlockReader } from './blocks.ts';
import { scanRecords } from './csv.ts';

async function* bytesOf(...parts: (string | Uint8Array)[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
}

async function read(parts: (string | Uint8Array)[], blockBytes = 1) {
  const reader = new RecordBlockReader({ label: 'dia.csv', blockBytes });
  const blocks: RecordBlock[] = [];
  for await (const b of reader.blocks(bytesOf(...parts))) blocks.push(b);
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

describe('RecordBlockReader', () => {
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

describe('RecordBlock bytes', () => {
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
