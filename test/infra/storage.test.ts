import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { synthesizeApp, type SynthesizedApp } from './app-fixture.ts';

type Resources = Record<string, { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string }>;

function bucketIds(template: Template): Record<'logs' | 'raw' | 'lake' | 'results', string> {
  const ids = Object.keys(template.findResources('AWS::S3::Bucket'));
  const find = (part: string) => {
    const id = ids.find((i) => i.includes(part));
    if (!id) throw new Error(`no bucket ${part}`);
    return id;
  };
  return { logs: find('AccessLogsBucket'), raw: find('RawBucket'), lake: find('LakeBucket'), results: find('AthenaResultsBucket') };
}

describe('LakeStorage (default: S3-managed encryption, RETAIN)', () => {
  let synth: SynthesizedApp;
  let buckets: ReturnType<typeof bucketIds>;
  let resources: Resources;

  beforeAll(() => {
    synth = synthesizeApp();
    buckets = bucketIds(synth.dataTemplate);
    resources = synth.dataTemplate.toJSON().Resources as Resources;
  });

  it('has four buckets, all encrypted with S3-managed keys, blocking public access and retained', () => {
    expect(Object.keys(synth.dataTemplate.findResources('AWS::S3::Bucket'))).toHaveLength(4);
    for (const id of Object.values(buckets)) {
      expect(resources[id]?.DeletionPolicy).toBe('Retain');
      expect(resources[id]?.Properties).toMatchObject({
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      });
    }
  });

  it('denies plain HTTP and TLS below 1.2 on every bucket', () => {
    for (const id of Object.values(buckets)) {
      synth.dataTemplate.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: id },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
            Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }),
          ]),
        },
      });
    }
  });

  it('versions raw and logs its access, like the lake and results buckets, to the access-log bucket', () => {
    expect(resources[buckets.raw]?.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    for (const [name, prefix] of [['raw', 'raw/'], ['lake', 'lake/'], ['results', 'athena-results/']] as const) {
      expect(resources[buckets[name]]?.Properties.LoggingConfiguration).toEqual({
        DestinationBucketName: { Ref: buckets.logs },
        LogFilePrefix: prefix,
      });
    }
  });

  it('aborts incomplete uploads, expires Athena results after the configured days and exports after theirs', () => {
    const rules = (id: string) => (resources[id]?.Properties.LifecycleConfiguration as { Rules: Record<string, unknown>[] }).Rules;
    for (const id of [buckets.raw, buckets.lake, buckets.results]) {
      expect(rules(id)).toContainEqual(expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 } }));
    }
    expect(rules(buckets.results)).toContainEqual(expect.objectContaining({ ExpirationInDays: synth.config.athenaResultsExpirationDays }));
    expect(rules(buckets.lake)).toContainEqual(
      expect.objectContaining({ Prefix: 'exports/', ExpirationInDays: synth.config.exportsExpirationDays, Status: 'Enabled' }),
    );
  });

  it('protects the data stack from deletion', () => {
    expect(synth.data.terminationProtection).toBe(true);
    expect(synth.pipeline.terminationProtection).toBe(false);
  });
});

describe('LakeStorage with encryption "kms" and removalPolicy "destroy"', () => {
  let synth: SynthesizedApp;

  beforeAll(() => {
    synth = synthesizeApp({ context: { encryption: 'kms', removalPolicy: 'destroy', athenaResultsExpirationDays: 7 } });
  });

  it('encrypts raw, lake and results with one rotated key; the access-log bucket keeps S3-managed keys (log delivery needs them)', () => {
    const keys = synth.dataTemplate.findResources('AWS::KMS::Key');
    expect(Object.values(keys).map((k) => (k as { Properties: { EnableKeyRotation: boolean } }).Properties.EnableKeyRotation)).toEqual([true]);
    const keyId = Object.keys(keys)[0];
    const buckets = bucketIds(synth.dataTemplate);
    const resources = synth.dataTemplate.toJSON().Resources as Resources;
    for (const id of [buckets.raw, buckets.lake, buckets.results]) {
      expect(resources[id]?.Properties.BucketEncryption).toEqual({
        ServerSideEncryptionConfiguration: [
          { BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [keyId, 'Arn'] } } },
        ],
      });
    }
    expect(resources[buckets.logs]?.Properties.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
  });

  it('deletes buckets (emptying them first) and drops termination protection only with the explicit flag', () => {
    synth.dataTemplate.allResources('AWS::S3::Bucket', { DeletionPolicy: 'Delete' });
    expect(Object.keys(synth.dataTemplate.findResources('Custom::S3AutoDeleteObjects'))).toHaveLength(4);
    expect(synth.data.terminationProtection).toBe(false);
  });

  it('uses the configured results expiry', () => {
    synth.dataTemplate.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ Id: 'expire-query-results', ExpirationInDays: 7 })]) },
    });
  });
});
