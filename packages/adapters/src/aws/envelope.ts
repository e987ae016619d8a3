import {
  correlationIdOf,
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
    correlationId: correlationIdOf(parsed.data),
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
  if (isS3ObjectCreated(json)) return objectCreatedEnvelope(json);
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

/** The EventBridge event S3 sends for a new object (bucket with EventBridge notifications on). */
export interface S3ObjectCreatedEvent {
  version?: string;
  id: string;
  'detail-type': 'Object Created';
  source: 'aws.s3';
  account?: string;
  time: string;
  region?: string;
  resources?: string[];
  detail: {
    version?: string;
    bucket: { name: string };
    object: { key: string; size?: number; etag?: string; sequencer?: string };
    'request-id'?: string;
    requester?: string;
    reason?: string;
  };
}

function isS3ObjectCreated(json: unknown): json is S3ObjectCreatedEvent {
  const e = json as Partial<S3ObjectCreatedEvent> | null;
  return (
    typeof e === 'object' && e !== null && e.source === 'aws.s3' && e['detail-type'] === 'Object Created'
  );
}

/**
 * An S3 "Object Created" event becomes an `object.created` envelope for ingest. Its id is
 * deterministic (the EventBridge event id), so a redelivered event is recognisable.
 */
function objectCreatedEnvelope(event: S3ObjectCreatedEvent): DecodeResult {
  // S3 URL-encodes keys in event notifications ('+' for spaces).
  const rawKey = event.detail?.object?.key;
  let key = rawKey;
  try {
    if (typeof rawKey === 'string') key = decodeURIComponent(rawKey.replaceAll('+', ' '));
  } catch {
    key = rawKey;
  }
  const payload = EVENT_SCHEMAS['object.created'].safeParse({
    bucket: event.detail?.bucket?.name,
    key,
    size: event.detail?.object?.size ?? 0,
    etag: event.detail?.object?.etag,
    sequencer: event.detail?.object?.sequencer,
    eventId: event.id,
    time: event.time,
  });
  if (!payload.success) return invalid(`S3 Object Created event ${event.id}: ${payload.error.message}`);
  return {
    ok: true,
    envelope: {
      id: `object.created:${event.id}`,
      type: 'object.created',
      schemaVersion: SCHEMA_VERSION,
      occurredAt: typeof event.time === 'string' ? event.time : new Date(0).toISOString(),
      producedBy: 'aws.s3',
      correlationId: correlationIdOf(payload.data),
      payload: payload.data,
    },
  };
}

/** The S3 "Object Created" EventBridge event for an object (what `recon stack drop` sends locally). */
export function s3ObjectCreatedEvent(o: {
  bucket: string;
  key: string;
  size: number;
  etag?: string;
  sequencer?: string;
  time: Date;
  id?: string;
  region?: string;
}): S3ObjectCreatedEvent {
  return {
    version: '0',
    id: o.id ?? crypto.randomUUID(),
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account: '000000000000',
    time: o.time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: o.region ?? 'us-east-1',
    resources: [`arn:aws:s3:::${o.bucket}`],
    detail: {
      version: '0',
      bucket: { name: o.bucket },
      object: {
        key: encodeURIComponent(o.key).replaceAll('%2F', '/'),
        size: o.size,
        ...(o.etag === undefined ? {} : { etag: o.etag }),
        ...(o.sequencer === undefined ? {} : { sequencer: o.sequencer }),
      },
      reason: 'PutObject',
    },
  };
}

function isEventBridgeEvent(json: unknown): json is { detail: unknown } {
  return typeof json === 'object' && json !== null && 'detail-type' in json && 'detail' in json;
}

function invalid(message: string, cause?: unknown): DecodeResult {
  return { ok: false, error: new ReconError('INVALID_MESSAGE', message, { cause }) };
}
