import pino from 'pino';
import { maskDeep, maskNomesInText } from './mask.ts';

export type ReconLogLevel = 'silent' | 'error' | 'warn' | 'info' | 'debug';

/** A pino logger; it satisfies the `Logger` port of @recon/contracts (`info(fields, msg)`, …). */
export type ReconLogger = pino.Logger;

export interface ReconLoggerOptions {
  /** Lowest level written; default `info`. */
  level?: ReconLogLevel;
  /**
   * Where the JSON lines go: a function receiving each line (tests, a capture), a pino destination
   * stream, or by default stderr (synchronous writes, so nothing is lost when the process exits).
   */
  destination?: ((line: string) => void) | pino.DestinationStream;
  /** Fields on every line, e.g. `{ service: 'matcher' }`. */
  base?: Record<string, unknown>;
}

/**
 * Structured JSON logs (technical document §10.1): one object per line with `timestamp` (ISO),
 * `level` (`INFO`, `WARN`, `ERROR`, …), the bindings (`job_id`, `stage`, `correlation_id` through
 * `jobLogger`), the fields and `msg`. Every `nome`, anywhere in the fields, the bindings, an error or
 * the message, is masked as `***Silva` (RULES §7).
 */
export function createReconLogger(options: ReconLoggerOptions = {}): ReconLogger {
  const destination = options.destination ?? pino.destination({ dest: 2, sync: true });
  const stream: pino.DestinationStream =
    typeof destination === 'function' ? { write: (line: string) => destination(line) } : destination;
  const logger = pino(
    {
      level: options.level ?? 'info',
      base: (maskDeep(options.base ?? {}) as Record<string, unknown>) ?? {},
      messageKey: 'msg',
      timestamp: () => `,"timestamp":"${new Date().toISOString()}"`,
      formatters: {
        level: (label) => ({ level: label.toUpperCase() }),
        bindings: (bindings) => maskDeep(bindings) as Record<string, unknown>,
        log: (object) => maskDeep(object) as Record<string, unknown>,
      },
      // Errors are already plain `{ type, message, stack }` objects with every nome masked.
      serializers: { err: (value: unknown) => value },
      hooks: {
        logMethod(args, method) {
          const [first, ...rest] = args as unknown[];
          if (first instanceof Error) {
            const message = typeof rest[0] === 'string' ? rest[0] : first.message;
            const masked = [{ err: first }, message, ...rest.slice(1)].map((a) =>
              typeof a === 'string' ? maskNomesInText(a) : a,
            );
            return method.apply(this, masked as Parameters<pino.LogFn>);
          }
          const masked = (args as unknown[]).map((a) => (typeof a === 'string' ? maskNomesInText(a) : a));
          return method.apply(this, masked as Parameters<pino.LogFn>);
        },
      },
    },
    stream,
  );
  // pino applies `formatters.bindings` to the root's bindings only; children (which inherit this
  // method) mask theirs here.
  const child = logger.child;
  logger.child = function maskedChild(this: ReconLogger, bindings, options) {
    return child.call(this, maskDeep(bindings) as typeof bindings, options);
  } as typeof logger.child;
  return logger;
}

/** The identity of a unit of work, carried by every line its logger writes. */
export interface JobLogContext {
  jobId: string;
  /** The stage (`ingest`, `partition`, `matcher`, `reporter`, `notifier`, …). */
  stage: string;
  /** The envelope's correlation id; defaults to the job id (the bus sets it so). */
  correlationId?: string;
  /** Anything else to bind (the event type, the shard number…). */
  [key: string]: unknown;
}

/** A child logger whose every line carries `job_id`, `stage` and `correlation_id`. */
export function jobLogger(logger: ReconLogger, context: JobLogContext): ReconLogger {
  const { jobId, stage, correlationId, ...rest } = context;
  return logger.child({ job_id: jobId, stage, correlation_id: correlationId ?? jobId, ...rest });
}
