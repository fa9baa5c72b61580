import { AthenaClient } from '@aws-sdk/client-athena';
import { GlueClient } from '@aws-sdk/client-glue';
import { ensureAthenaViews } from '../adapters/athena.ts';
import { publishSnapshotPartitions } from '../adapters/glue-catalog.ts';
import { createS3Client } from '../adapters/open-lake.ts';
import { S3Lake } from '../adapters/s3-lake.ts';
import { transform, type PipelineDeps, type TransformResult } from '../core/pipeline.ts';
import { latestPublishedDate, readPublishedIndex } from '../core/snapshots.ts';
import { newRunId } from '../core/transform.ts';
import { readEnv, readPipelineSettings } from '../shared/env.ts';
import { logger, withLambdaContext } from '../shared/logger.ts';

/**
 * On-demand `{ "asOfDate": "YYYY-MM-DD", "full": true }`, both optional; the EventBridge schedule sends
 * neither: the latest order date, merged incrementally into the previous snapshot where possible.
 */
export interface TransformEvent {
  readonly asOfDate?: unknown;
  readonly full?: unknown;
}

const settings = readPipelineSettings();
const catalog = readEnv({ required: [], optional: ['GLUE_DATABASE', 'ATHENA_WORKGROUP'] });
const glueCatalog = catalog.GLUE_DATABASE && { database: catalog.GLUE_DATABASE, client: new GlueClient({}) };
const athenaViews = catalog.ATHENA_WORKGROUP && { workGroup: catalog.ATHENA_WORKGROUP, client: new AthenaClient({}) };
const deps: PipelineDeps = {
  lake: new S3Lake(createS3Client(), settings.lakeBucket, settings.lakePrefix),
  config: settings.config,
  workDir: settings.workDir,
  sqlDir: settings.sqlDir,
  report: (event) => {
    if (event.kind === 'step') logger.info(event.message);
    else if (event.kind === 'model') logger.info('model finished', { model: event.name, seconds: event.seconds });
  },
};
logger.appendPersistentKeys({ lake: deps.lake.location });

/**
 * Runs after the pointer moved (before obsolete files go): Glue partitions for the new snapshot,
 * then the BI views on the latest snapshot. Each step only when its env var (GLUE_DATABASE,
 * ATHENA_WORKGROUP) is set, so the pipeline also runs without a catalog.
 */
async function publishToCatalog(result: TransformResult): Promise<void> {
  if (!glueCatalog) return;
  const index = await readPublishedIndex(deps.lake);
  const snapshot = index.snapshots[result.asOfDate];
  if (snapshot === undefined) throw new Error(`${result.asOfDate} is missing from the publication pointer it was just written to`);
  const lake = { bucket: settings.lakeBucket, prefix: settings.lakePrefix };
  await publishSnapshotPartitions(glueCatalog.client, { database: glueCatalog.database, lake, snapshots: { [result.asOfDate]: snapshot } });
  if (!athenaViews) return;
  const snapshotDate = latestPublishedDate(index) ?? result.asOfDate;
  await ensureAthenaViews(athenaViews.client, { workGroup: athenaViews.workGroup, database: glueCatalog.database, snapshotDate });
}

export const handler = withLambdaContext(async (event: TransformEvent | undefined): Promise<TransformResult> => {
  const asOfDate = event?.asOfDate;
  if (asOfDate !== undefined && typeof asOfDate !== 'string') {
    throw new TypeError(`asOfDate must be a YYYY-MM-DD string, got ${JSON.stringify(asOfDate)}`);
  }
  if (event?.full !== undefined && typeof event.full !== 'boolean') {
    throw new TypeError(`full must be true or false, got ${JSON.stringify(event.full)}`);
  }
  const runId = newRunId(new Date());
  logger.appendKeys({ run_id: runId, as_of_date: asOfDate ?? 'latest' });
  try {
    const result = await transform(deps, { asOfDate, runId, full: event?.full === true, onPublished: publishToCatalog });
    logger.appendKeys({ as_of_date: result.asOfDate });
    logger.info('snapshot published', { tables: result.tables });
    return result;
  } catch (error) {
    logger.error('transform failed', { error: error as Error });
    throw error;
  }
});
