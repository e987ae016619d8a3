import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { ReconConfig } from '../config.ts';

/** The data buckets, by role. The services' one object store is routed to them by key prefix. */
export const DATA_BUCKETS = ['ingress', 'intermediate', 'output', 'checkpoints'] as const;
export type DataBucket = (typeof DATA_BUCKETS)[number];

/**
 * Object-key prefixes of the object store (packages/contracts units.ts) and the bucket each lives in.
 * The ingress bucket holds vendor files (`YYYY-MM-DD/<file>.csv`) and CSV base snapshots.
 */
export const PREFIXES = {
  work: { bucket: 'intermediate', prefix: 'work/' },
  athenaResults: { bucket: 'intermediate', prefix: 'athena-results/' },
  jobs: { bucket: 'output', prefix: 'jobs/' },
  divergences: { bucket: 'output', prefix: 'divergencias/' },
  checkpoints: { bucket: 'checkpoints', prefix: 'checkpoints/' },
} as const satisfies Record<string, { bucket: DataBucket; prefix: string }>;

/**
 * S3 (technical document §10.4–10.5): SSE-KMS with a rotated customer key, public access blocked,
 * TLS-only bucket policies, versioning where data must not be lost, 2-year retention with a
 * transition to Glacier, server access logs.
 */
export class Storage extends Construct {
  readonly dataKey: kms.Key;
  readonly buckets: Record<DataBucket, s3.Bucket>;
  /** Server access logs and ALB access logs (SSE-S3: neither log delivery supports SSE-KMS). */
  readonly logsBucket: s3.Bucket;

  constructor(scope: Construct, id: string, config: ReconConfig) {
    super(scope, id);
    const { retention } = config;

    this.dataKey = new kms.Key(this, 'DataKey', {
      alias: `alias/${config.prefix}-data`,
      description: 'recon: S3 data (ingress, intermediate, output, checkpoints) and Athena results',
      enableKeyRotation: true,
      rotationPeriod: Duration.days(90), // §10.4.1: rotation every 90 days
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.logsBucket = new s3.Bucket(this, 'LogsBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      versioned: false,
      lifecycleRules: [
        {
          id: 'retention',
          transitions: [
            {
              storageClass: s3.StorageClass.GLACIER,
              transitionAfter: Duration.days(retention.glacierAfterDays),
            },
          ],
          expiration: Duration.days(retention.expireAfterDays),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const dataBucket = (
      bucketId: DataBucket,
      options: { versioned: boolean; eventBridgeEnabled?: boolean; lifecycle: s3.LifecycleRule[] },
    ) =>
      new s3.Bucket(this, `${pascal(bucketId)}Bucket`, {
        encryption: s3.BucketEncryption.KMS,
        encryptionKey: this.dataKey,
        bucketKeyEnabled: true,
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        enforceSSL: true,
        minimumTLSVersion: 1.2,
        objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        versioned: options.versioned,
        eventBridgeEnabled: options.eventBridgeEnabled ?? false,
        serverAccessLogsBucket: this.logsBucket,
        serverAccessLogsPrefix: `s3/${bucketId}/`,
        lifecycleRules: [
          { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(7) },
          ...options.lifecycle,
        ],
        removalPolicy: RemovalPolicy.RETAIN,
      });

    // §10.5: data kept 2 years, in Glacier after `glacierAfterDays`. Versioned buckets keep an
    // overwritten or deleted version for 30 days, which is what protects against a bad write.
    const retain2Years = (storageClass: s3.StorageClass): s3.LifecycleRule[] => [
      {
        id: 'retention',
        transitions: [{ storageClass, transitionAfter: Duration.days(retention.glacierAfterDays) }],
        expiration: Duration.days(retention.expireAfterDays),
        noncurrentVersionExpiration: Duration.days(30),
      },
    ];

    this.buckets = {
      // The vendor's files are the evidence of a reconciliation: versioned, never lost.
      ingress: dataBucket('ingress', {
        versioned: true,
        eventBridgeEnabled: true,
        lifecycle: retain2Years(s3.StorageClass.GLACIER),
      }),
      // Chunks, parts and shard results: derived, rewritten at deterministic keys, deleted by the
      // reporter; kept a while only so a job can be reprocessed from its checkpoint.
      intermediate: dataBucket('intermediate', {
        versioned: false,
        lifecycle: [{ id: 'scratch', expiration: Duration.days(retention.intermediateExpireAfterDays) }],
      }),
      // Divergences Parquet, summaries, rejects. Glacier Instant Retrieval, not Flexible: Athena and
      // QuickSight cannot read objects in Glacier Flexible Retrieval, and the dashboard shows history.
      output: dataBucket('output', {
        versioned: true,
        lifecycle: retain2Years(s3.StorageClass.GLACIER_INSTANT_RETRIEVAL),
      }),
      checkpoints: dataBucket('checkpoints', {
        versioned: true,
        lifecycle: retain2Years(s3.StorageClass.GLACIER),
      }),
    };
  }

  /** ARN of the objects under `prefix` ('' = the whole bucket). */
  objectsArn(bucket: DataBucket, prefix: string): string {
    return this.buckets[bucket].arnForObjects(`${prefix}*`);
  }

  /**
   * Least-privilege S3 access for a role: explicit actions (no wildcards) on the given prefixes
   * only, plus the data key, usable only through S3.
   */
  grant(role: iam.IRole, grants: readonly S3Grant[]): void {
    if (grants.length === 0) return;
    for (const g of grants) {
      const objects = g.prefixes.map((p) => this.objectsArn(g.bucket, p));
      const actions: string[] = [];
      if (g.access.includes('read')) actions.push('s3:GetObject');
      if (g.access.includes('write')) actions.push('s3:PutObject', 's3:AbortMultipartUpload');
      if (g.access.includes('delete')) actions.push('s3:DeleteObject');
      if (actions.length > 0) {
        role.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources: objects }));
      }
      if (g.access.includes('list')) {
        const prefixes = g.prefixes.map((p) => `${p}*`);
        role.addToPrincipalPolicy(
          new iam.PolicyStatement({
            actions: ['s3:ListBucket'],
            resources: [this.buckets[g.bucket].bucketArn],
            ...(g.prefixes.includes('') ? {} : { conditions: { StringLike: { 's3:prefix': prefixes } } }),
          }),
        );
      }
    }
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [this.dataKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${Stack.of(this).region}.amazonaws.com` } },
      }),
    );
  }
}

export type S3Access = 'read' | 'write' | 'delete' | 'list';
export interface S3Grant {
  bucket: DataBucket;
  /** Key prefixes ('' = every key of the bucket). */
  prefixes: readonly string[];
  access: readonly S3Access[];
}

function pascal(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
