/**
 * BI refresh after a job (technical document §3.3 "Glue Job 3", §4.1): make the reference date's
 * divergences visible to the catalog and the dashboard.
 *
 * - Glue: register the `dt=YYYY-MM-DD` partition of the divergences table. Athena does not need it
 *   (the table uses partition projection, infra/src/constructs/analytics.ts), but Glue-catalog
 *   readers that ignore projection (Spark, Redshift Spectrum, crawlers' consumers) do. Idempotent:
 *   a partition that already exists is fine.
 * - QuickSight: start a SPICE ingestion (CreateIngestion) of the dataset, so the dashboard shows
 *   the new day. The ingestion runs asynchronously; its id is returned for DescribeIngestion.
 *
 * The port (BiRefresh) keeps the reporter's logic free of AWS; the embedded runtime uses
 * NO_BI_REFRESH (its dashboard reads the job store directly).
 */
import {
  BatchCreatePartitionCommand,
  type BatchCreatePartitionCommandOutput,
  GetTableCommand,
  GlueClient,
  type StorageDescriptor,
} from '@aws-sdk/client-glue';
import { CreateIngestionCommand, QuickSightClient } from '@aws-sdk/client-quicksight';
import { ReconError } from '@recon/contracts';

export interface BiRefreshRequest {
  jobId: string;
  /** The job's reference date: the `dt` partition its Parquet was written under. */
  referenceDate: string;
  /**
   * QuickSight ingestion id ([\w-]{1,128}); default `<jobId>-<epoch ms>`, a new refresh per call.
   * Pass a fixed id to make a redelivered message start no second ingestion.
   */
  ingestionId?: string;
}

export interface BiRefreshResult {
  /** `created` now, or `existed` already (a re-run of the same day). */
  partition: 'created' | 'existed';
  ingestionId: string;
  /** QuickSight's status of the new ingestion (e.g. INITIALIZED), or `ALREADY_STARTED`. */
  ingestionStatus: string;
}

/** The reporter's BI refresh port. */
export interface BiRefresh {
  refresh(request: BiRefreshRequest): Promise<BiRefreshResult>;
}

/** For runtimes without a BI service (embedded): nothing to refresh. */
export const NO_BI_REFRESH: BiRefresh = {
  refresh: async (request) => ({
    partition: 'existed',
    ingestionId: request.ingestionId ?? '',
    ingestionStatus: 'SKIPPED',
  }),
};

export interface GlueQuickSightTarget {
  glue: {
    /** Defaults to the caller's account. */
    catalogId?: string;
    database: string;
    table: string;
  };
  quickSight: {
    awsAccountId: string;
    dataSetId: string;
    /** Default FULL_REFRESH; INCREMENTAL_REFRESH needs the dataset's refresh properties set. */
    ingestionType?: 'FULL_REFRESH' | 'INCREMENTAL_REFRESH';
  };
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const INGESTION_ID = /^[\w-]{1,128}$/;

/** BiRefresh with AWS Glue (partition) and Amazon QuickSight (SPICE ingestion). */
export class GlueQuickSightBiRefresh implements BiRefresh {
  private readonly glue: GlueClient;
  private readonly quickSight: QuickSightClient;
  private readonly target: GlueQuickSightTarget;
  private readonly now: () => Date;
  private storage: Promise<StorageDescriptor> | null = null;

  constructor(options: {
    glue: GlueClient;
    quickSight: QuickSightClient;
    target: GlueQuickSightTarget;
    clock?: { now(): Date };
  }) {
    this.glue = options.glue;
    this.quickSight = options.quickSight;
    this.target = options.target;
    const clock = options.clock ?? { now: () => new Date() };
    this.now = () => clock.now();
  }

  async refresh(request: BiRefreshRequest): Promise<BiRefreshResult> {
    if (!DATE.test(request.referenceDate)) {
      throw new ReconError(
        'INVALID_ARGUMENT',
        `reference date must be YYYY-MM-DD, got "${request.referenceDate}"`,
      );
    }
    const ingestionId = request.ingestionId ?? `${request.jobId}-${this.now().getTime()}`;
    if (!INGESTION_ID.test(ingestionId)) {
      throw new ReconError(
        'INVALID_ARGUMENT',
        `QuickSight ingestion id must match [\\w-]{1,128}, got "${ingestionId}"`,
      );
    }
    const partition = await this.registerPartition(request.referenceDate);
    const ingestionStatus = await this.startIngestion(ingestionId);
    return { partition, ingestionId, ingestionStatus };
  }

  /** BatchCreatePartition of `dt=<date>`, with the table's storage descriptor; AlreadyExists is success. */
  private async registerPartition(dt: string): Promise<'created' | 'existed'> {
    const { database, table, catalogId } = this.target.glue;
    const sd = await this.tableStorage();
    const base = sd.Location ?? '';
    const location = `${base.endsWith('/') ? base : `${base}/`}dt=${dt}/`;
    let out: BatchCreatePartitionCommandOutput;
    try {
      out = await this.glue.send(
        new BatchCreatePartitionCommand({
          ...(catalogId ? { CatalogId: catalogId } : {}),
          DatabaseName: database,
          TableName: table,
          PartitionInputList: [{ Values: [dt], StorageDescriptor: { ...sd, Location: location } }],
        }),
      );
    } catch (error) {
      throw awsFailure(error, `registering partition dt=${dt} of ${database}.${table}`);
    }
    const errors = out.Errors ?? [];
    if (errors.length === 0) return 'created';
    const other = errors.filter((e) => e.ErrorDetail?.ErrorCode !== 'AlreadyExistsException');
    if (other.length === 0) return 'existed';
    const detail = other.map((e) => `${e.ErrorDetail?.ErrorCode}: ${e.ErrorDetail?.ErrorMessage}`).join('; ');
    throw new ReconError(
      'INTERNAL',
      `registering partition dt=${dt} of ${database}.${table} failed: ${detail}`,
      {
        transient: other.some((e) => TRANSIENT.has(e.ErrorDetail?.ErrorCode ?? '')),
      },
    );
  }

  /** The table's storage descriptor (columns, formats, SerDe, location), read once per process. */
  private tableStorage(): Promise<StorageDescriptor> {
    this.storage ??= (async () => {
      const { database, table, catalogId } = this.target.glue;
      try {
        const out = await this.glue.send(
          new GetTableCommand({
            ...(catalogId ? { CatalogId: catalogId } : {}),
            DatabaseName: database,
            Name: table,
          }),
        );
        const sd = out.Table?.StorageDescriptor;
        if (!sd?.Location) {
          throw new ReconError('INVALID_CONFIG', `Glue table ${database}.${table} has no storage location`);
        }
        return sd;
      } catch (error) {
        throw awsFailure(error, `reading Glue table ${database}.${table}`);
      }
    })();
    this.storage.catch(() => {
      this.storage = null; // a failed read is retried on the next refresh
    });
    return this.storage;
  }

  private async startIngestion(ingestionId: string): Promise<string> {
    const { awsAccountId, dataSetId, ingestionType } = this.target.quickSight;
    try {
      const out = await this.quickSight.send(
        new CreateIngestionCommand({
          AwsAccountId: awsAccountId,
          DataSetId: dataSetId,
          IngestionId: ingestionId,
          IngestionType: ingestionType ?? 'FULL_REFRESH',
        }),
      );
      return out.IngestionStatus ?? 'UNKNOWN';
    } catch (error) {
      // The same ingestion id again (a redelivered message with a fixed id): it is already running or done.
      if (errorName(error) === 'ResourceExistsException') return 'ALREADY_STARTED';
      throw awsFailure(error, `starting QuickSight ingestion ${ingestionId} of dataset ${dataSetId}`);
    }
  }
}

/** Clients for the real services (region, and endpoint/credentials for tests or emulators). */
export function createGlueQuickSightBiRefresh(options: {
  region: string;
  target: GlueQuickSightTarget;
  endpoints?: { glue?: string; quickSight?: string };
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  maxAttempts?: number;
  clock?: { now(): Date };
}): GlueQuickSightBiRefresh {
  const common = {
    region: options.region,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
  };
  return new GlueQuickSightBiRefresh({
    glue: new GlueClient({
      ...common,
      ...(options.endpoints?.glue ? { endpoint: options.endpoints.glue } : {}),
    }),
    quickSight: new QuickSightClient({
      ...common,
      ...(options.endpoints?.quickSight ? { endpoint: options.endpoints.quickSight } : {}),
    }),
    target: options.target,
    ...(options.clock ? { clock: options.clock } : {}),
  });
}

const TRANSIENT = new Set([
  'ThrottlingException',
  'InternalServiceException',
  'InternalFailureException',
  'OperationTimeoutException',
  'ConcurrentModificationException',
  'LimitExceededException',
]);

function errorName(error: unknown): string {
  return (error as { name?: string } | null)?.name ?? '';
}

function awsFailure(error: unknown, doing: string): ReconError {
  if (error instanceof ReconError) return error;
  const status =
    (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode ?? 0;
  const name = errorName(error);
  const message = error instanceof Error ? error.message : String(error);
  return new ReconError('INTERNAL', `${doing}: ${name || 'error'}: ${message}`, {
    cause: error,
    transient: status >= 500 || TRANSIENT.has(name),
  });
}
