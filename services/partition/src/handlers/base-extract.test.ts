import { escapeCopyText, type RejectedLine } from '@recon/contracts';
import { addBaseRow, baseRowEncoder, normalizeRecord, ShardWriter } from '@recon/rules';
import { describe, expect, it } from 'vitest';
import { pick, rng } from '../../../../test/support/random.ts';
import { CopyTextBaseRecords } from './base-extract.ts';

type Row = (string | null)[];
/** The canonical column order, written out: the general path below is the reference, on its own. */
const CANONICAL = [0, 1, 2, 3, 4, 5];

/** The writer's part, its bytes joined. */
function taken(writer: ShardWriter) {
  const { body, part } = writer.take('k');
  return { body: Buffer.concat(body), part };
}

/** The database-row path before the fast one, as it was: normalizeRecord + ShardWriter.add. */
function generalPath(rows: readonly Row[], shards: number) {
  const writer = new ShardWriter(shards);
  const rejects: RejectedLine[] = [];
  let valid = 0;
  for (const row of rows) {
    const fields = row.map((v) => v ?? '');
    const result = normalizeRecord(fields, CANONICAL);
    if (result.ok) {
      writer.add(0, result.record, !/[\t\n\r\\]/.test(fields[0]! + fields[1]! + fields[2]! + fields[3]!));
      valid++;
    } else {
      const nulls = row.flatMap((v, k) => (v === null ? [k] : []));
      const mensagem =
        nulls.length > 0
          ? `${result.mensagem} (coluna(s) nula(s) na base: ${nulls.join(', ')})`
          : result.mensagem;
      rejects.push({ linha: 0, motivo: result.motivo, mensagem, conteudo: fields.join(';') });
    }
  }
  return { ...taken(writer), rejects, valid };
}

function handlerPath(rows: readonly Row[], shards: number) {
  const writer = new ShardWriter(shards);
  const encoder = baseRowEncoder();
  const rejects: RejectedLine[] = [];
  let valid = 0;
  let fast = 0;
  // Counts the rows the fast path takes, on a writer of its own.
  const probe = new ShardWriter(shards);
  for (const row of rows) {
    const before = writer.size;
    if (encoder.encodeFields(row, 0, probe)) fast++;
    if (probe.size > 1 << 20) probe.take('probe');
    expect(writer.size).toBe(before);
    if (addBaseRow(row, encoder, writer, rejects)) valid++;
  }
  return { ...taken(writer), rejects, valid, fast };
}

/** Everything but the body, which is compared with Buffer.equals (toEqual on MiBs is slow). */
function same(a: ReturnType<typeof generalPath>, general: ReturnType<typeof generalPath>) {
  return { bodyEqual: a.body.equals(general.body), part: a.part, rejects: a.rejects, valid: a.valid };
}

const TEXTS = [
  'Maria Silva',
  'João Conceição', // NFC, below U+0300
  'Jo\u0303ao Conceic\u0327a\u0303o', // NFD
  'Nguyễn Thị', // above U+0300, already NFC
  'Å\u212B ohm \u2126', // singletons NFC changes
  '山田 太郎',
  'emoji 😀 ok',
  ' lead',
  'trail ',
  '\tlead tab',
  'trail tab\t',
  '  both  ',
  'tab\tinside',
  'new\nline',
  'cr\rinside',
  'back\\slash',
  'ʼmodifierˀ',
  'ÿ',
  '',
  '\u0001ctl',
  null,
];
const ORDENS = [
  'ORD-1',
  'ORD-2',
  'X',
  'ORD-à',
  'ORD-a\u0300',
  'ORD\\7',
  'ORD\t8',
  ' ORD-9',
  'ORD-9 ',
  '',
  '  ',
  null,
];
const DATAS = [
  '2026-11-20',
  '2024-02-29',
  '2026-02-29',
  '2026-13-01',
  '0000-01-01',
  '0001-01-01',
  '9999-12-31',
  '20/11/2026',
  '2026-1-20',
  ' 2026-11-20',
  '10000-01-01',
  '2026-01-01 BC',
  '',
  null,
];
const VALORES = [
  '1234.50',
  '-0.07',
  '0.00',
  '-1234.50',
  '9999999999999999.99',
  '-9999999999999999.99',
  '10000000000000000.00',
  '1234.5',
  '0010.00',
  '00.00',
  '-0.00',
  '1234.567',
  '1234.565',
  '1234.575',
  '1234',
  '1.234,56',
  ' 1.00',
  '1.00 ',
  '+1.00',
  '1e3',
  'NaN',
  '',
  null,
];

function randomRows(seed: number, n: number): Row[] {
  const r = rng(seed);
  const rows: Row[] = [];
  for (let k = 0; k < n; k++) {
    const plain = r() < 0.6;
    rows.push([
      plain ? `FORN-${Math.floor(r() * 50)}` : pick(r, TEXTS),
      plain ? `ORD-${Math.floor(r() * 100000)}` : pick(r, ORDENS),
      plain ? pick(r, TEXTS.slice(0, 2)) : pick(r, TEXTS),
      plain ? `ATV-${Math.floor(r() * 9)}` : pick(r, TEXTS),
      plain ? pick(r, DATAS.slice(0, 2)) : pick(r, DATAS),
      plain ? pick(r, VALORES.slice(0, 5)) : pick(r, VALORES),
    ]);
  }
  return rows;
}

const CANONICAL_ROWS: readonly Row[] = [
  ['F1', 'ORD-1', 'Maria Silva', 'ATV-1', '2026-11-20', '1234.50'],
  ['F1', 'ORD-2', 'João Conceição', 'ATV-1', '2026-11-20', '-0.07'],
  ['F1', 'ORD-3', '', '', '2024-02-29', '0.00'],
  ['F1', 'ORD-4', 'ÿ ʼ', 'A', '0001-01-01', '-9999999999999999.99'],
];

/** One row per edge value of each column (the rest plain). */
function edgeRows(): Row[] {
  const rows: Row[] = [];
  for (const valor of VALORES) rows.push(['F', `ORD-v${rows.length}`, 'n', 'a', '2026-01-02', valor]);
  for (const data of DATAS) rows.push(['F', `ORD-d${rows.length}`, 'n', 'a', data, '1.00']);
  for (const text of TEXTS) {
    rows.push([text, `ORD-t${rows.length}`, 'n', 'a', '2026-01-02', '1.00']);
    rows.push(['F', `ORD-t${rows.length}`, text, 'a', '2026-01-02', '1.00']);
    rows.push(['F', `ORD-t${rows.length}`, 'n', text, '2026-01-02', '1.00']);
  }
  for (const ordem of ORDENS) rows.push(['F', ordem, 'n', 'a', '2026-01-02', '1.00']);
  return rows;
}

describe('database rows: fast path = general path', () => {
  it('canonical, negative and zero rows take the fast path', () => {
    const rows = CANONICAL_ROWS;
    const fast = handlerPath(rows, 5);
    expect(fast.fast).toBe(rows.length);
    const general = generalPath(rows, 5);
    expect(same(fast, general)).toEqual(same(general, general));
    expect(fast.body.equals(general.body)).toBe(true);
  });

  it('non-canonical values, NFD, edge blanks, escapes and NULLs fall back with the same bytes and rejects', () => {
    const rows = edgeRows();
    const fast = handlerPath(rows, 7);
    const general = generalPath(rows, 7);
    // Only the canonical ones were fast; every other one went through normalizeRecord.
    expect(fast.fast).toBeGreaterThan(10);
    expect(fast.fast).toBeLessThan(rows.length / 2);
    expect(general.rejects.length).toBeGreaterThan(10);
    expect(same(fast, general)).toEqual(same(general, general));
    expect(fast.body.equals(general.body)).toBe(true);
  });

  it('agrees on 100k random rows', () => {
    for (const seed of [1, 2, 3]) {
      const rows = randomRows(seed, 35_000);
      const fast = handlerPath(rows, 16);
      const general = generalPath(rows, 16);
      expect(fast.fast).toBeGreaterThan(15_000);
      expect(fast.rejects.length).toBeGreaterThan(1000);
      expect(fast.body.equals(general.body)).toBe(true);
      expect(same(fast, general)).toEqual(same(general, general));
    }
  });

  it('keeps a linha other than 0 and grows the shard buffers', () => {
    const encoder = baseRowEncoder();
    const writer = new ShardWriter(1);
    const long = 'x'.repeat(100_000);
    expect(encoder.encodeFields(['F', 'O', long, 'A', '2026-01-02', '5.00'], 123456789, writer)).toBe(true);
    expect(encoder.dataKey).toBe(20260102);
    expect(taken(writer).body.toString('utf8')).toBe(`123456789\tO\tF\t${long}\tA\t2026-01-02\t5.00\n`);
  });
});

/** The rows as PostgreSQL's COPY TO sends them (text format: `\\N` for NULL, backslash escapes). */
function copyText(rows: readonly Row[]): Buffer {
  const lines = rows.map((r) => `${r.map((v) => (v === null ? '\\N' : escapeCopyText(v))).join('\t')}\n`);
  return Buffer.from(lines.join(''), 'utf8');
}

/** The handler's path for the BaseReader port's COPY text, fed in `pieces` chunks of whole lines. */
function copyTextPath(rows: readonly Row[], shards: number, pieces = 1) {
  const writer = new ShardWriter(shards);
  const rejects: RejectedLine[] = [];
  const records = new CopyTextBaseRecords(writer, rejects);
  const per = Math.ceil(rows.length / pieces);
  for (let k = 0; k < rows.length; k += per) records.add(copyText(rows.slice(k, k + per)));
  return {
    ...taken(writer),
    rejects,
    valid: records.rows,
    fromBytes: records.fromBytes,
    fromWasm: records.fromWasm,
  };
}

describe('database rows as COPY text: byte path = general path', () => {
  it('canonical rows are encoded from their bytes', () => {
    const rows: Row[] = [...CANONICAL_ROWS, ['F1', 'ORD-5', 'ÿ ʼ; "quoted"', 'A', '0001-01-01', '1.00']];
    const fromCopy = copyTextPath(rows, 5);
    expect(fromCopy.fromBytes).toBe(rows.length);
    expect(fromCopy.fromWasm).toBe(rows.length);
    const general = generalPath(rows, 5);
    expect(same(fromCopy, general)).toEqual(same(general, general));
  });

  it('escapes, NULLs, NFD, blanks and bad values take the parsed path with the same bytes and rejects', () => {
    const rows = edgeRows();
    const fromCopy = copyTextPath(rows, 7, 3);
    const general = generalPath(rows, 7);
    expect(fromCopy.fromBytes).toBeGreaterThan(10);
    expect(fromCopy.fromBytes).toBeLessThan(rows.length);
    expect(general.rejects.length).toBeGreaterThan(10);
    expect(same(fromCopy, general)).toEqual(same(general, general));
  });

  it('agrees on 100k random rows', () => {
    for (const seed of [4, 5, 6]) {
      const rows = randomRows(seed, 35_000);
      const fromCopy = copyTextPath(rows, 16, 7);
      const general = generalPath(rows, 16);
      expect(fromCopy.fromBytes).toBeGreaterThan(15_000);
      // Rows with a character NFC may change go to encodeTabbed; most stay in WebAssembly.
      expect(fromCopy.fromWasm).toBeGreaterThan(10_000);
      expect(fromCopy.rejects.length).toBeGreaterThan(1000);
      expect(same(fromCopy, general)).toEqual(same(general, general));
    }
  });

  it('writes what encodeTabbed writes for control characters COPY sends raw (and a raw CR)', () => {
    const lines = ['F\tORD-1\tn\x01o\ta\t2026-01-02\t1.00', 'F\tORD-2\tcr\rin\ta\t2026-01-02\t2.00'];
    lines.push('F\tORD-3\t\x7f\x1b\ta\t2026-01-02\t3.00', 'F\tORD-4\tplain\ta\t2026-01-02\t4.00');
    const bytes = Buffer.from(`${lines.join('\n')}\n`);
    const viaWasm = new ShardWriter(3);
    const records = new CopyTextBaseRecords(viaWasm, []);
    records.add(bytes);
    expect(records.fromWasm).toBe(4);
    const viaTs = new ShardWriter(3);
    const encoder = baseRowEncoder();
    for (let pos = 0; pos < bytes.length; pos = bytes.indexOf(10, pos) + 1)
      expect(encoder.encodeTabbed(bytes, pos, bytes.indexOf(10, pos), 0, viaTs)).toBe(true);
    expect(taken(viaWasm).body.toString('latin1')).toBe(taken(viaTs).body.toString('latin1'));
  });

  it('refuses a chunk that ends inside a row', () => {
    const records = new CopyTextBaseRecords(new ShardWriter(2), []);
    expect(() => records.add(Buffer.from('F\tORD-1\tn\ta\t2026-01-02\t1.00\nF\tORD-2'))).toThrow(
      /ends inside a row/,
    );
  });
});
