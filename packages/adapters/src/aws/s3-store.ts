import { Readable } from 'node:stream';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { type ObjectBody, type ObjectStore, ReconError, wholeBody } from '@recon/contracts';
import { awsErrorName, isObjectNotFound, toReconError } from './errors.ts';

export interface S3ObjectStoreOptions {
  client: S3Client;
  bucket: string;
  /** Prepended to every key (`recon/` → `s3://bucket/recon/<key>`); keys are given without it. */
  prefix?: string;
  /** Bodies above this many bytes go through a multipart upload; default 8 MiB. */
  multipartThresholdBytes?: number;
  /** Multipart part size; default 8 MiB (S3's minimum is 5 MiB). */
  partSizeBytes?: number;
  /** Parts uploaded at once; a stream buffers up to partSize × this. Default 4. */
  uploadConcurrency?: number;
}

const MiB = 1024 * 1024;
/** DeleteObjects takes at most 1000 keys. */
const DELETE_BATCH = 1000;

/**
 * The object store as an S3 bucket (or a prefix of one). S3 writes are atomic per object, so a
 * handler rewriting the same deterministic key after a redelivery never leaves a torn object —
 * the same guarantee the local folder store gets from rename.
 */
export class S3ObjectStore implements ObjectStore {
  readonly bucket: string;
  readonly prefix: string;
  private readonly client: S3Client;
  private readonly multipartThreshold: number;
  private readonly partSize: number;
  private readonly uploadConcurrency: number;

  constructor(options: S3ObjectStoreOptions) {
    this.client = options.client;
    this.bucket = options.bucket;
    const prefix = options.prefix ?? '';
    this.prefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    this.partSize = options.partSizeBytes ?? 8 * MiB;
    this.multipartThreshold = options.multipartThresholdBytes ?? 8 * MiB;
    this.uploadConcurrency = options.uploadConcurrency ?? 4;
    if (this.partSize < 5 * MiB) {
      throw new ReconError(
        'INVALID_CONFIG',
        `S3 part size must be at least 5 MiB, got ${this.partSize} bytes`,
      );
    }
  }

  private key(key: string): string {
    return this.prefix + key;
  }

  async put(key: string, object: ObjectBody): Promise<void> {
    // A request body is one piece of bytes.
    const body = wholeBody(object);
    const size = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
    if (size > this.multipartThreshold) {
      await this.upload(key, body);
      return;
    }
    try {
      await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: this.key(key), Body: body, ContentLength: size }),
      );
    } catch (error) {
      throw toReconError(error, `writing ${this.uri(key)}`);
    }
  }

  async putStream(key: string, body: AsyncIterable<Uint8Array>): Promise<void> {
    // lib-storage reads a Node Readable part by part: at most partSize × concurrency is buffered.
    await this.upload(key, Readable.from(body, { objectMode: false }));
  }

  private async upload(key: string, body: Uint8Array | string | Readable): Promise<void> {
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: this.key(key), Body: body },
      partSize: this.partSize,
      queueSize: this.uploadConcurrency,
      // A failed multipart upload is aborted, so no orphan parts are billed.
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (error) {
      throw toReconError(error, `uploading ${this.uri(key)}`);
    }
  }

  async get(key: string): Promise<Uint8Array> {
    const output = await this.getObject(key);
    try {
      return await output.Body!.transformToByteArray();
    } catch (error) {
      throw toReconError(error, `reading ${this.uri(key)}`);
    }
  }

  async getRange(key: string, start: number, end: number): Promise<Uint8Array> {
    if (end <= start) {
      // An empty range is not expressible as an HTTP Range; only the object's existence matters.
      if ((await this.size(key)) === null) throw notFound(this.uri(key));
      return new Uint8Array(0);
    }
    let output: GetObjectCommandOutput;
    try {
      output = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key), Range: `bytes=${start}-${end - 1}` }),
      );
    } catch (error) {
      // A range starting past the end: like a file read there, nothing is left to return.
      if (awsErrorName(error) === 'InvalidRange') return new Uint8Array(0);
      throw this.readError(key, error);
    }
    try {
      return await output.Body!.transformToByteArray();
    } catch (error) {
      throw toReconError(error, `reading ${this.uri(key)} bytes [${start}, ${end})`);
    }
  }

  async *getStream(key: string): AsyncIterable<Uint8Array> {
    const output = await this.getObject(key);
    const body = output.Body as unknown as Readable;
    try {
      for await (const chunk of body as AsyncIterable<Uint8Array>) yield chunk;
    } catch (error) {
      throw toReconError(error, `streaming ${this.uri(key)}`);
    } finally {
      // The caller may stop early: release the connection instead of leaving it half-read.
      body.destroy?.();
    }
  }

  async size(key: string): Promise<number | null> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
      return head.ContentLength ?? 0;
    } catch (error) {
      if (isObjectNotFound(error)) return null;
      throw toReconError(error, `reading the size of ${this.uri(key)}`);
    }
  }

  async list(prefix: string): Promise<string[]> {
    return (await this.listFull(this.key(prefix))).map((full) => full.slice(this.prefix.length)).sort();
  }

  async deletePrefix(prefix: string): Promise<void> {
    const keys = await this.listFull(this.key(prefix));
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      let errors: { Key?: string; Code?: string; Message?: string }[];
      try {
        const out = await this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        );
        errors = out.Errors ?? [];
      } catch (error) {
        throw toReconError(error, `deleting ${this.uri(prefix)}*`);
      }
      if (errors.length > 0) {
        const listed = errors
          .slice(0, 5)
          .map((e) => `${e.Key} (${e.Code}: ${e.Message})`)
          .join(', ');
        throw new ReconError(
          'INTERNAL',
          `deleting ${this.uri(prefix)}*: ${errors.length} object(s) could not be deleted: ${listed}`,
          { transient: errors.some((e) => e.Code === 'InternalError' || e.Code === 'SlowDown') },
        );
      }
    }
  }

  uri(key: string): string {
    return `s3://${this.bucket}/${this.key(key)}`;
  }

  private async listFull(fullPrefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      try {
        const page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: fullPrefix, ContinuationToken: token }),
        );
        for (const object of page.Contents ?? []) if (object.Key !== undefined) keys.push(object.Key);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } catch (error) {
        throw toReconError(error, `listing s3://${this.bucket}/${fullPrefix}`);
      }
    } while (token !== undefined);
    return keys;
  }

  private async getObject(key: string): Promise<GetObjectCommandOutput> {
    try {
      return await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
    } catch (error) {
      throw this.readError(key, error);
    }
  }

  private readError(key: string, error: unknown): ReconError {
    return isObjectNotFound(error)
      ? notFound(this.uri(key), error)
      : toReconError(error, `reading ${this.uri(key)}`);
  }
}

function notFound(uri: string, cause?: unknown): ReconError {
  return new ReconError('OBJECT_NOT_FOUND', `object ${uri} not found`, { cause });
}
