import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LocalLake } from '../../lambdas/adapters/local-lake.ts';
import { openLake } from '../../lambdas/adapters/open-lake.ts';
import { S3Lake, parseS3Location } from '../../lambdas/adapters/s3-lake.ts';
import { openDuckDb, queryRows, quoteLiteral } from '../../lambdas/core/duckdb.ts';
import type { Lake } from '../../lambdas/core/lake.ts';
import { startS3rver, type S3rverHandle } from '../support/s3rver.ts';

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

interface LakeFixture {
  readonly lake: Lake;
  readonly workDir: string;
}

/** What every Lake adapter must do, whatever it stores objects in. */
function lakeContract(name: string, open: () => Promise<LakeFixture & { close: () => Promise<void> }>): void {
  describe(`${name} — Lake contract`, () => {
    let fixture: LakeFixture & { close: () => Promise<void> };
    beforeAll(async () => {
      fixture = await open();
    });
    afterAll(async () => {
      await fixture?.close();
    });

    it('returns undefined for a missing key and the stored text otherwise, with spaces, = and non-ASCII in the key', async () => {
      const key = '_manifests/runs/as_of_date=2024-01-31/run id=ä 1.json';

      const before = await fixture.lake.getText(key);
      await fixture.lake.putText(key, '{"status":"running"}');
      await fixture.lake.putText(key, '{"status":"published","note":"café"}');

      expect(before).toBeUndefined();
      expect(await fixture.lake.getText(key)).toBe('{"status":"published","note":"café"}');
    });

    it('lists every key under a prefix, sorted, with byte sizes, past one 1000-key page, and deletes them all', async () => {
      const prefix = 'curated/transactions/order_month=2024-02/';
      const keys = Array.from({ length: 1005 }, (_, i) => `${prefix}file ${String(i).padStart(4, '0')}.json`);
      const bodies = new Map(keys.map((key, i) => [key, 'é'.repeat(i % 3)]));
      await fixture.lake.putText('curated/transactions/order_month=2024-03/other.json', '{}');
      for (let start = 0; start < keys.length; start += 50) {
        await Promise.all(keys.slice(start, start + 50).map((key) => fixture.lake.putText(key, bodies.get(key) as string)));
      }

      const listed = await fixture.lake.list(prefix);
      await fixture.lake.delete([...keys, `${prefix}never-existed.json`]);
      const afterDelete = await fixture.lake.list(prefix);

      expect(listed.map((o) => o.key)).toEqual([...keys].sort());
      // 'é' is two bytes in UTF-8.
      expect(listed.map((o) => o.size)).toEqual(keys.map((key) => Buffer.byteLength(bodies.get(key) as string)));
      expect(afterDelete).toEqual([]);
      expect(await fixture.lake.list('curated/transactions/order_month=2024-03/')).toHaveLength(1);
    });

    it('uploads a file larger than one multipart part, replaces it on re-upload, and fetches it back byte for byte', async () => {
      const key = 'exports/big export/2024-01-31/part=0.bin';
      const first = randomBytes(12 * 1024 * 1024 + 123);
      const second = randomBytes(9 * 1024 * 1024 + 7);
      const source = join(fixture.workDir, 'upload-source.bin');
      await writeFile(source, first);
      await fixture.lake.upload(source, key);
      await writeFile(source, second);

      await fixture.lake.upload(source, key);
      const [path] = await fixture.lake.fetch([key], join(fixture.workDir, 'fetched'));

      expect(await fixture.lake.list(key)).toEqual([{ key, size: second.length }]);
      expect(sha256(await readFile(path as string))).toBe(sha256(second));
    });

    it('fetches Parquet under hive-style keys to local paths DuckDB reads, in the order asked', async () => {
      const db = await openDuckDb({ tempDirectory: join(fixture.workDir, 'duckdb') });
      const keys = ['b', 'a'].map((run) => `marts/customer_rfm/as_of_date=2024-01-31/run_id=${run} x/customer_rfm.parquet`);
      try {
        for (const [index, key] of keys.entries()) {
          const local = join(fixture.workDir, `rfm-${index}.parquet`);
          await db.connection.run(
            `COPY (SELECT ${index} AS run_index, 'c' || range AS customer_id FROM range(3)) TO ${quoteLiteral(local)} (FORMAT parquet)`,
          );
          await fixture.lake.upload(local, key);
        }

        const paths = await fixture.lake.fetch([...keys, keys[0] as string], join(fixture.workDir, 'fetched'));
        const perPath = await Promise.all(
          paths.map((path) =>
            queryRows(db.connection, `SELECT min(run_index)::INTEGER AS run_index, count(*)::INTEGER AS n FROM read_parquet(${quoteLiteral(path)})`),
          ),
        );

        expect(perPath).toEqual([[{ run_index: 0, n: 3 }], [{ run_index: 1, n: 3 }], [{ run_index: 0, n: 3 }]]);
      } finally {
        db.close();
      }
    });
  });
}

lakeContract('LocalLake', async () => {
  const root = await mkdtemp(join(tmpdir(), 'lifecycle-lake-local-contract-'));
  await mkdir(join(root, 'work'));
  return {
    lake: new LocalLake(join(root, 'lake')),
    workDir: join(root, 'work'),
    close: () => rm(root, { recursive: true, force: true }),
  };
});

lakeContract('S3Lake on s3rver', async () => {
  const s3 = await startS3rver({ buckets: ['contract-lake'] });
  const workDir = await mkdtemp(join(tmpdir(), 'lifecycle-lake-s3-contract-'));
  return {
    lake: new S3Lake(s3.client, 'contract-lake', 'tenants/a b/lake'),
    workDir,
    close: async () => {
      await s3.stop();
      await rm(workDir, { recursive: true, force: true });
    },
  };
});

describe('S3Lake specifics', () => {
  let s3: S3rverHandle;
  let workDir: string;
  beforeAll(async () => {
    s3 = await startS3rver({ buckets: ['lake-bucket'] });
    workDir = await mkdtemp(join(tmpdir(), 'lifecycle-lake-s3-specifics-'));
  });
  afterAll(async () => {
    await s3?.stop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('keeps lake keys relative to its prefix and ignores objects outside it', async () => {
    const lake = new S3Lake(s3.client, 'lake-bucket', 'prod/lake');
    await s3.client.send(new PutObjectCommand({ Bucket: 'lake-bucket', Key: 'prod/lakehouse/x.json', Body: '{}' }));
    await s3.client.send(new PutObjectCommand({ Bucket: 'lake-bucket', Key: 'raw/sales.csv', Body: 'a' }));

    await lake.putText('_manifests/published.json', '{"snapshots":{}}');
    const listed = await lake.list('');
    const stored = await s3.client.send(new ListObjectsV2Command({ Bucket: 'lake-bucket', Prefix: 'prod/lake/' }));

    expect(lake.location).toBe('s3://lake-bucket/prod/lake/');
    expect(listed).toEqual([{ key: '_manifests/published.json', size: 16 }]);
    expect(stored.Contents?.map((o) => o.Key)).toEqual(['prod/lake/_manifests/published.json']);
  });

  it('stores exactly the bytes written: no aws-chunked framing inside objects', async () => {
    const lake = new S3Lake(s3.client, 'lake-bucket');
    const source = join(workDir, 'small.csv');
    await writeFile(source, 'customer_id,amount\nc1,10.00\n');

    await lake.upload(source, 'raw/small.csv');
    const object = await s3.client.send(new GetObjectCommand({ Bucket: 'lake-bucket', Key: 'raw/small.csv' }));

    expect(await object.Body?.transformToString()).toBe('customer_id,amount\nc1,10.00\n');
  });

  it('reuses a download while the object is unchanged, and downloads again when the object or the local file changed', async () => {
    const lake = new S3Lake(s3.client, 'lake-bucket');
    const key = 'marts/segment_summary/as_of_date=2024-01-31/run_id=r1/segment_summary.parquet';
    await lake.putText(key, 'version one');
    const [path] = (await lake.fetch([key], workDir)) as [string];
    const firstInode = (await stat(path)).ino;

    const [again] = (await lake.fetch([key], workDir)) as [string];
    const inodeWhenUnchanged = (await stat(again)).ino;
    await lake.putText(key, 'version two');
    await lake.fetch([key], workDir);
    const afterRemoteChange = await readFile(path, 'utf8');
    await truncate(path, 3);
    await lake.fetch([key], workDir);
    const afterLocalDamage = await readFile(path, 'utf8');

    // A download is written beside and renamed into place, so a new inode means a new download.
    expect(inodeWhenUnchanged).toBe(firstInode);
    expect(afterRemoteChange).toBe('version two');
    expect(afterLocalDamage).toBe('version two');
  });

  it('keeps at most four uploads in flight however many are started, and completes every one', async () => {
    const lake = new S3Lake(s3.client, 'lake-bucket');
    const source = join(workDir, 'part.parquet');
    await writeFile(source, 'one part');
    let inFlight = 0;
    let mostInFlight = 0;
    const send = s3.client.send.bind(s3.client);
    const spy = vi.spyOn(s3.client, 'send').mockImplementation(async (...args: Parameters<typeof send>) => {
      inFlight += 1;
      mostInFlight = Math.max(mostInFlight, inFlight);
      try {
        return await send(...args);
      } finally {
        inFlight -= 1;
      }
    });
    try {
      const keys = Array.from({ length: 10 }, (_, i) => `state/recent_revenue_days/order_month=2024-${String(i + 1).padStart(2, '0')}/run_0.parquet`);
      await Promise.all(keys.map((key) => lake.upload(source, key)));
      expect(mostInFlight).toBe(4);
      expect((await lake.list('state/recent_revenue_days/')).map((o) => o.key)).toEqual(keys);
    } finally {
      spy.mockRestore();
    }
  });

  it('fails a fetch of a missing key with S3 NoSuchKey rather than returning a path', async () => {
    const lake = new S3Lake(s3.client, 'lake-bucket');

    await expect(lake.fetch(['curated/transactions/order_month=2024-01/missing.parquet'], workDir)).rejects.toMatchObject({
      name: 'NoSuchKey',
    });
  });
});

describe('openLake', () => {
  let s3: S3rverHandle;
  beforeAll(async () => {
    s3 = await startS3rver({ buckets: ['opened-lake'] });
  });
  afterAll(async () => {
    await s3?.stop();
    vi.unstubAllEnvs();
  });

  it('opens a local folder as a LocalLake', () => {
    const lake = openLake('relative/lake');

    expect(lake).toBeInstanceOf(LocalLake);
    expect(lake.location).toBe(join(process.cwd(), 'relative/lake'));
  });

  it('opens s3://bucket/prefix through the standard SDK environment, path-style when AWS_ENDPOINT_URL_S3 overrides the endpoint', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL_S3', s3.endpoint);
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'S3RVER');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'S3RVER');
    vi.stubEnv('AWS_REGION', '');
    const lake = openLake('s3://opened-lake/analytics/lake/');

    await lake.putText('_manifests/published.json', '{"snapshots":{}}');
    const stored = await s3.client.send(
      new GetObjectCommand({ Bucket: 'opened-lake', Key: 'analytics/lake/_manifests/published.json' }),
    );

    expect(lake).toBeInstanceOf(S3Lake);
    expect(lake.location).toBe('s3://opened-lake/analytics/lake/');
    expect(await stored.Body?.transformToString()).toBe('{"snapshots":{}}');
  });

  it('rejects an S3 URL whose bucket name S3 would refuse, naming it', () => {
    expect(() => parseS3Location('s3://My_Bucket/lake')).toThrow(/"My_Bucket" is not a valid S3 bucket name/);
    expect(parseS3Location('s3://my-bucket')).toEqual({ bucket: 'my-bucket', prefix: '' });
  });
});
