import { FileRejectedError } from '@recon/contracts';
import { parseHeader } from '@recon/rules';

const HEAD_LIMIT = 64 * 1024;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** RULES §2 on the first line of an upload: not empty, UTF-8, exactly the six columns. */
function checkHeader(line: Buffer, label: string): void {
  if (line.length === 0) {
    throw new FileRejectedError(
      'FILE_EMPTY',
      `${label}: the file is empty; expected a header line and data lines`,
    );
  }
  let text: string;
  try {
    text = utf8.decode(line);
  } catch {
    throw new FileRejectedError(
      'FILE_NOT_UTF8',
      `${label}, line 1: the header is not valid UTF-8; save the file as UTF-8 and send it again`,
    );
  }
  parseHeader(text.replace(/\r$/, '').split(';'), label);
}

/**
 * Passes an upload through, checking on the way what can be checked before the job starts: the
 * header (RULES §2) as soon as its line has arrived, and at the end that data lines follow it.
 * A bad file fails the stream with a FileRejectedError naming the file and line, so the upload
 * is refused (422) and never becomes a job.
 */
export async function* validatedUpload(
  source: AsyncIterable<Uint8Array>,
  label: string,
): AsyncGenerator<Uint8Array> {
  let head: Buffer[] = [];
  let headBytes = 0;
  let headerChecked = false;
  let dataAfterHeader = false;
  for await (const piece of source) {
    const chunk = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    if (headerChecked) {
      if (!dataAfterHeader) dataAfterHeader = /[^\r\n]/.test(chunk.toString('latin1'));
      yield chunk;
      continue;
    }
    head.push(chunk);
    headBytes += chunk.length;
    const buf = Buffer.concat(head);
    const newline = buf.indexOf(10);
    if (newline === -1 && headBytes < HEAD_LIMIT) continue;
    if (newline === -1) {
      throw new FileRejectedError(
        'INVALID_HEADER',
        `${label}, line 1: no end of line in the first ${HEAD_LIMIT} bytes; expected the header fornecedor_id;ordem_id;nome;ativo_id;data;valor`,
      );
    }
    checkHeader(buf.subarray(0, newline), label);
    headerChecked = true;
    dataAfterHeader = /[^\r\n]/.test(buf.subarray(newline + 1).toString('latin1'));
    head = [];
    yield buf;
  }
  if (!headerChecked) {
    const buf = Buffer.concat(head);
    checkHeader(buf, label);
    yield buf;
  }
  if (!dataAfterHeader) {
    throw new FileRejectedError('FILE_HEADER_ONLY', `${label}: the file has a header but no data lines`);
  }
}
