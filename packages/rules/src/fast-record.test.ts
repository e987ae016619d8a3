import { encodeShardRecord, type NormalizedRecord, type RejectedLine } from '@recon/contracts';
import { describe, expect, it } from 'vitest';
import { pick, rng } from '../../../test/support/random.ts';
import { type OnRecord, scanRecordBoundaries, scanRecords } from './csv.ts';
import { parseData } from './data.ts';
import {
  dataKeyOf,
  dataOfKey,
  FastRecordEncoder,
  parseDataBytes,
  parseValorBytes,
  type ShardSink,
  scanRecordBytes,
} from './fast-record.ts';
import { shardOf } from './hash.ts';
import { normalizeRecord } from './record.ts';
import { ShardWriter } from './shard-writer.ts';
import { parseValor } from './valor.ts';
import { encodeRecordBlock } from './wasm-record.ts';

function valorViaBytes(raw: string): string | null {
  const src = Buffer.from(raw, 'latin1');
  const out = new Uint8Array(raw.length + 8);
  const end = parseValorBytes(src, 0, src.length, out, 0, new Uint8Array(raw.length + 8));
  return end < 0 ? null : Buffer.from(out.subarray(0, end)).toString('latin1');
}

function expectSameValor(raw: string): void {
  const general = parseValor(raw);
  expect([raw, valorViaBytes(raw)]).toEqual([raw, general.ok ? general.value : null]);
}

describe('parseValorBytes = parseValor (RULES §3)', () => {
  it('agrees on every notation of RULES §3 and on edge cases', () => {
    for (const raw of [
      '1.234,56',
      '1,234.56',
      '1234,56',
      '1234.56',
      '1.234',
      '1.234.567',
      '1,234,567.891',
      '-10,5',
      '-1.234,56',
      '10.005',
      '10.015',
      '10.025',
      '10.0251',
      '0.005',
      '0.015',
      '-0.004',
      '-0.005',
      '-0.00',
      '-0',
      '0',
      '00012.30',
      '0.99999',
      '9.995',
      '99.995',
      '9999999999999999.99',
      '9999999999999999.995',
      '99999999999999999',
      '0000000000000000000001.00',
      '1',
      '-',
      '',
      '.5',
      '5.',
      '1..5',
      '1.,5',
      '--1',
      '1-',
      '1 2',
      'abc',
      '12a',
      '１２',
    ]) {
      expectSameValor(raw);
    }
  });

  it('agrees on 200k random strings', () => {
    const r = rng(7);
    const alphabet = ['0', '1', '5', '9', '4', '6', '.', ',', '-', '0', '2', '7'];
    for (let k = 0; k < 200_000; k++) {
      const length = Math.floor(r() * 14);
      let raw = r() < 0.3 ? '-' : '';
      for (let j = 0; j < length; j++) raw += pick(r, alphabet);
      expectSameValor(raw);
    }
  });
});

describe('parseDataBytes = parseData (RULES §2)', () => {
  function viaBytes(raw: string): string | null {
    const src = Buffer.from(raw, 'latin1');
    const out = new Uint8Array(10);
    const key = parseDataBytes(src, 0, src.length, out, 0);
    if (key < 0) return null;
    const iso = Buffer.from(out).toString('latin1');
    expect(dataKeyOf(iso)).toBe(key);
    expect(dataOfKey(key)).toBe(iso);
    return iso;
  }

  it('agrees on both formats, leap years, impossible dates and garbage', () => {
    const r = rng(11);
    const samples = [
      '2026-02-28',
      '2026-02-29',
      '2024-02-29',
      '1900-02-29',
      '2000-02-29',
      '2026-04-31',
      '2026-13-01',
      '2026-00-10',
      '0000-01-01',
      '0001-01-01',
      '31/12/2026',
      '29/02/2024',
      '30/02/2026',
      '2026/11/20',
      '20-11-2026',
      '2026-1-20',
      '2026-11-2a',
      '',
      '26-11-2026x',
    ];
    for (let k = 0; k < 50_000; k++) {
      const y = String(Math.floor(r() * 10000)).padStart(4, '0');
      const m = String(Math.floor(r() * 14)).padStart(2, '0');
      const d = String(Math.floor(r() * 33)).padStart(2, '0');
      samples.push(r() < 0.5 ? `${y}-${m}-${d}` : `${d}/${m}/${y}`);
    }
    for (const raw of samples) {
      const general = parseData(raw);
      expect([raw, viaBytes(raw)]).toEqual([raw, general.ok ? general.value : null]);
    }
  });
});

describe('text below U+0300 is NFC in any combination', () => {
  it('holds for every single code point and every pair (the fast path copies such bytes)', () => {
    const chars: string[] = [];
    for (let cp = 0x20; cp < 0x300; cp++) chars.push(String.fromCodePoint(cp));
    for (const a of chars) {
      expect(a.normalize('NFC')).toBe(a);
      for (const b of chars) {
        const s = a + b;
        if (s.normalize('NFC') !== s) throw new Error(`not NFC: U+${a.codePointAt(0)} U+${b.codePointAt(0)}`);
      }
    }
  });
});

/** One growable buffer per shard (or per bucket of a shard), as the partition's ShardWriter. */
class Sink implements ShardSink {
  buffers: Buffer[];
  lengths: number[];
  constructor(
    readonly shardCount: number,
    readonly bucketBits = 0,
  ) {
    this.buffers = Array.from({ length: shardCount << bucketBits }, () => Buffer.alloc(16));
    this.lengths = new Array(shardCount << bucketBits).fill(0);
  }
  room(shard: number, need: number): Buffer {
    const b = this.buffers[shard]!;
    if (need <= b.length) return b;
    const grown = Buffer.alloc(Math.max(2 * b.length, need));
    b.copy(grown);
    this.buffers[shard] = grown;
    return grown;
  }
  lengthOf(shard: number): number {
    return this.lengths[shard]!;
  }
  commit(shard: number, length: number): void {
    this.lengths[shard] = length;
  }
  add(shard: number, line: string): void {
    const bytes = Buffer.from(line, 'utf8');
    const at = this.lengths[shard]!;
    bytes.copy(this.room(shard, at + bytes.length), at);
    this.lengths[shard] = at + bytes.length;
  }
  text(): string[] {
    return this.buffers.map((b, k) => b.toString('utf8', 0, this.lengths[k]));
  }
}

/**
 * Where the general path puts an order's line: its shard (`shardOf`), and in it the bucket of the
 * top `bucketBits` bits of the same FNV-1a hash, computed here on its own.
 */
function slotOf(ordemId: string, shards: number, bucketBits: number): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < ordemId.length; k++) h = Math.imul(h ^ ordemId.charCodeAt(k), 0x01000193);
  const bucket = bucketBits === 0 ? 0 : Math.floor((h >>> 0) / 2 ** (32 - bucketBits));
  return shardOf(ordemId, shards) * 2 ** bucketBits + bucket;
}

interface Outcome {
  shards: string[];
  rejects: RejectedLine[];
  records: number;
  lines: number;
  valid: number;
  min: number;
  max: number;
  fast: number;
}

/** The general path's records: normalized and written (counted, their dates kept), or rejected. */
function generalRecords(order: number[], write: (linha: number, record: NormalizedRecord) => void) {
  const seen = {
    rejects: [] as RejectedLine[],
    valid: 0,
    min: Number.POSITIVE_INFINITY,
    max: Number.NEGATIVE_INFINITY,
  };
  const onRecord: OnRecord = (fields, linha, raw) => {
    const r = normalizeRecord(fields, order);
    if (!r.ok) {
      seen.rejects.push({ linha, motivo: r.motivo, mensagem: r.mensagem, conteudo: raw });
      return;
    }
    seen.valid++;
    seen.min = Math.min(seen.min, dataKeyOf(r.record.data));
    seen.max = Math.max(seen.max, dataKeyOf(r.record.data));
    write(linha, r.record);
  };
  return { seen, onRecord };
}

/** The path before the fast one: decode, scanRecords, normalizeRecord, encodeShardRecord, shardOf. */
function generalPath(bytes: Buffer, order: number[], shards: number, bucketBits = 0): Outcome {
  const sink = new Sink(shards, bucketBits);
  const { seen, onRecord } = generalRecords(order, (linha, record) =>
    sink.add(slotOf(record.ordem_id, shards, bucketBits), encodeShardRecord(linha, record)),
  );
  const scan = scanRecords(bytes.toString('utf8'), 2, true, onRecord);
  return { shards: sink.text(), ...seen, records: scan.records, lines: scan.lines, fast: 0 };
}

function fastPath(bytes: Buffer, order: number[], shards: number, bucketBits = 0): Outcome {
  const sink = new Sink(shards, bucketBits);
  const encoder = new FastRecordEncoder(order);
  const { seen, onRecord } = generalRecords(order, (linha, record) =>
    sink.add(slotOf(record.ordem_id, shards, bucketBits), encodeShardRecord(linha, record)),
  );
  let fast = 0;
  const scan = scanRecordBytes(
    bytes,
    2,
    (start, end, linha) => {
      if (!encoder.encode(bytes, start, end, linha, sink)) return false;
      seen.valid++;
      fast++;
      seen.min = Math.min(seen.min, encoder.dataKey);
      seen.max = Math.max(seen.max, encoder.dataKey);
      return true;
    },
    onRecord,
  );
  return { shards: sink.text(), ...seen, records: scan.records, lines: scan.lines, fast };
}

/**
 * `encodeRecordBlock` as the partition's handlers run it (a `ShardWriter`, the WebAssembly encoder
 * first), offering it every line (these lines are made to be left often); `fast` counts only the
 * lines the WebAssembly encoder wrote.
 */
function wasmPath(bytes: Buffer, order: number[], shards: number, bucketBits = 0): Outcome {
  const writer = new ShardWriter(shards, bytes.length, 2 ** bucketBits);
  const { seen, onRecord } = generalRecords(order, (linha, record) => writer.add(linha, record));
  const scan = encodeRecordBlock(bytes, 2, order, writer, onRecord, { keepOffering: true });
  const { body } = writer.take('part');
  return {
    shards: body.map((b) => b.toString('utf8')),
    rejects: seen.rejects,
    records: scan.records,
    lines: scan.lines,
    valid: seen.valid + scan.fast,
    min: Math.min(seen.min, scan.minDataKey),
    max: Math.max(seen.max, scan.maxDataKey),
    fast: scan.wasm,
  };
}

const NAMES = [
  'Maria Silva',
  'João Conceição',
  'Inês Estêvão',
  'Jo\u0303ao Conceic\u0327a\u0303o', // NFD
  'Cla\u0301udio Simo\u0303es', // NFD
  'Nguyễn Thị',
  'Nguye\u0302\u0303n', // NFD with stacked marks
  'Å\u212B ohm \u2126', // Angstrom and ohm signs: singletons that NFC changes
  'what\u037E', // Greek question mark: NFC gives ";"
  '山田 太郎',
  'emoji 😀 ok',
  'tab\tinside',
  'back\\slash',
  'cr\rinside',
  'ʼmodifierˀ',
  '',
  'a',
];
const ORDENS = ['ORD-1', 'ORD-2', 'ORD-0003', 'X', 'ORD-à', 'ORD-a\u0300', 'ORD\\7', 'ORD\t8', 'ORD-1', ''];
const DATAS = [
  '2026-11-20',
  '20/11/2026',
  '2026-02-29',
  '29/02/2024',
  '2026-13-01',
  '31/04/2026',
  'ontem',
  '',
];
const VALORES = [
  '1234.56',
  '1.234,56',
  '1,234.56',
  '1234,56',
  '1.234',
  '1.234.567',
  '10.005',
  '10.015',
  '-10,5',
  '-0.00',
  '0',
  '007.50',
  '9999999999999999.995',
  '12a',
  '',
  '1..5',
];

function randomField(r: () => number, value: string): string {
  const blanks = ['', '', '', ' ', '\t', '  '];
  let f = `${pick(r, blanks)}${value}${pick(r, blanks)}`;
  if (r() < 0.08) f = `"${f.replaceAll('"', '""')}"`;
  if (r() < 0.02) f = `"${value};x"`;
  if (r() < 0.01) f = `"multi\nline ${value}"`;
  if (r() < 0.01) f = ` "${value}" `;
  if (r() < 0.005) f = `a"b${value}`;
  if (r() < 0.01) f = `"${value}" ${pick(r, ['', ' ', '\t', 'x', '"y"'])}`;
  if (r() < 0.005) f = `"${value}\r"`;
  return f;
}

function randomChunk(seed: number, lines: number, order: number[]): Buffer {
  const r = rng(seed);
  const out: string[] = [];
  for (let k = 0; k < lines; k++) {
    if (r() < 0.02) {
      out.push(pick(r, ['', ' ', '\t ', '\r']));
      continue;
    }
    const canonical = [
      `FORN-${Math.floor(r() * 5)}${r() < 0.05 ? 'é' : ''}`,
      r() < 0.9 ? `ORD-${Math.floor(r() * 400)}` : pick(r, ORDENS),
      pick(r, NAMES),
      r() < 0.05 ? pick(r, ['ATV-\u00e9', 'ATV-e\u0301', 'ATV\\x']) : `ATV-${Math.floor(r() * 9)}`,
      r() < 0.85 ? pick(r, DATAS.slice(0, 4)) : pick(r, DATAS),
      r() < 0.85 ? pick(r, VALORES.slice(0, 12)) : pick(r, VALORES),
    ];
    const fields = order.map((_, filePos) => canonical[order.indexOf(filePos)]!);
    let line = fields.map((f) => randomField(r, f)).join(';');
    if (r() < 0.02) line += ';extra';
    if (r() < 0.02) line = fields.slice(0, 4).join(';');
    out.push(line);
  }
  const eol = seed % 2 === 0 ? '\r\n' : '\n';
  return Buffer.from(out.join(eol) + (seed % 3 === 0 ? '' : eol), 'utf8');
}

describe('fast partition path = general path', () => {
  it('gives the same shard bytes, rejects, counts and date window', () => {
    for (const [seed, order] of [
      [1, [0, 1, 2, 3, 4, 5]],
      [2, [1, 0, 2, 3, 4, 5]],
      [3, [5, 4, 3, 2, 1, 0]],
      [4, [0, 1, 2, 3, 4, 5]],
      [5, [2, 0, 1, 5, 3, 4]],
      [6, [0, 1, 2, 3, 4, 5]],
    ] as const) {
      const bytes = randomChunk(seed, 4000, [...order]);
      const general = generalPath(bytes, [...order], 7);
      const fast = fastPath(bytes, [...order], 7);
      const wasm = wasmPath(bytes, [...order], 7);
      expect(fast.fast).toBeGreaterThan(1000);
      expect(wasm.fast).toBeGreaterThan(1000);
      expect(general.rejects.length).toBeGreaterThan(50);
      expect({ ...fast, fast: 0 }).toEqual(general);
      expect({ ...wasm, fast: 0 }).toEqual(general);
    }
  });

  it('puts each line in the same bucket of its shard as the general path', () => {
    for (const [shards, bucketBits] of [
      [7, 3],
      [8, 2],
      [1, 6],
    ] as const) {
      const bytes = randomChunk(10 + bucketBits, 4000, [0, 1, 2, 3, 4, 5]);
      const general = generalPath(bytes, [0, 1, 2, 3, 4, 5], shards, bucketBits);
      const fast = fastPath(bytes, [0, 1, 2, 3, 4, 5], shards, bucketBits);
      const wasm = wasmPath(bytes, [0, 1, 2, 3, 4, 5], shards, bucketBits);
      expect({ ...fast, fast: 0 }).toEqual(general);
      expect({ ...wasm, fast: 0 }).toEqual(general);
      expect(fast.fast).toBeGreaterThan(1000);
      expect(wasm.fast).toBeGreaterThan(1000);
      // The buckets are used, not all lines in one of them.
      expect(general.shards.filter((lines) => lines.length > 0).length).toBeGreaterThan(shards * 2);
    }
  });

  it('composes decomposed letters as NFC does, whatever marks, letters or escapes surround them', () => {
    // ASCII letters, every character U+0300–U+037F (marks, and the Greek letters and singletons
    // after them), text below U+0300, marks and jamo elsewhere, blanks and characters to escape.
    const alphabet = [
      'a',
      'e',
      'u',
      'C',
      'n',
      'x',
      'Z',
      ' ',
      '\t',
      '\\',
      'é',
      'ʼ',
      '\u0483',
      '\u05B0',
      '\u1DC0',
    ];
    alphabet.push('\u20D0', '\u1100', '\u1161', '\u11A8', '\u212B', '😀', '山');
    for (let cp = 0x300; cp < 0x380; cp++) alphabet.push(String.fromCharCode(cp));
    const r = rng(11);
    const lines: string[] = [];
    for (let k = 0; k < 20_000; k++) {
      let nome = '';
      const length = 1 + Math.floor(r() * 8);
      // Mostly a letter then one mark (the case the fast path takes), else anything.
      for (let j = 0; j < length; j++)
        nome +=
          r() < 0.5
            ? pick(r, ['a', 'o', 'C', 'u']) + String.fromCharCode(0x300 + Math.floor(r() * 128))
            : pick(r, alphabet);
      lines.push(`F${k % 5};ORD-${k};${nome};ATV-1;2026-11-20;${k},50`);
    }
    const bytes = Buffer.from(`${lines.join('\n')}\n`, 'utf8');
    const general = generalPath(bytes, [0, 1, 2, 3, 4, 5], 5);
    const fast = fastPath(bytes, [0, 1, 2, 3, 4, 5], 5);
    const wasm = wasmPath(bytes, [0, 1, 2, 3, 4, 5], 5);
    expect(fast.fast).toBeGreaterThan(15_000);
    // Names with a character from U+0340 on (which NFC may change otherwise) go to the TypeScript
    // encoder; the test below has only the pairs the WebAssembly encoder composes.
    expect(wasm.fast).toBeGreaterThan(2_000);
    expect({ ...fast, fast: 0 }).toEqual(general);
    expect({ ...wasm, fast: 0 }).toEqual(general);
  });

  it('composes in WebAssembly what the TypeScript encoder composes: letters with marks U+0300–U+033F', () => {
    // Pairs of an ASCII character and one mark of the first half of the range (UTF-8 lead byte
    // 0xCC: composed, kept, or reordered by NFC), one after another, in every text field.
    const r = rng(12);
    const lines: string[] = [];
    for (let k = 0; k < 10_000; k++) {
      const text = () => {
        let value = pick(r, [' x', 'x', 'y ']);
        for (let j = 1 + Math.floor(r() * 4); j > 0; j--)
          value +=
            pick(r, ['a', 'o', 'C', 'u', 'n', '=', '<', ' ']) +
            String.fromCharCode(0x300 + Math.floor(r() * 64));
        return value;
      };
      lines.push(`${text()};ORD-${k};${text()};${text()};2026-11-20;${k},5`);
    }
    const bytes = Buffer.from(`${lines.join('\n')}\n`, 'utf8');
    const general = generalPath(bytes, [0, 1, 2, 3, 4, 5], 4, 2);
    const wasm = wasmPath(bytes, [0, 1, 2, 3, 4, 5], 4, 2);
    expect(wasm.fast).toBeGreaterThan(9_000);
    expect({ ...wasm, fast: 0 }).toEqual(general);
  });

  it('takes quoted lines too, reading every quote shape as scanRecords does', () => {
    const shapes = [
      '"Silva; Jr"',
      '"Maria ""Bia"" Souza"',
      '""',
      '""""',
      '"  espaços  "',
      '  "antes"',
      '"depois"  \t',
      '"a" "b"',
      '"a"b',
      'a"b',
      'a"b"c',
      '"tab\tdentro"',
      '"barra\\"',
      '"cr\rdentro"',
      '"cr no fim\r"',
      '"Jo\u0303ao"',
      '"😀"',
      '" "x"',
    ];
    const lines: string[] = [];
    for (const nome of shapes) {
      lines.push(`F;ORD-${lines.length};${nome};A;2026-11-20;1,5`);
      lines.push(`"F";"ORD-${lines.length}";${nome};"A";"20/11/2026";"1.234,56"`);
      lines.push(`F;ORD-${lines.length};${nome};A;2026-11-20;1\r\r`);
      lines.push(`F;ORD-${lines.length};x;${nome};2026-11-20;"2"\r`);
    }
    lines.push('F;"ORD-é";n;A;2026-11-20;1', 'F;" ";n;A;2026-11-20;1', 'F;ORD-x;"n;A;2026-11-20;1');
    lines.push(
      'F;ORD-y;"multi',
      'linha";A;2026-11-20;1',
      '"F";ORD-z;n;A;2026-13-01;1',
      'F;ORD-w;"a";"b";c;d;e',
    );
    for (const eol of ['\n', '\r\n']) {
      const bytes = Buffer.from(lines.join(eol), 'utf8');
      const fast = fastPath(bytes, [0, 1, 2, 3, 4, 5], 5);
      const general = generalPath(bytes, [0, 1, 2, 3, 4, 5], 5);
      const wasm = wasmPath(bytes, [0, 1, 2, 3, 4, 5], 5);
      // All but the `1\r\r` lines (an invalid valor: rejected by the general path).
      expect(fast.fast).toBe(shapes.length * 3);
      expect({ ...fast, fast: 0 }).toEqual(general);
      // The same lines but the emoji's (U+1F600: the TypeScript encoder takes them, normalizing).
      expect(wasm.fast).toBe(shapes.length * 3 - 3);
      expect({ ...wasm, fast: 0 }).toEqual(general);
    }
  });

  it('handles a record of a single line without a final line break, and blank lines', () => {
    for (const [text, inWasm] of [
      ['a;1;n;x;2026-01-01;1', 1],
      ['\n\n  \na;1;n;x;2026-01-01;1\r\n\r\n', 1],
      ['a;1;n;x;2026-01-01;1\r', 1],
      ['a;1;"n\n\nm";x;01/01/2026;1,5', 0],
    ] as const) {
      const bytes = Buffer.from(text, 'utf8');
      const general = generalPath(bytes, [0, 1, 2, 3, 4, 5], 3);
      expect(fastPath(bytes, [0, 1, 2, 3, 4, 5], 3)).toEqual({ ...general, fast: expect.any(Number) });
      expect(wasmPath(bytes, [0, 1, 2, 3, 4, 5], 3)).toEqual({ ...general, fast: inWasm });
    }
  });
});

describe('scanRecordBoundaries', () => {
  /** What scanRecords finds on the latin1 view of the bytes (one character per byte). */
  const reference = (bytes: Buffer, firstLine: number, final: boolean) =>
    scanRecords(bytes.toString('latin1'), firstLine, final, () => {});

  it('matches scanRecords on the latin1 view, final or not, cut anywhere (inside a character too)', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const bytes = randomChunk(seed, 300, [0, 1, 2, 3, 4, 5]);
      for (const cut of [bytes.length, Math.floor(bytes.length / 2), Math.floor(bytes.length / 3) + 1]) {
        const piece = bytes.subarray(0, cut);
        for (const final of [true, false]) {
          expect(scanRecordBoundaries(piece, 5, final)).toEqual(reference(piece, 5, final));
        }
      }
    }
  });

  it('matches scanRecords on quotes, blank lines and line breaks at the edges', () => {
    const texts = [
      'a;"b\n',
      'a;"b"";\nc\n',
      'x;" "q"\n',
      '"a"b";c\nd',
      ' "a\n"\n',
      '\n\n \t\r\n\r\r\na;b\r\n',
      'a;"x\n\ny"  ;z\r\n  \n"q"\n',
      '"ação";"漢\n字"\n\n',
      '"',
      '',
      '\r',
      'a;b\nc;"d',
    ];
    for (const text of texts) {
      const bytes = Buffer.from(text, 'utf8');
      for (const final of [true, false]) {
        expect(scanRecordBoundaries(bytes, 1, final)).toEqual(reference(bytes, 1, final));
      }
    }
  });
});

describe('FastRecordEncoder.encodeFields = normalizeRecord + encodeShardRecord', () => {
  const canonicalValores = ['1234.50', '-0.07', '0.00', '-1234.50', '9999999999999999.99'];
  const otherValores = [
    ...VALORES,
    '1234.5',
    '0010.00',
    '1234.567',
    '-0.00',
    '10000000000000000.00',
    ' 1.00',
  ];
  const texts = [...NAMES, ' lead', 'trail ', '\tlead', 'trail\t', 'new\nline', 'ÿ ʼ'];

  it('writes exactly the general line for canonical rows and nothing for the others', () => {
    const r = rng(21);
    for (const order of [
      [0, 1, 2, 3, 4, 5],
      [5, 4, 3, 2, 1, 0],
      [2, 0, 1, 5, 3, 4],
    ]) {
      const encoder = new FastRecordEncoder(order);
      let fast = 0;
      for (let k = 0; k < 20_000; k++) {
        const plain = r() < 0.5;
        const canonical: (string | null)[] = [
          plain ? `FORN-${k % 7}` : pick(r, texts),
          plain ? `ORD-${k}` : pick(r, [...ORDENS, null]),
          plain ? pick(r, ['Maria Silva', 'João Conceição', '']) : pick(r, [...texts, null]),
          plain ? `ATV-${k % 3}` : pick(r, texts),
          plain
            ? pick(r, ['2026-11-20', '2024-02-29', '0001-01-01'])
            : pick(r, [...DATAS, '0000-01-01', null]),
          plain ? pick(r, canonicalValores) : pick(r, [...otherValores, null]),
        ];
        const fields = order.map((_, filePos) => canonical[order.indexOf(filePos)]!);
        // Half the rows into 4 buckets per shard.
        const bucketBits = k % 2 === 0 ? 0 : 2;
        const sink = new Sink(5, bucketBits);
        const ok = encoder.encodeFields(fields, k, sink);
        const general = normalizeRecord(
          fields.map((v) => v ?? ''),
          order,
        );
        if (!ok) {
          expect(sink.lengths.every((n) => n === 0)).toBe(true);
          continue;
        }
        fast++;
        // Taken only when normalizeRecord changes nothing.
        expect(general.ok).toBe(true);
        if (!general.ok) continue;
        for (let c = 0; c < 6; c++) expect(general.record[NAMES_OF[c]!]).toBe(canonical[c]);
        const expected = new Sink(5, bucketBits);
        expected.add(slotOf(general.record.ordem_id, 5, bucketBits), encodeShardRecord(k, general.record));
        expect(sink.text()).toEqual(expected.text());
        expect(encoder.dataKey).toBe(dataKeyOf(general.record.data));
      }
      expect(fast).toBeGreaterThan(9000);
    }
  });
});

const NAMES_OF = ['fornecedor_id', 'ordem_id', 'nome', 'ativo_id', 'data', 'valor'] as const;
