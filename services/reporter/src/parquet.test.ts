import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { type DivergenceRow, divergenceRowsToColumns, TIPOS } from '@recon/contracts';
import { type DataType, Decimal, tableFromIPC } from 'apache-arrow';
import { readParquet } from 'parquet-wasm/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  divergencesToArrow,
  encodeDivergenceColumnsParquet,
  encodeDivergencesParquet,
  parseIsoDate,
} from './parquet.ts';

const COLUMNS = [
  'job_id',
  'tipo_divergencia',
  'severidade',
  'ordem_id',
  'fornecedor_id',
  'nome',
  'ativo_id',
  'data',
  'data_base',
  'valor_csv',
  'valor_base',
  'diferenca',
  'campo',
  'detalhes',
  'hash_linha',
  'linha_arquivo',
  'timestamp',
] as const;

const NULLABLE = new Set(['data_base', 'valor_csv', 'valor_base', 'diferenca', 'campo', 'linha_arquivo']);

/** Every column as text (or null), so nothing is compared through a JS number. */
const AS_TEXT = COLUMNS.map((c) =>
  c === 'timestamp'
    ? 'CAST(epoch_ms("timestamp") AS VARCHAR) AS "timestamp"'
    : c === 'linha_arquivo'
      ? 'CAST(linha_arquivo AS VARCHAR) AS linha_arquivo'
      : `CAST("${c}" AS VARCHAR) AS "${c}"`,
).join(', ');

function row(overrides: Partial<DivergenceRow> = {}): DivergenceRow {
  return {
    job_id: 'JOB-20260115-000042',
    tipo_divergencia: 'TIPO_3_VALOR',
    severidade: 'MEDIUM',
    ordem_id: 'ORD-000001',
    fornecedor_id: 'FORN-7',
    nome: 'Acme Ltda',
    ativo_id: 'PETR4',
    data: '2026-01-14',
    data_base: '2026-01-14',
    valor_csv: '3172.76',
    valor_base: '3180.00',
    diferenca: '-7.24',
    campo: 'valor',
    detalhes: 'valor no arquivo 3172.76, na base 3180.00 (diferença -7.24)',
    hash_linha: 'a'.repeat(64),
    linha_arquivo: 2,
    timestamp: Date.UTC(2026, 0, 15, 3, 4, 5, 678),
    ...overrides,
  };
}

/** What DuckDB gives back as text for a row (see AS_TEXT). */
function expectedText(r: DivergenceRow): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const c of COLUMNS) {
    const v = r[c];
    out[c] = v === null ? null : String(v);
  }
  // Lone surrogates cannot be UTF-8: they are written (like TextEncoder does) as U+FFFD.
  for (const c of COLUMNS) {
    const v = out[c];
    if (typeof v === 'string') out[c] = new TextDecoder().decode(new TextEncoder().encode(v));
  }
  return out;
}

/** Days since 1970-01-01 by the JS calendar (setUTCFullYear: Date.UTC maps years 0–99 to 19xx). */
function utcDays(iso: string): number {
  const d = new Date(0);
  d.setUTCFullYear(Number(iso.slice(0, 4)), Number(iso.slice(5, 7)) - 1, Number(iso.slice(8)));
  return d.getTime() / 86_400_000;
}

let dir: string;
let instance: DuckDBInstance;
let conn: DuckDBConnection;
let fileCount = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'recon-parquet-'));
  instance = await DuckDBInstance.create();
  conn = await instance.connect();
});

afterAll(() => {
  conn?.closeSync();
  instance?.closeSync();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function writeFile(rows: readonly DivergenceRow[]): string {
  const path = join(dir, `f${fileCount++}.parquet`);
  writeFileSync(path, encodeDivergencesParquet(rows));
  return path;
}

async function query(sql: string) {
  return (await conn.runAndReadAll(sql)).getRowObjectsJson();
}

async function readBack(path: string) {
  return query(
    `SELECT ${AS_TEXT} FROM read_parquet('${path}', file_row_number = true) ORDER BY file_row_number`,
  );
}

describe('encodeDivergencesParquet: schema (RULES §6)', () => {
  it('has the exact columns, order and DuckDB types', async () => {
    const path = writeFile([row()]);
    const described = await query(`DESCRIBE SELECT * FROM read_parquet('${path}')`);
    expect(described.map((d) => [d.column_name, d.column_type])).toEqual([
      ['job_id', 'VARCHAR'],
      ['tipo_divergencia', 'VARCHAR'],
      ['severidade', 'VARCHAR'],
      ['ordem_id', 'VARCHAR'],
      ['fornecedor_id', 'VARCHAR'],
      ['nome', 'VARCHAR'],
      ['ativo_id', 'VARCHAR'],
      ['data', 'DATE'],
      ['data_base', 'DATE'],
      ['valor_csv', 'DECIMAL(18,2)'],
      ['valor_base', 'DECIMAL(18,2)'],
      ['diferenca', 'DECIMAL(18,2)'],
      ['campo', 'VARCHAR'],
      ['detalhes', 'VARCHAR'],
      ['hash_linha', 'VARCHAR'],
      ['linha_arquivo', 'INTEGER'],
      ['timestamp', 'TIMESTAMP WITH TIME ZONE'],
    ]);
  });

  it('marks nullability, stores money as INT64 DECIMAL(18,2) and the timestamp as UTC millis', async () => {
    const path = writeFile([row()]);
    const schema = await query(
      `SELECT name, type, logical_type, repetition_type FROM parquet_schema('${path}') WHERE name <> 'arrow_schema'`,
    );
    expect(schema.map((s) => s.name)).toEqual([...COLUMNS]);
    for (const s of schema) {
      expect([s.name, s.repetition_type]).toEqual([
        s.name,
        NULLABLE.has(String(s.name)) ? 'OPTIONAL' : 'REQUIRED',
      ]);
    }
    const byName = new Map(schema.map((s) => [s.name, s]));
    for (const money of ['valor_csv', 'valor_base', 'diferenca']) {
      expect(byName.get(money)).toMatchObject({
        type: 'INT64',
        logical_type: 'DecimalType(scale=2, precision=18)',
      });
    }
    expect(byName.get('data')).toMatchObject({ type: 'INT32', logical_type: 'DateType()' });
    expect(byName.get('linha_arquivo')).toMatchObject({ type: 'INT32' });
    const ts = byName.get('timestamp');
    expect(ts?.type).toBe('INT64');
    expect(String(ts?.logical_type)).toContain('isAdjustedToUTC=1');
    expect(String(ts?.logical_type)).toContain('MILLIS=MilliSeconds()');
  });

  it('embeds the Arrow schema (types and nullability) for Arrow readers', () => {
    const table = tableFromIPC(readParquet(encodeDivergencesParquet([row()])).intoIPCStream());
    const describe = (t: DataType) =>
      t instanceof Decimal ? `Decimal(${t.precision},${t.scale},${t.bitWidth})` : String(t);
    expect(table.schema.fields.map((f) => [f.name, describe(f.type), f.nullable])).toEqual([
      ['job_id', 'Utf8', false],
      ['tipo_divergencia', 'Utf8', false],
      ['severidade', 'Utf8', false],
      ['ordem_id', 'Utf8', false],
      ['fornecedor_id', 'Utf8', false],
      ['nome', 'Utf8', false],
      ['ativo_id', 'Utf8', false],
      ['data', 'Date32<DAY>', false],
      ['data_base', 'Date32<DAY>', true],
      ['valor_csv', 'Decimal(18,2,128)', true],
      ['valor_base', 'Decimal(18,2,128)', true],
      ['diferenca', 'Decimal(18,2,128)', true],
      ['campo', 'Utf8', true],
      ['detalhes', 'Utf8', false],
      ['hash_linha', 'Utf8', false],
      ['linha_arquivo', 'Int32', true],
      ['timestamp', 'Timestamp<MILLISECOND, UTC>', false],
    ]);
  });

  it('is Snappy-compressed in every column chunk', async () => {
    const path = writeFile([row(), row({ ordem_id: 'ORD-2' })]);
    const meta = await query(`SELECT path_in_schema, compression FROM parquet_metadata('${path}')`);
    expect(meta.map((m) => m.path_in_schema)).toEqual([...COLUMNS]);
    expect(new Set(meta.map((m) => m.compression))).toEqual(new Set(['SNAPPY']));
  });

  it('writes min/max statistics that match the data for dates and money (readers prune with them)', async () => {
    const rows = [
      row({ valor_csv: '-9999999999999999.99', data: '1969-12-31', data_base: null, linha_arquivo: null }),
      row({ valor_csv: '9999999999999999.99', data: '2026-01-14', linha_arquivo: 70000 }),
      row({ valor_csv: null, data: '2000-02-29', diferenca: '-0.01', linha_arquivo: 3 }),
    ];
    const path = writeFile(rows);
    const stats = await query(
      `SELECT path_in_schema AS c, stats_min_value AS lo, stats_max_value AS hi, stats_null_count::VARCHAR AS nulls
       FROM parquet_metadata('${path}')`,
    );
    const byColumn = new Map(stats.map((s) => [s.c, s]));
    expect(byColumn.get('valor_csv')).toMatchObject({
      lo: '-9999999999999999.99',
      hi: '9999999999999999.99',
      nulls: '1',
    });
    expect(byColumn.get('diferenca')).toMatchObject({ lo: '-7.24', hi: '-0.01', nulls: '0' });
    expect(byColumn.get('data')).toMatchObject({ lo: '1969-12-31', hi: '2026-01-14' });
    expect(byColumn.get('linha_arquivo')).toMatchObject({ lo: '3', hi: '70000', nulls: '1' });
    // Text columns carry no min/max (one row group per file: nothing to prune, and they cost time).
    expect(byColumn.get('ordem_id')).toMatchObject({ lo: null, hi: null });
    const [counts] = await query(
      `SELECT count(*) FILTER (WHERE valor_csv < 0)::VARCHAR AS neg, count(*) FILTER (WHERE data < DATE '1970-01-01')::VARCHAR AS old
       FROM read_parquet('${path}')`,
    );
    expect(counts).toEqual({ neg: '1', old: '1' });
  });

  it('writes a valid file with the full schema for 0 rows', async () => {
    const path = writeFile([]);
    expect(await query(`SELECT count(*)::VARCHAR AS n FROM read_parquet('${path}')`)).toEqual([{ n: '0' }]);
    const described = await query(`DESCRIBE SELECT * FROM read_parquet('${path}')`);
    expect(described.map((d) => d.column_name)).toEqual([...COLUMNS]);
    expect(described.map((d) => d.column_type)).toContain('DECIMAL(18,2)');
    const meta = await query(`SELECT num_rows::VARCHAR AS n FROM parquet_file_metadata('${path}')`);
    expect(meta).toEqual([{ n: '0' }]);
  });
});

describe('encodeDivergencesParquet: values round-trip exactly', () => {
  it('keeps money exact, including negatives, zero, one cent and the DECIMAL(18,2) extremes', async () => {
    const money = [
      '0.00',
      '-0.01',
      '0.01',
      '-7.24',
      '1234.50',
      '-1234.50',
      '9999999999999999.99',
      '-9999999999999999.99',
      '4294967296.00', // 2^32 cents boundaries: words 0 and 1 both matter
      '42949672.95',
      '-42949672.96',
      '92233720368547.75',
      '-0.07',
      '00012.30', // leading zeros are still exact digits
    ];
    const rows = money.map((m, i) =>
      row({ ordem_id: `M${i}`, valor_csv: m, valor_base: i % 2 === 0 ? null : m, diferenca: m }),
    );
    const path = writeFile(rows);
    const back = await query(
      `SELECT CAST(valor_csv AS VARCHAR) AS v, CAST(valor_base AS VARCHAR) AS b, CAST(diferenca AS VARCHAR) AS d
       FROM read_parquet('${path}', file_row_number = true) ORDER BY file_row_number`,
    );
    const canonical = (m: string) => m.replace(/^(-?)0+(?=\d)/, '$1');
    expect(back).toEqual(
      money.map((m, i) => ({ v: canonical(m), b: i % 2 === 0 ? null : canonical(m), d: canonical(m) })),
    );
    // Exact arithmetic on the stored values: SUM in DuckDB = BigInt sum of the inputs.
    const [sum] = await query(`SELECT CAST(sum(valor_csv) AS VARCHAR) AS s FROM read_parquet('${path}')`);
    const cents = money.reduce((acc, m) => acc + BigInt(m.replace('.', '')), 0n);
    const abs = (cents < 0n ? -cents : cents).toString().padStart(3, '0');
    expect(sum?.s).toBe(`${cents < 0n ? '-' : ''}${abs.slice(0, -2)}.${abs.slice(-2)}`);
  });

  it("builds Arrow Decimal128 values as 4 little-endian two's complement words, sign-extended", () => {
    const money = ['0.00', '-0.01', '1.00', '9999999999999999.99', '-9999999999999999.99', '-42949672.96'];
    const table = divergencesToArrow(money.map((m) => row({ valor_csv: m })));
    const words = table.getChild('valor_csv')!.data[0]!.values as Uint32Array;
    expect(words.length).toBe(money.length * 4);
    money.forEach((m, i) => {
      const bits = BigInt.asUintN(128, BigInt(m.replace('.', '')));
      const want = [0, 1, 2, 3].map((w) => Number((bits >> BigInt(32 * w)) & 0xffffffffn));
      expect([m, ...words.subarray(4 * i, 4 * i + 4)]).toEqual([m, ...want]);
    });
  });

  it('keeps dates (epoch, leap days, before 1970, far years) and nulls', async () => {
    const dates = [
      '1970-01-01',
      '1969-12-31',
      '2000-02-29',
      '1900-03-01',
      '2024-02-29',
      '2026-12-31',
      '0001-01-01',
      '9999-12-31',
      '1600-02-29',
    ];
    const rows = dates.map((d, i) => row({ ordem_id: `D${i}`, data: d, data_base: i % 3 === 0 ? null : d }));
    const path = writeFile(rows);
    const back = await query(
      `SELECT CAST(data AS VARCHAR) AS d, CAST(data_base AS VARCHAR) AS b,
              CAST(data - DATE '1970-01-01' AS VARCHAR) AS days
       FROM read_parquet('${path}', file_row_number = true) ORDER BY file_row_number`,
    );
    expect(back).toEqual(
      dates.map((d, i) => ({
        d,
        b: i % 3 === 0 ? null : d,
        days: String(utcDays(d)),
      })),
    );
  });

  it('keeps timestamps to the millisecond, as UTC instants', async () => {
    const stamps = [0, 1, -1, Date.UTC(2026, 0, 15, 3, 4, 5, 678), 253402300799999, -62135596800000];
    const path = writeFile(stamps.map((t, i) => row({ ordem_id: `T${i}`, timestamp: t })));
    await conn.run(`SET TimeZone = 'America/Sao_Paulo'`); // the session zone must not shift the instant
    try {
      const back = await query(
        `SELECT CAST(epoch_ms("timestamp") AS VARCHAR) AS ms,
                strftime(timezone('UTC', "timestamp"), '%Y-%m-%d %H:%M:%S.%g') AS utc
         FROM read_parquet('${path}', file_row_number = true) ORDER BY file_row_number`,
      );
      expect(back).toEqual(
        stamps.map((t) => ({ ms: String(t), utc: new Date(t).toISOString().replace('T', ' ').slice(0, 23) })),
      );
    } finally {
      await conn.run(`SET TimeZone = 'UTC'`);
    }
  });

  it('keeps linha_arquivo (null, > 65535, int32 extremes) and nulls at every bitmap position', async () => {
    const rows: DivergenceRow[] = [];
    for (let i = 0; i < 37; i++) {
      const isNull = i === 0 || i === 7 || i === 8 || i === 15 || i === 16 || i === 36 || i % 5 === 3;
      rows.push(
        row({
          ordem_id: `L${i}`,
          linha_arquivo: isNull ? null : [65536, 2147483647, -2147483648, 1, 70000 + i][i % 5]!,
          campo: isNull ? null : 'valor',
          data_base: isNull ? null : '2026-01-13',
          valor_csv: isNull ? null : `${i}.00`,
          valor_base: isNull ? null : `-${i}.50`,
          diferenca: isNull ? null : '0.00',
        }),
      );
    }
    const back = await readBack(writeFile(rows));
    expect(back).toEqual(rows.map(expectedText));
  });

  it('keeps text byte-exact: accents, emoji, CJK, empty strings, long and short values', async () => {
    const texts = [
      '',
      'José',
      'Ação Ordinária São João',
      'diferença',
      '💶 euro',
      '日本語のテキスト',
      'x'.repeat(23),
      `${'ç'.repeat(23)}€`, // 24 UTF-16 units, multi-byte
      `long ${'é💶'.repeat(200)} end`,
      'lone \uD800 surrogate',
      'pair at the end \uD83D\uDCB6',
      'tab\tnew\nline;"quote"',
    ];
    const rows = texts.map((t, i) =>
      row({
        ordem_id: `S${i}-${t.slice(0, 10)}`,
        nome: t,
        detalhes: `${t} / ${t}`,
        fornecedor_id: t,
        campo: t as DivergenceRow['campo'], // any text: the encoder does not check the Campo union
      }),
    );
    const path = writeFile(rows);
    const back = await readBack(path);
    expect(back).toEqual(rows.map(expectedText));
    const lengths = await query(
      `SELECT CAST(octet_length(encode(nome)) AS VARCHAR) AS n FROM read_parquet('${path}', file_row_number = true) ORDER BY file_row_number`,
    );
    expect(lengths.map((l) => l.n)).toEqual(texts.map((t) => String(Buffer.byteLength(t, 'utf8'))));
  });

  it('preserves row order and every value over many rows (random data, buffers growing)', async () => {
    let seed = 12345;
    const rand = (k: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % k;
    };
    const money = () => {
      if (rand(10) === 0) return null;
      const cents = BigInt(rand(2_000_000_000)) * BigInt(rand(1_000_000) + 1) - 10n ** 14n;
      const abs = (cents < 0n ? -cents : cents).toString().padStart(3, '0');
      return `${cents < 0n ? '-' : ''}${abs.slice(0, -2)}.${abs.slice(-2)}`;
    };
    const rows: DivergenceRow[] = [];
    for (let i = 0; i < 5000; i++) {
      const day = rand(40000) - 10000;
      rows.push({
        job_id: 'JOB-20260115-000042',
        tipo_divergencia: TIPOS[rand(TIPOS.length)]!,
        severidade: (['HIGH', 'MEDIUM', 'LOW'] as const)[rand(3)]!,
        // not sorted: the encoder must keep the caller's order
        ordem_id: `ORD-${(i * 7919) % 5000}-${rand(1000)}`,
        fornecedor_id: `F${rand(50)}`,
        nome: rand(7) === 0 ? `Nome ${'longo é '.repeat(rand(100))}${i}` : `N${rand(300)}`,
        ativo_id: `A${rand(20)}`,
        data: new Date(day * 86_400_000).toISOString().slice(0, 10),
        data_base: rand(4) === 0 ? null : new Date((day + rand(3)) * 86_400_000).toISOString().slice(0, 10),
        valor_csv: money(),
        valor_base: money(),
        diferenca: money(),
        campo: rand(3) === 0 ? null : 'valor',
        detalhes: `detalhe ${i} ${'ç'.repeat(rand(400))}`,
        hash_linha: (BigInt(i) * 0x9e3779b97f4a7c15n).toString(16).padStart(64, '0').slice(-64),
        linha_arquivo: rand(5) === 0 ? null : i + 2 + rand(3_000_000),
        timestamp: 1_768_000_000_000 + rand(100_000_000),
      });
    }
    const back = await readBack(writeFile(rows));
    expect(back.length).toBe(rows.length);
    expect(back).toEqual(rows.map(expectedText));
  });
});

describe('encodeDivergencesParquet: refuses values that do not fit', () => {
  it.each([
    '12.3',
    '1e5',
    '12.345',
    '1,00',
    ' 1.00',
    '+1.00',
    '',
    '.50',
    '1.',
    '--1.00',
    '1.0a',
    '10000000000000000.00', // 19 digits: does not fit DECIMAL(18,2)
  ])('money %j: throws naming the row and the column', (bad) => {
    for (const column of ['valor_csv', 'valor_base', 'diferenca'] as const) {
      const rows = [row(), row({ ordem_id: 'ORD-BAD', [column]: bad })];
      expect(() => encodeDivergencesParquet(rows)).toThrow(
        new RegExp(`row 1 \\(ordem_id "ORD-BAD"\\), column ${column}: `),
      );
    }
  });

  it('refuses an impossible or malformed date', () => {
    for (const bad of ['2026-02-30', '2026-13-01', '2026-1-01', '14/01/2026', '2100-02-29', '0000-01-01']) {
      expect(() => encodeDivergencesParquet([row({ data: bad })])).toThrow(/column data: /);
      expect(() => encodeDivergencesParquet([row({ data_base: bad })])).toThrow(/column data_base: /);
    }
  });

  it('refuses null in a non-nullable column and out-of-range numbers', () => {
    const bad = (o: Record<string, unknown>) => row(o as Partial<DivergenceRow>);
    expect(() => encodeDivergencesParquet([bad({ nome: null })])).toThrow(/row 0 .*column nome: /);
    expect(() => encodeDivergencesParquet([bad({ data: null })])).toThrow(/column data: /);
    expect(() => encodeDivergencesParquet([bad({ job_id: undefined })])).toThrow(/column job_id: /);
    expect(() => encodeDivergencesParquet([bad({ valor_csv: 12.3 })])).toThrow(/column valor_csv: /);
    expect(() => encodeDivergencesParquet([row({ linha_arquivo: 2 ** 31 })])).toThrow(
      /column linha_arquivo: /,
    );
    expect(() => encodeDivergencesParquet([row({ linha_arquivo: 1.5 })])).toThrow(/column linha_arquivo: /);
    expect(() => encodeDivergencesParquet([row({ timestamp: 1.5 })])).toThrow(/column timestamp: /);
    expect(() => encodeDivergencesParquet([row({ timestamp: Number.NaN })])).toThrow(/column timestamp: /);
  });
});

describe('encodeDivergenceColumnsParquet: rows held as columns (shard results)', () => {
  /** Rows dealt round-robin into `count` lists, and the order that gathers them back. */
  function dealt(rows: readonly DivergenceRow[], count: number) {
    const lists: DivergenceRow[][] = Array.from({ length: count }, () => []);
    const list = new Int32Array(rows.length);
    const at = new Int32Array(rows.length);
    rows.forEach((r, k) => {
      list[k] = k % count;
      at[k] = lists[k % count]!.length;
      lists[k % count]!.push(r);
    });
    return { sources: lists.map(divergenceRowsToColumns), list, at };
  }

  it('writes the very file encodeDivergencesParquet writes for the same rows, whole or in parts', () => {
    const rows: DivergenceRow[] = [];
    for (let i = 0; i < 3000; i++) {
      rows.push(
        row({
          ordem_id: `ORD-${i}`,
          tipo_divergencia: TIPOS[i % TIPOS.length]!,
          nome: i % 11 === 0 ? `Nome ${'ção 😀 '.repeat(i % 40)}` : `N${i % 300}`,
          data_base: i % 4 === 0 ? null : '2026-01-14',
          valor_csv: i % 9 === 0 ? null : `${i}.${String(i % 100).padStart(2, '0')}`,
          diferenca: i % 3 === 0 ? null : `-${i % 70}.05`,
          campo: i % 5 === 0 ? null : 'valor',
          linha_arquivo: i % 6 === 0 ? null : i + 2,
          timestamp: 1_768_000_000_000 + i,
        }),
      );
    }
    const { sources, list, at } = dealt(rows, 7);
    const whole = encodeDivergenceColumnsParquet(sources, list, at, 0, rows.length);
    expect(Buffer.from(whole).equals(Buffer.from(encodeDivergencesParquet(rows)))).toBe(true);
    const part = encodeDivergenceColumnsParquet(sources, list, at, 1000, 2500);
    expect(Buffer.from(part).equals(Buffer.from(encodeDivergencesParquet(rows.slice(1000, 2500))))).toBe(
      true,
    );
  });

  it.each([
    ['valor_base', { valor_base: '1,00' }],
    ['data', { data: '2026-02-30' }],
    ['data_base', { data_base: '14/01/2026' }],
    ['diferenca', { diferenca: '10000000000000000.00' }],
  ] as const)('names the row of a bad %s as encodeDivergencesParquet does', (column, bad) => {
    const rows = Array.from({ length: 9 }, (_, i) =>
      row(i === 5 ? { ordem_id: 'ORD-BAD', ...bad } : { ordem_id: `ORD-${i}` }),
    );
    const { sources, list, at } = dealt(rows, 3);
    const message = new RegExp(`row 5 \\(ordem_id "ORD-BAD"\\), column ${column}: `);
    expect(() => encodeDivergencesParquet(rows)).toThrow(message);
    expect(() => encodeDivergenceColumnsParquet(sources, list, at, 0, rows.length)).toThrow(message);
    // Gathering from row 2 on, the bad row is the fourth written.
    expect(() => encodeDivergenceColumnsParquet(sources, list, at, 2, rows.length)).toThrow(
      new RegExp(`row 3 \\(ordem_id "ORD-BAD"\\), column ${column}: `),
    );
  });
});

describe('parseIsoDate', () => {
  it('agrees with Date.UTC on every day from 1899 to 2101', () => {
    for (let day = Date.UTC(1899, 0, 1) / 86_400_000; day <= Date.UTC(2101, 11, 31) / 86_400_000; day++) {
      const iso = new Date(day * 86_400_000).toISOString().slice(0, 10);
      if (parseIsoDate(iso) !== day) expect(parseIsoDate(iso)).toBe(day);
    }
  });

  it('rejects what is not a real YYYY-MM-DD day', () => {
    for (const bad of ['2026-02-29', '1900-02-29', '2026-04-31', '2026-00-10', '2026-01-00', '2026-01-32']) {
      expect(parseIsoDate(bad)).toBeUndefined();
    }
    for (const bad of ['2026-1-01', '26-01-01', '2026/01/01', '2026-01-01 ', 'abcd-ef-gh', '+202-01-01']) {
      expect(parseIsoDate(bad)).toBeUndefined();
    }
  });
});
