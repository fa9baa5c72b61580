import type { AthenaClient } from '@aws-sdk/client-athena';
import { CopyObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { runAthenaQuery, type AthenaPolling } from '../adapters/athena.ts';
import { buildExportQuery, exportCsvKey, parseExportRequest } from '../core/exports.ts';

export interface ExportDeps {
  readonly athena: AthenaClient;
  readonly s3: S3Client;
  readonly workGroup: string;
  readonly database: string;
  readonly lakeBucket: string;
  /** Key prefix of the lake in its bucket: '' or ending with '/'. */
  readonly lakePrefix: string;
  readonly polling?: AthenaPolling;
  readonly now?: () => Date;
}

export interface ExportResult {
  /** s3:// URL of the CSV (header row first) under exports/<name>/<date>/<query id>/. */
  readonly location: string;
  readonly bytes: number;
  readonly queryExecutionId: string;
  readonly dataScannedBytes: number;
}

/** CopyObject copies at most 5 GB in one request; a customer list that large calls for narrower filters. */
const maxCopyBytes = 5 * 1024 ** 3;

function parseS3Url(url: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
  if (!match?.[1] || !match[2]) throw new Error(`not an s3:// object URL: ${url}`);
  return { bucket: match[1], key: match[2] };
}

/**
 * Runs a marketing export. Athena's UNLOAD writes CSV without a header row and splits it over several
 * files, so the export is a plain SELECT instead: Athena writes its result as one CSV with a header
 * row into the workgroup's (encrypted, expiring) results location, and that object is copied under
 * exports/ in the lake, where marketing picks it up.
 */
export async function runExport(deps: ExportDeps, rawRequest: unknown): Promise<ExportResult> {
  const request = parseExportRequest(rawRequest);
  const query = buildExportQuery(request, deps.database);
  const result = await runAthenaQuery(deps.athena, { ...query, workGroup: deps.workGroup }, deps.polling);

  const source = parseS3Url(result.outputLocation);
  const head = await deps.s3.send(new HeadObjectCommand({ Bucket: source.bucket, Key: source.key }));
  const bytes = head.ContentLength ?? 0;
  if (bytes > maxCopyBytes) {
    throw new Error(`export ${request.name} is ${bytes} bytes, over the 5 GB a single copy allows: narrow the filters or columns`);
  }

  const date = (deps.now?.() ?? new Date()).toISOString().slice(0, 10);
  const key = `${deps.lakePrefix}${exportCsvKey(request.name, date, result.queryExecutionId)}`;
  await deps.s3.send(
    new CopyObjectCommand({
      Bucket: deps.lakeBucket,
      Key: key,
      CopySource: `${source.bucket}/${source.key.split('/').map(encodeURIComponent).join('/')}`,
      ContentType: 'text/csv',
      MetadataDirective: 'REPLACE',
    }),
  );
  return {
    location: `s3://${deps.lakeBucket}/${key}`,
    bytes,
    queryExecutionId: result.queryExecutionId,
    dataScannedBytes: result.dataScannedBytes,
  };
}
