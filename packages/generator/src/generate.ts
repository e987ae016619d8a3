import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { RejectReason, TipoDivergencia } from '@recon/contracts';
import { canonicalValor, csvField, DateTable, isoToDay, padBlanks, vendorValor } from './format.ts';
import { FIRST_NAMES, LAST_NAMES, NICKNAMES, SEMICOLON_SUFFIXES } from './names.ts';
import { RecordRng, Xoshiro128 } from './prng.ts';
import type { ExpectedCounts, GeneratedDay, GenerateOptions, Scope } from './types.ts';

/*
 * How the day is built (all counts are exact by construction):
 *
 * - The vendor file has V = rows + invalid + duplicate data lines. Their categories (identical
 *   match, TIPO_1, TIPO_3, malformed, duplicate) are placed by a seeded Fisher–Yates shuffle.
 * - Every non-duplicate vendor line and every base-only row is a "record" k (k follows file
 *   order, base-only records come after). Its ordem_id number is perm[k] for a shuffled
 *   permutation of 1..K, so neither file follows ordem_id order by accident; the base file is
 *   then written in ordem_id order (like a primary-key dump), the vendor file in record order.
 * - A record's content is a pure function of (seed, k): core fields come from RNG stream 0,
 *   the base-side differences of a TIPO_3 record from stream 1, and the vendor-side notation
 *   (date format, valor notation, NFD, quoting, blanks) from stream 2 keyed by file position.
 *   So the two passes (vendor, then base) regenerate the same record without storing it.
 */

const CAT_MATCH = 0;
const CAT_T1 = 1;
const CAT_T3 = 2;
const CAT_INV = 3;
const CAT_DUP = 4;
const CAT_T2 = 5;
const CAT_HIST = 6;

/** Bit i of a TIPO_3 mask = FIELDS[i] differs. Round-robin order of the brief. */
const FIELDS = ['valor', 'data', 'nome', 'ativo_id', 'fornecedor_id'] as const;
const FIELD_TIPO: readonly TipoDivergencia[] = [
  'TIPO_3_VALOR',
  'TIPO_3_DATA',
  'TIPO_3_NOME',
  'TIPO_3_ATIVO',
  'TIPO_3_FORNECEDOR',
];
const BIT_VALOR = 1;
const BIT_DATA = 2;
const BIT_NOME = 4;
const BIT_ATIVO = 8;
const BIT_FORN = 16;

const INVALID_REASONS: readonly RejectReason[] = [
  'FIELD_COUNT',
  'MISSING_ORDEM_ID',
  'INVALID_DATE',
  'INVALID_VALOR',
];
const BAD_ORDEM = ['', ' ', '\t', '   '] as const;
const BAD_DATES = [
  '2026-02-30',
  '31/04/2026',
  '2026-13-01',
  '29/02/2026',
  '00/01/2026',
  '2026/11/03',
  '20261103',
  'ontem',
  '',
] as const;
const BAD_VALORS = ['N/A', '', 'R$ 12,50', '1e5', '12a.50', '--5.00', 'abc'] as const;
/** |valor_csv − valor_base| in cents for TIPO_3_VALOR: hits both severity boundaries exactly. */
const VALOR_DELTAS = [1, 37, 99, 100, 101, 724, 99_999, 100_000, 100_001, 250_000, 1_234_567] as const;

const FIRST = FIRST_NAMES.map((n) => n.normalize('NFC'));
const LAST = LAST_NAMES.map((n) => n.normalize('NFC'));
const NICK = NICKNAMES.map((n) => n.normalize('NFC'));

/** Physical blank line (ignored by RULES §2) after every BLANK_EVERY-th data line. */
const BLANK_EVERY = 9973;
const BUFFER_BYTES = 1 << 20;
const BATCH_CHARS = 1 << 14;

/**
 * Batches lines into small strings (≤ 16 KiB) encoded into a reusable 1 MiB buffer, written when
 * full: the line strings die young (keeping them in an array until one big join made GC
 * dominate the run) and `Buffer.write` is called once per batch, not per line.
 */
class ChunkWriter {
  private readonly buf = Buffer.allocUnsafe(BUFFER_BYTES);
  private used = 0;
  private pending = '';

  constructor(private readonly fh: Awaited<ReturnType<typeof open>>) {}

  /** True when the caller must `await flush()` before the next push. */
  get full(): boolean {
    return this.used > BUFFER_BYTES - 4 * BATCH_CHARS;
  }

  push(s: string): void {
    this.pending += s;
    if (this.pending.length >= BATCH_CHARS) this.encode();
  }

  private encode(): void {
    if (this.pending.length * 3 > BUFFER_BYTES - this.used)
      throw new Error('internal: write buffer overflow');
    this.used += this.buf.write(this.pending, this.used, 'utf8');
    this.pending = '';
  }

  async flush(): Promise<void> {
    this.encode();
    let off = 0;
    while (off < this.used) {
      const { bytesWritten } = await this.fh.write(this.buf, off, this.used - off);
      off += bytesWritten;
    }
    this.used = 0;
  }
}

/** A record's normalized content (NFC, canonical); reused to avoid allocation. */
interface Rec {
  forn: number;
  first: number;
  last: number;
  special: number; // 0 none, 1 `; suffix`, 2 `"nick"`
  extra: number; // index into the suffix / nickname list
  ativo: number;
  day: number;
  cents: number;
  nome: string;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function buildName(first: number, last: number, special: number, extra: number): string {
  const f = FIRST[first] as string;
  const l = LAST[last] as string;
  if (special === 1) return `${f} ${l}${SEMICOLON_SUFFIXES[extra]}`;
  if (special === 2) return `${f} "${NICK[extra]}" ${l}`;
  return `${f} ${l}`;
}

function pct(rows: number, p: number): number {
  return Math.round((rows * p) / 100);
}

function emptyRejects(): Record<RejectReason, number> {
  return { FIELD_COUNT: 0, MISSING_ORDEM_ID: 0, INVALID_DATE: 0, INVALID_VALOR: 0, DUPLICATE_ORDEM_ID: 0 };
}

function emptyDivergences(): Record<TipoDivergencia, number> {
  return {
    TIPO_1: 0,
    TIPO_2: 0,
    TIPO_3_VALOR: 0,
    TIPO_3_DATA: 0,
    TIPO_3_NOME: 0,
    TIPO_3_ATIVO: 0,
    TIPO_3_FORNECEDOR: 0,
  };
}

function shuffleInPlace(a: Uint8Array | Uint32Array, rng: Xoshiro128): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = a[i] as number;
    a[i] = a[j] as number;
    a[j] = t;
  }
}

export async function generateDay(
  opts: GenerateOptions,
  onProgress?: (done: number, total: number) => void,
): Promise<GeneratedDay> {
  const rows = opts.rows;
  if (!Number.isInteger(rows) || rows < 0) throw new Error(`rows must be a non-negative integer: ${rows}`);
  for (const [name, v] of Object.entries({
    tipo1Pct: opts.tipo1Pct,
    tipo2Pct: opts.tipo2Pct,
    tipo3Pct: opts.tipo3Pct,
    invalidPct: opts.invalidPct ?? 0,
    duplicatePct: opts.duplicatePct ?? 0,
  })) {
    if (!(Number.isFinite(v) && v >= 0 && v <= 100)) throw new Error(`${name} must be in [0, 100]: ${v}`);
  }
  const seed = opts.seed >>> 0;
  const windowDays = opts.windowDays ?? 30;
  if (!Number.isInteger(windowDays) || windowDays < 2) throw new Error('windowDays must be an integer ≥ 2');
  const referenceDate = opts.referenceDate ?? '2026-11-21';

  const n1 = pct(rows, opts.tipo1Pct);
  const n3 = pct(rows, opts.tipo3Pct);
  if (n1 + n3 > rows) throw new Error('tipo1Pct + tipo3Pct exceed 100% of rows');
  const nMatch = rows - n1 - n3;
  const n2 = pct(rows, opts.tipo2Pct);
  const nHist = opts.historyRows ?? Math.floor(rows / 10);
  if (!Number.isInteger(nHist) || nHist < 0) throw new Error('historyRows must be a non-negative integer');
  const nInv = pct(rows, opts.invalidPct ?? 0);
  const nDup = rows > 0 ? pct(rows, opts.duplicatePct ?? 0) : 0;

  const V = rows + nInv + nDup; // vendor data lines
  const K = rows + nInv + n2 + nHist; // records (ids)

  // Window of the valid vendor dates: [winLo, winHi]; the first two valid lines are pinned to
  // its ends, so min/max over the valid lines are exactly these days.
  const end = isoToDay(referenceDate) - 1;
  const start = end - windowDays + 1;
  const winLo = start;
  const winHi = rows >= 2 ? end : start;
  const winLen = winHi - winLo + 1;
  const dates = new DateTable(start - 1 - 730, end + 11);

  await mkdir(opts.outDir, { recursive: true });
  const vendorPath = join(opts.outDir, 'vendor.csv');
  const basePath = join(opts.outDir, 'base.csv');
  const expectedPath = join(opts.outDir, 'expected.json');

  const g = new Xoshiro128(seed);

  // Categories of the vendor lines, in file order.
  const posCat = new Uint8Array(V);
  {
    let i = 0;
    const fill = (cat: number, n: number) => {
      posCat.fill(cat, i, i + n);
      i += n;
    };
    fill(CAT_MATCH, nMatch);
    fill(CAT_T1, n1);
    fill(CAT_T3, n3);
    fill(CAT_INV, nInv);
    fill(CAT_DUP, nDup);
    shuffleInPlace(posCat, g);
  }

  // ordem_id numbers: perm[k] is the id of record k, inv[id] the record of id.
  const perm = new Uint32Array(K);
  for (let k = 0; k < K; k++) perm[k] = k + 1;
  shuffleInPlace(perm, g);
  const invPerm = new Uint32Array(K + 1);
  for (let k = 0; k < K; k++) invPerm[perm[k] as number] = k;
  const idWidth = Math.max(8, String(K).length);

  const kind = new Uint8Array(K); // category | (TIPO_3 mask or invalid reason) << 3
  const aux = new Uint8Array(K); // TIPO_3_DATA mode: 0 inside window, 1 before, 2 after

  const rejects = emptyRejects();
  const t3Fields = [0, 0, 0, 0, 0];
  let firstValidK = -1;
  let secondValidK = -1;

  const core = new RecordRng();
  const mod = new RecordRng();
  const fmt = new RecordRng();
  const rec: Rec = { forn: 0, first: 0, last: 0, special: 0, extra: 0, ativo: 0, day: 0, cents: 0, nome: '' };

  /** Core (normalized) content of record k: stream 0. */
  const loadCore = (k: number, cat: number): void => {
    core.reset(seed, k, 0);
    rec.forn = 1 + core.int(10);
    rec.first = core.int(FIRST.length);
    rec.last = core.int(LAST.length);
    const sp = core.int(1000);
    rec.special = sp < 4 ? 1 : sp < 8 ? 2 : 0;
    rec.extra = core.int(rec.special === 1 ? SEMICOLON_SUFFIXES.length : NICK.length);
    rec.ativo = 1 + core.int(20);
    const dayDraw = core.int(730);
    if (cat === CAT_HIST) rec.day = start - 1 - dayDraw;
    else if (k === firstValidK) rec.day = winLo;
    else if (k === secondValidK) rec.day = winHi;
    else rec.day = winLo + (dayDraw % winLen);
    const r = core.int(100);
    if (r < 5) rec.cents = -(1000 + core.int(500_000));
    else if (r < 8) rec.cents = 100_000_000 + core.int(400_000_000);
    else if (r < 9) rec.cents = 1 + core.int(99);
    else rec.cents = 1000 + core.int(999_001);
    rec.nome = buildName(rec.first, rec.last, rec.special, rec.extra);
  };

  /** Base-side differences of a TIPO_3 record: stream 1. */
  const applyDifferences = (k: number, mask: number): void => {
    mod.reset(seed, k, 1);
    if (mask & BIT_VALOR) {
      const delta = mod.pick(VALOR_DELTAS) * (mod.int(2) === 0 ? 1 : -1);
      rec.cents -= delta; // diferenca = valor_csv − valor_base = delta
    }
    if (mask & BIT_DATA) {
      const mode = aux[k] as number;
      if (mode === 1) rec.day = winLo - 1 - mod.int(10);
      else if (mode === 2 || winLen < 2) rec.day = end + 1 + mod.int(10);
      else rec.day = winLo + ((rec.day - winLo + 1 + mod.int(winLen - 1)) % winLen);
    }
    if (mask & BIT_NOME) {
      const v = mod.int(3);
      if (v === 0) rec.nome = rec.nome.toUpperCase();
      else if (v === 1) rec.nome = `${rec.nome} Filho`;
      else {
        const other = (rec.last + 1 + mod.int(LAST.length - 1)) % LAST.length;
        rec.nome = buildName(rec.first, other, rec.special, rec.extra);
      }
    }
    if (mask & BIT_ATIVO) rec.ativo = ((rec.ativo - 1 + 1 + mod.int(19)) % 20) + 1;
    if (mask & BIT_FORN) rec.forn = ((rec.forn - 1 + 1 + mod.int(9)) % 10) + 1;
  };

  /** A vendor line for the loaded record, in vendor notation: stream 2 keyed by position. */
  const vendorLine = (p: number, id: number, reason: number): string => {
    fmt.reset(seed, p, 2);
    let ordem = `ORD-${pad(id, idWidth)}`;
    if (fmt.chance(3)) ordem = padBlanks(ordem, fmt);
    let forn = `FORN-${pad(rec.forn, 5)}`;
    if (fmt.chance(3)) forn = padBlanks(forn, fmt);
    let nome: string;
    if (rec.special !== 0) nome = csvField(fmt.chance(30) ? rec.nome.normalize('NFD') : rec.nome);
    else {
      nome = fmt.chance(12) ? rec.nome.normalize('NFD') : rec.nome;
      const q = fmt.int(100);
      if (q < 4) nome = csvField(nome, true);
      else if (q < 7) nome = padBlanks(nome, fmt);
    }
    let ativo = `ATV-${pad(rec.ativo, 3)}`;
    if (fmt.chance(2)) ativo = padBlanks(ativo, fmt);
    let data = fmt.int(2) === 0 ? dates.isoOf(rec.day) : dates.brOf(rec.day);
    if (fmt.chance(2)) data = padBlanks(data, fmt);
    let valor = vendorValor(rec.cents, fmt);
    if (fmt.chance(2)) valor = padBlanks(valor, fmt);

    if (reason >= 0) {
      const r = INVALID_REASONS[reason];
      if (r === 'MISSING_ORDEM_ID') ordem = fmt.pick(BAD_ORDEM);
      else if (r === 'INVALID_DATE') data = fmt.pick(BAD_DATES);
      else if (r === 'INVALID_VALOR') valor = fmt.pick(BAD_VALORS);
      else {
        const v = fmt.int(3);
        if (v === 0) return `${forn};${ordem};${nome};${ativo};${data}\r\n`;
        if (v === 1) return `${forn};${ordem};${nome};${ativo};${data};${valor};EXTRA\r\n`;
        return `${forn};${ordem};${nome};${ativo}\r\n`;
      }
    }
    return `${forn};${ordem};${nome};${ativo};${data};${valor}\r\n`;
  };

  const total = V + K;
  let done = 0;
  // About 50 calls per day, at least every 2^16 units of work.
  const progressEvery = Math.max(1024, Math.min(1 << 16, Math.ceil(total / 50)));
  const progress = () => {
    done++;
    if (onProgress && done % progressEvery === 0) onProgress(done, total);
  };

  // ---- Pass 1: the vendor file, in file order.
  const validKs = new Uint32Array(Math.max(rows, 1));
  let nValid = 0;
  let nextK = 0;
  let t3Counter = 0;
  let dataCounter = 0;
  let invCounter = 0;

  const vfh = await open(vendorPath, 'w');
  try {
    const w = new ChunkWriter(vfh);
    w.push('fornecedor_id;ordem_id;nome;ativo_id;data;valor\r\n');
    for (let p = 0; p < V; p++) {
      let cat = posCat[p] as number;
      if (cat === CAT_DUP && nValid === 0) {
        // A duplicate needs an earlier valid line: swap with the next valid category.
        let q = p + 1;
        while (q < V && (posCat[q] === CAT_DUP || posCat[q] === CAT_INV)) q++;
        posCat[p] = posCat[q] as number;
        posCat[q] = CAT_DUP;
        cat = posCat[p] as number;
      }
      if (cat === CAT_DUP) {
        fmt.reset(seed, p, 3);
        const refK = validKs[fmt.int(nValid)] as number;
        const refCat = (kind[refK] as number) & 7;
        loadCore(refK, refCat);
        rec.cents += 1 + fmt.int(5000); // the later line differs: only the first one may count
        w.push(vendorLine(p, perm[refK] as number, -1));
        rejects.DUPLICATE_ORDEM_ID++;
      } else {
        const k = nextK++;
        let info = 0;
        let reason = -1;
        if (cat === CAT_T3) {
          const j = t3Counter++;
          const primary = j % 5;
          let mask = 1 << primary;
          const decade = Math.floor(j / 10);
          if (j % 10 === decade % 10) mask |= 1 << ((primary + 1 + (decade % 4)) % 5);
          for (let b = 0; b < 5; b++) if (mask & (1 << b)) t3Fields[b]!++;
          if (mask & BIT_DATA) aux[k] = dataCounter++ % 3;
          info = mask;
        } else if (cat === CAT_INV) {
          reason = invCounter++ % 4;
          rejects[INVALID_REASONS[reason] as RejectReason]++;
          info = reason;
        }
        kind[k] = cat | (info << 3);
        if (cat !== CAT_INV) {
          if (firstValidK < 0) firstValidK = k;
          else if (secondValidK < 0) secondValidK = k;
          validKs[nValid++] = k;
        }
        loadCore(k, cat);
        w.push(vendorLine(p, perm[k] as number, reason));
      }
      if (p % BLANK_EVERY === BLANK_EVERY - 1) w.push('\r\n');
      progress();
      if (w.full) await w.flush();
    }
    await w.flush();
  } finally {
    await vfh.close();
  }

  // Base-only records.
  for (let i = 0; i < n2; i++) kind[nextK++] = CAT_T2;
  for (let i = 0; i < nHist; i++) kind[nextK++] = CAT_HIST;
  if (nextK !== K) throw new Error(`internal: ${nextK} records, expected ${K}`);

  // ---- Pass 2: the base snapshot, in ordem_id order, other column order, LF endings.
  const bfh = await open(basePath, 'w');
  try {
    const w = new ChunkWriter(bfh);
    w.push('ordem_id;fornecedor_id;nome;ativo_id;data;valor\n');
    for (let id = 1; id <= K; id++) {
      const k = invPerm[id] as number;
      const kd = kind[k] as number;
      const cat = kd & 7;
      if (cat === CAT_MATCH || cat === CAT_T3 || cat === CAT_T2 || cat === CAT_HIST) {
        loadCore(k, cat);
        if (cat === CAT_T3) applyDifferences(k, kd >> 3);
        w.push(
          `ORD-${pad(id, idWidth)};FORN-${pad(rec.forn, 5)};${csvField(rec.nome)};ATV-${pad(rec.ativo, 3)};${dates.isoOf(rec.day)};${canonicalValor(rec.cents)}\n`,
        );
      }
      progress();
      if (w.full) await w.flush();
    }
    await w.flush();
  } finally {
    await bfh.close();
  }

  // ---- Expected counts, per scope.
  const expectedFor = (scope: Scope): ExpectedCounts => {
    const divergences = emptyDivergences();
    divergences.TIPO_1 = n1;
    divergences.TIPO_2 = n2 + (scope === 'all' ? nHist : 0);
    for (let b = 0; b < 5; b++) divergences[FIELD_TIPO[b] as TipoDivergencia] = t3Fields[b] as number;
    const baseRows = nMatch + n3 + n2 + (scope === 'all' ? nHist : 0);
    const divergentOrders = n1 + n3 + divergences.TIPO_2;
    const distinctOrders = rows + divergences.TIPO_2;
    return {
      total_lines: V,
      valid_lines: rows,
      invalid_lines: nInv + nDup,
      rejects: { ...rejects },
      base_rows: baseRows,
      matched: nMatch + n3,
      divergences,
      divergent_orders: divergentOrders,
      distinct_orders: distinctOrders,
      divergence_rate: distinctOrders === 0 ? 0 : divergentOrders / distinctOrders,
    };
  };
  const expected: Record<Scope, ExpectedCounts> = {
    'date-window': expectedFor('date-window'),
    all: expectedFor('all'),
  };

  const doc = {
    generator: '@recon/generator',
    options: {
      rows,
      tipo1Pct: opts.tipo1Pct,
      tipo2Pct: opts.tipo2Pct,
      tipo3Pct: opts.tipo3Pct,
      seed,
      invalidPct: opts.invalidPct ?? 0,
      duplicatePct: opts.duplicatePct ?? 0,
      historyRows: nHist,
      referenceDate,
      windowDays,
    },
    reference_date: referenceDate,
    window: rows > 0 ? { min: dates.isoOf(winLo), max: dates.isoOf(winHi) } : null,
    fields: FIELDS,
    expected,
  };
  const efh = await open(expectedPath, 'w');
  try {
    await efh.write(`${JSON.stringify(doc, null, 2)}\n`, null, 'utf8');
  } finally {
    await efh.close();
  }
  onProgress?.(total, total);

  return { vendorPath, basePath, expectedPath, expected };
}
