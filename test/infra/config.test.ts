import { describe, expect, it } from 'vitest';
import { parseInfraConfig, unknownContextKeys } from '../../infra/config.ts';
import { parseConfig } from '../../lambdas/core/config.ts';

describe('parseInfraConfig', () => {
  it('gives every key its documented default', () => {
    const config = parseInfraConfig({});
    expect(config).toMatchObject({
      namePrefix: 'lifecycle-lake',
      encryption: 's3-managed',
      removalPolicy: 'retain',
      transformSchedule: 'cron(0 3 * * ? *)',
      athenaBytesScannedCutoff: 10 * 1024 ** 3,
      logRetentionDays: 365,
      lambda: {
        architecture: 'arm64',
        ingest: { memoryMb: 3008, ephemeralStorageMb: 4096, timeoutSeconds: 900, batchSize: 5, maxConcurrency: 5 },
        transform: { memoryMb: 10_240, ephemeralStorageMb: 10_240, timeoutSeconds: 900 },
        export: { memoryMb: 512, ephemeralStorageMb: 512, timeoutSeconds: 300 },
      },
    });
    expect(config.alarmEmail).toBeUndefined();
    // The model parameters are the CLI's: the same schema with the same defaults.
    expect(config.pipeline).toEqual(parseConfig({}));
  });

  it('accepts values given as strings on the command line (-c key=value), objects as JSON text', () => {
    const config = parseInfraConfig({
      athenaBytesScannedCutoff: '20000000',
      logRetentionDays: '30',
      lambda: '{"architecture":"x86_64","transform":{"memoryMb":"4096"}}',
      pipeline: '{"clv":{"horizonMonths":24}}',
    });
    expect(config.athenaBytesScannedCutoff).toBe(20_000_000);
    expect(config.logRetentionDays).toBe(30);
    expect(config.lambda.architecture).toBe('x86_64');
    expect(config.lambda.transform.memoryMb).toBe(4096);
    expect(config.lambda.transform.timeoutSeconds).toBe(900);
    expect(config.lambda.transform.duckdbMemoryLimit).toBeUndefined();
    expect(config.pipeline.clv.horizonMonths).toBe(24);
  });

  it.each([
    [{ namePrefix: 'Lifecycle_Lake' }, 'namePrefix: use 3-26 lowercase letters'],
    [{ encryption: 'sse-c' }, 'encryption:'],
    [{ removalPolicy: 'snapshot' }, 'removalPolicy:'],
    [{ transformSchedule: 'every day' }, 'transformSchedule: use an EventBridge expression'],
    [{ lambda: { transform: { memoryMb: 20_000 } } }, 'lambda.transform.memoryMb:'],
    [{ lambda: { ingest: { ephemeralStorageMb: 100 } } }, 'lambda.ingest.ephemeralStorageMb:'],
    [{ lambda: { architecture: 'arm' } }, 'lambda.architecture:'],
    [{ lambda: { transform: { memory: 1024 } } }, 'lambda.transform: Unrecognized key'],
    [{ lambda: { ingest: { duckdbMemoryLimit: 'lots' } } }, 'lambda.ingest.duckdbMemoryLimit:'],
    [{ lambda: { export: { duckdbMemoryLimit: '1GB' } } }, 'lambda.export: Unrecognized key'],
    [{ athenaBytesScannedCutoff: 1000 }, 'athenaBytesScannedCutoff:'],
    [{ alarmEmail: 'ops-at-example' }, 'alarmEmail: use an e-mail address'],
    [{ logRetentionDays: 42 }, "logRetentionDays: use one of CloudWatch Logs' retention periods"],
    [{ transactionsFromMonth: '1990-1' }, 'transactionsFromMonth: use YYYY-MM'],
    [{ ingestDatesFrom: '2024-02-30x' }, 'ingestDatesFrom: use YYYY-MM-DD'],
    [{ pipeline: { clv: { tierAShare: 0.9, tierBShare: 0.2 } } }, 'pipeline.clv: tierAShare + tierBShare must be below 1'],
    [{ pipeline: { baseCurrency: 'usd' } }, 'pipeline.baseCurrency: a three-letter ISO 4217 code'],
  ])('rejects %j, naming the key', (context, message) => {
    expect(() => parseInfraConfig(context)).toThrow(`invalid cdk.json context: ${message}`);
  });

  it('names every offending key at once', () => {
    expect(() => parseInfraConfig({ encryption: 'x', removalPolicy: 'y' })).toThrow(/encryption: .*; removalPolicy: /);
  });
});

describe('unknownContextKeys', () => {
  it('reports likely typos and ignores CDK’s own keys', () => {
    expect(
      unknownContextKeys({
        namePrefx: 'x',
        namePrefix: 'y',
        '@aws-cdk/aws-s3:createDefaultLoggingPolicy': true,
        'aws:cdk:bundling-stacks': [],
        'acknowledged-issue-numbers': [1],
      }),
    ).toEqual(['namePrefx']);
  });
});
