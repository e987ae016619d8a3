import {
  DIVERGENCE_ITEM_COLUMNS,
  type DivergenceColumns,
  escapeCopyText,
  type TextColumnData,
} from '@recon/contracts';

const NULL = '\\N';
const ROWS_PER_CHUNK = 2_000;

function text(column: TextColumnData, i: number): string {
  if (column.nulls[i] === 1) return NULL;
  return escapeCopyText(column.bytes.toString('utf8', column.offsets[i]!, column.offsets[i + 1]!));
}

/**
 * The COPY text ReportSink.load takes, from the reporter's divergence columns in their merged
 * (Parquet) order: row k is row `at[k]` of `lists[list[k]]`, the report's row `firstRow + k`;
 * `dt` is the job's reference date.
 */
export function* divergenceCopyRows(
  lists: readonly DivergenceColumns[],
  order: { list: Int32Array; at: Int32Array },
  dt: string,
  firstRow = 0,
): Generator<Uint8Array> {
  const fields = DIVERGENCE_ITEM_COLUMNS.length + 1;
  const line: string[] = new Array(fields);
  let lastMs = Number.NaN;
  let lastIso = '';
  let chunk: string[] = [];
  for (let k = 0; k < order.list.length; k++) {
    const cols = lists[order.list[k]!]!;
    const i = order.at[k]!;
    const t = cols.text;
    const ms = cols.timestamp[i]!;
    if (ms !== lastMs) {
      lastMs = ms;
      lastIso = new Date(ms).toISOString();
    }
    line[0] = String(firstRow + k);
    line[1] = text(t.job_id, i);
    line[2] = dt;
    line[3] = text(t.tipo_divergencia, i);
    line[4] = text(t.severidade, i);
    line[5] = text(t.ordem_id, i);
    line[6] = text(t.fornecedor_id, i);
    line[7] = text(t.nome, i);
    line[8] = text(t.ativo_id, i);
    line[9] = text(t.data, i);
    line[10] = text(t.data_base, i);
    line[11] = text(t.valor_csv, i);
    line[12] = text(t.valor_base, i);
    line[13] = text(t.diferenca, i);
    line[14] = text(t.campo, i);
    line[15] = text(t.detalhes, i);
    line[16] = text(t.hash_linha, i);
    line[17] = cols.linhaArquivoNulls[i] === 1 ? NULL : String(cols.linhaArquivo[i]);
    line[18] = lastIso;
    chunk.push(line.join('\t'));
    if (chunk.length === ROWS_PER_CHUNK) {
      yield Buffer.from(`${chunk.join('\n')}\n`, 'utf8');
      chunk = [];
    }
  }
  if (chunk.length > 0) yield Buffer.from(`${chunk.join('\n')}\n`, 'utf8');
}
