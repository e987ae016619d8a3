import type { Logger } from '@recon/contracts';

const LEVELS = { silent: 0, error: 1, warn: 2, info: 3 } as const;
export type LogLevel = keyof typeof LEVELS;

/** Structured JSON log lines (one object per line) to a writable, filtered by level. */
export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (line) => process.stderr.write(line),
  base: Record<string, unknown> = {},
): Logger {
  const at = LEVELS[level];
  const emit = (lvl: Exclude<LogLevel, 'silent'>, fields: Record<string, unknown>, msg: string) => {
    if (LEVELS[lvl] > at) return;
    write(`${JSON.stringify({ time: new Date().toISOString(), level: lvl, ...base, ...fields, msg })}\n`);
  };
  return {
    info: (fields, msg) => emit('info', fields, msg),
    warn: (fields, msg) => emit('warn', fields, msg),
    error: (fields, msg) => emit('error', fields, msg),
  };
}
