import {
  type Envelope,
  EnvelopeSchema,
  EVENT_SCHEMAS,
  type EventPayload,
  type EventType,
  ReconError,
  SCHEMA_VERSION,
} from '@recon/contracts';

/** One event to publish: its type, its deterministic id and its payload. */
export type EventToPublish = {
  [T in EventType]: { type: T; id: string; payload: EventPayload<T> };
}[EventType];

/**
 * Validates a payload against its schema and wraps it in the envelope, exactly as the in-process
 * bus does, so a consumer cannot tell which runtime produced a message.
 */
export function createEnvelope(event: EventToPublish, producedBy: string, now: Date): Envelope {
  const parsed = EVENT_SCHEMAS[event.type].safeParse(event.payload);
  if (!parsed.success) {
    throw new ReconError(
      'INVALID_MESSAGE',
      `event ${event.type} (${event.id}) does not match its schema: ${parsed.error.message}`,
    );
  }
  return {
    id: event.id,
    type: event.type,
    schemaVersion: SCHEMA_VERSION,
    occurredAt: now.toISOString(),
    producedBy,
    correlationId: (parsed.data as { jobId: string }).jobId,
    payload: parsed.data,
  } as Envelope;
}

export type DecodeResult = { ok: true; envelope: Envelope } | { ok: false; error: ReconError };

/**
 * Reads a queue message body back into a validated envelope. The body is the envelope JSON
 * (SqsPublisher, or an EventBridge rule target with InputPath `$.detail`) or a whole EventBridge
 * event whose `detail` is the envelope (a rule target without InputPath); both are accepted.
 */
export function decodeEnvelope(body: string | undefined): DecodeResult {
  if (body === undefined) return invalid('the message has no body');
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    return invalid(`the message body is not JSON: ${(error as Error).message}`, error);
  }
  if (isEventBridgeEvent(json)) json = json.detail;
  const envelope = EnvelopeSchema.safeParse(json);
  if (!envelope.success) return invalid(`the message is not an event envelope: ${envelope.error.message}`);
  const payload = EVENT_SCHEMAS[envelope.data.type].safeParse(envelope.data.payload);
  if (!payload.success) {
    return invalid(
      `event ${envelope.data.type} (${envelope.data.id}) does not match its schema: ${payload.error.message}`,
    );
  }
  return { ok: true, envelope: { ...envelope.data, payload: payload.data } as Envelope };
}

function isEventBridgeEvent(json: unknown): json is { detail: unknown } {
  return typeof json === 'object' && json !== null && 'detail-type' in json && 'detail' in json;
}

function invalid(message: string, cause?: unknown): DecodeResult {
  return { ok: false, error: new ReconError('INVALID_MESSAGE', message, { cause }) };
}
