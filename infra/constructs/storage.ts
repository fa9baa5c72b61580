import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface LakeStorageProps {
  /** `kms`: one customer-managed key (rotated yearly) for raw, lake and Athena results. Default `s3-managed`. */
  readonly encryption?: 's3-managed' | 'kms';
  /** What deleting the stack does to the buckets and the key. Default RETAIN. */
  readonly removalPolicy?: RemovalPolicy;
  /** Athena query results expire after this many days. Default 30. */
  readonly athenaResultsExpirationDays?: number;
  /** exports/ objects (customer lists) expire after this many days. Default 90. */
  readonly exportsExpirationDays?: number;
}

/** Days after which an interrupted multipart upload's parts are deleted. */
const abortUploadsAfter = Duration.days(7);

/**
 * The buckets: raw (uploads, versioned), lake (curated data, marts, manifests, exports), Athena query
 * results, and the access-log bucket the other three log to. All block public access, refuse plain
 * HTTP and TLS below 1.2, and are encrypted.
 */
export class LakeStorage extends Construct {
  /** Present when encryption is `kms`. */
  public readonly key?: kms.Key;
  public readonly accessLogsBucket: s3.Bucket;
  public readonly rawBucket: s3.Bucket;
  public readonly lakeBucket: s3.Bucket;
  public readonly athenaResultsBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: LakeStorageProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const destroy = removalPolicy === RemovalPolicy.DESTROY;

    if (props.encryption === 'kms') {
      this.key = new kms.Key(this, 'DataKey', {
        description: 'Encrypts the lifecycle-lake raw, lake and Athena results buckets',
        enableKeyRotation: true,
        removalPolicy,
      });
    }
    const encryption = this.key
      ? { encryption: s3.BucketEncryption.KMS, encryptionKey: this.key, bucketKeyEnabled: true }
      : { encryption: s3.BucketEncryption.S3_MANAGED };
    const secure = {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy,
      autoDeleteObjects: destroy,
    };

    // S3 server access logging can only deliver to a bucket with S3-managed encryption.
    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogsBucket', {
      ...secure,
      encryption: s3.BucketEncryption.S3_MANAGED,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(365), abortIncompleteMultipartUploadAfter: abortUploadsAfter }],
    });
    Validations.of(this.accessLogsBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This bucket is the access-log destination of the other buckets; logging it into itself would log its own log deliveries.',
    });

    this.rawBucket = new s3.Bucket(this, 'RawBucket', {
      ...secure,
      ...encryption,
      versioned: true,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'raw/',
      lifecycleRules: [
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: abortUploadsAfter },
        { id: 'expire-replaced-versions', noncurrentVersionExpiration: Duration.days(90) },
      ],
    });

    this.lakeBucket = new s3.Bucket(this, 'LakeBucket', {
      ...secure,
      ...encryption,
      versioned: true,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'lake/',
      lifecycleRules: [
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: abortUploadsAfter },
        // Every run writes new objects; replaced manifests and deleted files need not live forever.
        { id: 'expire-replaced-versions', noncurrentVersionExpiration: Duration.days(30) },
        { id: 'expire-exports', prefix: 'exports/', expiration: Duration.days(props.exportsExpirationDays ?? 90) },
      ],
    });

    this.athenaResultsBucket = new s3.Bucket(this, 'AthenaResultsBucket', {
      ...secure,
      ...encryption,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'athena-results/',
      lifecycleRules: [
        {
          id: 'expire-query-results',
          expiration: Duration.days(props.athenaResultsExpirationDays ?? 30),
          abortIncompleteMultipartUploadAfter: abortUploadsAfter,
        },
      ],
    });
  }
}
