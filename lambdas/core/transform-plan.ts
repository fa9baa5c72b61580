import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import type { PipelineConfig } from './config.ts';
import type { CuratedFile, IngestManifest } from './ingest/ingest.ts';
import { lakeKeys, type Lake } from './lake.ts';
import { MODEL_LAYERS } from './models/runner.ts';
import { readSqlFile } from './sql-files.ts';
import type { PublishedSnapshot } from './snapshots.ts';

/** Which curated files a transform reads and what it merges them into. */
export interface TransformPlan {
  readonly mode: 'full' | 'incremental';
  /** Why the mode was chosen, for the run summary and manifest. */
  readonly reason: string;
  /** Curated transaction files to read: all of them (full) or those with data after the state (incremental). */
  readonly batchKeys: readonly string[];
  /** Only transactions after this date are new (incremental); undefined on a full rebuild. */
  readonly stateAsOfDate?: string;
  /** Every curated file the new state accounts for, with its latest order date. */
  readonly curatedFiles: Readonly<Record<string, string>>;
  /** Customers and acquisition-cost files to read: all of them (full) or those not yet merged (incremental). */
  readonly referenceBatchKeys: readonly string[];
  /** Every customers and acquisition-cost file the new state accounts for. */
  readonly referenceFiles: readonly string[];
  /** Fingerprint of what the state depends on; a mismatch forces a full rebuild. */
  readonly stateFingerprint: string;
}

/** Ingest manifests read at once: each a round trip on S3. */
const MANIFEST_READS = 32;

/** An ingested manifest as the catalogue keeps it: its size when read, and its curated transaction files. */
interface CataloguedManifest {
  readonly size: number;
  readonly curatedFiles: readonly CuratedFile[];
}

/** `_manifests/ingest-catalogue.json`: manifest key → what a transform read there. */
interface IngestCatalogue {
  readonly manifests: Readonly<Record<string, CataloguedManifest>>;
}

/**
 * Curated transaction files and the order dates they span, from the ingest manifests. An ingested
 * file's manifest never changes (the same content is skipped, not ingested again), so what a run
 * reads of those is kept in the ingest catalogue and the next run reads only the manifests written
 * since: a GET per new file, not per file ever ingested. A catalogued manifest that is no longer
 * listed is forgotten, one listed with another size is read again; failed ones are read every time
 * (a later upload of the same file may ingest it).
 */
export async function curatedTransactionFiles(lake: Lake): Promise<Map<string, CuratedFile>> {
  const [listed, catalogueText] = await Promise.all([lake.list(lakeKeys.ingestManifests), lake.getText(lakeKeys.ingestCatalogue)]);
  const known = catalogueText === undefined ? {} : (JSON.parse(catalogueText) as IngestCatalogue).manifests;
  const limit = pLimit(MANIFEST_READS);
  const read = async (key: string, size: number): Promise<CataloguedManifest | undefined> => {
    const text = await limit(() => lake.getText(key));
    if (text === undefined) return undefined;
    const manifest = JSON.parse(text) as Partial<IngestManifest>;
    if (manifest.status !== 'ingested') return undefined;
    return { size, curatedFiles: (manifest.kind ?? 'transactions') === 'transactions' ? (manifest.curatedFiles ?? []) : [] };
  };
  const entries = await Promise.all(
    listed.map(async ({ key, size }) => [key, known[key]?.size === size ? known[key] : await read(key, size)] as const),
  );
  const manifests = Object.fromEntries(entries.filter((entry): entry is [string, CataloguedManifest] => entry[1] !== undefined));
  const keys = Object.keys(manifests);
  if (keys.length !== Object.keys(known).length || keys.some((key) => known[key] !== manifests[key])) {
    await lake.putText(lakeKeys.ingestCatalogue, JSON.stringify({ manifests } satisfies IngestCatalogue));
  }
  return new Map(Object.values(manifests).flatMap((m) => m.curatedFiles.map((file): [string, CuratedFile] => [file.key, file])));
}

/**
 * What the state depends on besides the data: the SQL of the staging and intermediate models and the
 * current-value window. Editing a model or that setting makes the next run rebuild in full.
 */
export async function stateFingerprint(sqlDir: string, config: PipelineConfig): Promise<string> {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ currentValueMonths: config.clv.currentValueMonths }));
  for (const layer of MODEL_LAYERS.filter((l) => l !== 'marts')) {
    let files: string[] = [];
    try {
      files = (await readdir(join(sqlDir, layer))).filter((f) => f.endsWith('.sql')).sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    for (const file of files) hash.update(`${layer}/${file}\n${await readSqlFile(sqlDir, join(layer, file))}`);
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * The keys of a snapshot's state files that are no longer in the lake (deleted by hand or by a bucket
 * lifecycle rule), listing each folder they are in once.
 */
export async function missingStateFiles(lake: Lake, snapshot: PublishedSnapshot | undefined): Promise<string[]> {
  const keys = Object.values(snapshot?.state ?? {}).flat();
  const folders = [...new Set(keys.map((key) => key.slice(0, key.lastIndexOf('/') + 1)))];
  const listed = await Promise.all(folders.map((folder) => lake.list(folder)));
  const present = new Set(listed.flat().map((object) => object.key));
  return keys.filter((key) => !present.has(key)).sort();
}

/**
 * Full rebuild unless asked for, or unless the previous snapshot's state can be extended: it exists
 * with all its files, was built by the same models, and every file not yet merged holds only orders
 * after its date. Files merged before but holding orders after the state date are read again for
 * those orders.
 */
export function planTransform(input: {
  readonly files: ReadonlyMap<string, CuratedFile>;
  /** The curated customers and acquisition-cost files in the lake. */
  readonly referenceFiles: readonly string[];
  readonly previous?: { readonly asOfDate: string; readonly snapshot: PublishedSnapshot };
  readonly fingerprint: string;
  readonly forceFull: boolean;
  /** The previous snapshot's state files the lake no longer holds (missingStateFiles). */
  readonly missingState?: readonly string[];
}): TransformPlan {
  const allDates = Object.fromEntries([...input.files].map(([key, f]) => [key, f.maxOrderDate ?? '9999-12-31']));
  const referenceFiles = [...input.referenceFiles].sort();
  const full = (reason: string): TransformPlan => ({
    mode: 'full',
    reason,
    batchKeys: [...input.files.keys()].sort(),
    curatedFiles: allDates,
    referenceBatchKeys: referenceFiles,
    referenceFiles,
    stateFingerprint: input.fingerprint,
  });
  if (input.forceFull) return full('full rebuild requested');
  const previous = input.previous;
  const state = previous?.snapshot.state;
  if (!previous || !state) return full('no earlier snapshot with state');
  if (previous.snapshot.stateFingerprint !== input.fingerprint) return full('models or settings changed since the state was built');
  const missing = input.missingState ?? [];
  if (missing.length > 0) {
    const more = missing.length > 1 ? ` and ${missing.length - 1} more` : '';
    return full(`state files of the ${previous.asOfDate} snapshot are gone: ${missing[0]}${more}`);
  }
  const merged = previous.snapshot.curatedFiles ?? {};
  if (Object.keys(merged).some((key) => !input.files.has(key))) return full('curated files merged earlier are gone');
  if (previous.snapshot.referenceFiles === undefined) return full('the state predates the customers and acquisition-cost state');
  const mergedReference = new Set(previous.snapshot.referenceFiles);
  const presentReference = new Set(referenceFiles);
  if ([...mergedReference].some((key) => !presentReference.has(key))) {
    return full('customers or acquisition-cost files merged earlier are gone');
  }
  const batchKeys: string[] = [];
  for (const [key, file] of input.files) {
    if (file.minOrderDate === undefined || file.maxOrderDate === undefined) return full(`no order dates recorded for ${key}`);
    const mergedMax = merged[key];
    if (mergedMax === undefined) {
      if (file.minOrderDate <= previous.asOfDate) {
        return full(`${key} has orders on or before ${previous.asOfDate}, the date of the state`);
      }
      batchKeys.push(key);
    } else if (mergedMax > previous.asOfDate) {
      batchKeys.push(key);
    }
  }
  return {
    mode: 'incremental',
    reason: `${batchKeys.length} file(s) with orders after ${previous.asOfDate}`,
    batchKeys: batchKeys.sort(),
    stateAsOfDate: previous.asOfDate,
    curatedFiles: allDates,
    referenceBatchKeys: referenceFiles.filter((key) => !mergedReference.has(key)),
    referenceFiles,
    stateFingerprint: input.fingerprint,
  };
}

/** One step of a batched full rebuild: the curated files holding its orders, dated in (after, upTo]. */
export interface RebuildBatch {
  readonly keys: readonly string[];
  /** Orders on or before this date were merged by the batches before; undefined for the first. */
  readonly after?: string;
  readonly upTo: string;
}

/** The last day of a YYYY-MM month, as YYYY-MM-DD. */
function monthEnd(month: string): string {
  const [year, monthNumber] = month.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(year, monthNumber, 0)).toISOString().slice(0, 10);
}

/**
 * Splits a full rebuild into batches of whole order months holding at least `batchTransactions` rows
 * each (the last one what remains, up to asOfDate), so the state is built as daily runs build it. A
 * file's rows count in the month of its last order (curated files hold one month each). One batch of
 * every file when batching is off (0), when history fits in one, or when a file's dates are unknown.
 */
export function planRebuildBatches(
  files: ReadonlyMap<string, CuratedFile>,
  asOfDate: string,
  batchTransactions: number,
): RebuildBatch[] {
  const everything: RebuildBatch[] = [{ keys: [...files.keys()].sort(), upTo: asOfDate }];
  if (batchTransactions <= 0) return everything;
  const rowsByMonth = new Map<string, number>();
  for (const file of files.values()) {
    if (file.minOrderDate === undefined || file.maxOrderDate === undefined) return everything;
    if (file.minOrderDate > asOfDate) continue;
    const month = file.maxOrderDate.slice(0, 7);
    rowsByMonth.set(month, (rowsByMonth.get(month) ?? 0) + file.rows);
  }
  const cuts: string[] = [];
  let rows = 0;
  for (const month of [...rowsByMonth.keys()].sort()) {
    rows += rowsByMonth.get(month) ?? 0;
    if (rows >= batchTransactions && monthEnd(month) < asOfDate) {
      cuts.push(monthEnd(month));
      rows = 0;
    }
  }
  if (cuts.length === 0) return everything;
  const bounds = [...cuts, asOfDate];
  return bounds.map((upTo, i) => {
    const after = cuts[i - 1];
    const keys = [...files]
      .filter(([, f]) => (f.minOrderDate as string) <= upTo && (after === undefined || (f.maxOrderDate as string) > after))
      .map(([key]) => key)
      .sort();
    return after === undefined ? { keys, upTo } : { keys, after, upTo };
  });
}

/** The order month (YYYY-MM) of a file of a state table appended by order month, from its order_month= folder. */
export function orderMonthOfKey(key: string): string {
  const month = /(?:^|\/)order_month=(\d{4}-\d{2})\//.exec(key)?.[1];
  if (month === undefined) throw new Error(`state file ${key} has no order_month=YYYY-MM folder`);
  return month;
}

/** The month (YYYY-MM) `months` months before the month of `date` (YYYY-MM-DD). */
function monthsBefore(date: string, months: number): string {
  const [year, month] = date.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(year, month - 1 - months, 1)).toISOString().slice(0, 7);
}

/**
 * The files of a state table appended by order month that a run needs, for a current-value window of
 * `windowMonths` months ending at asOfDate: `keep`, the files of months that can hold days inside the
 * window; `read`, those of months that can hold days that left it since the state's date (none without
 * a state). A date minus N months (the window's start) lies in that date's month minus N, so the days
 * after it are in that month or later.
 */
export function planWindowFiles(
  keys: readonly string[],
  windowMonths: number,
  asOfDate: string,
  stateAsOfDate?: string,
): { readonly keep: string[]; readonly read: string[] } {
  const windowStartMonth = monthsBefore(asOfDate, windowMonths);
  const keep = keys.filter((key) => orderMonthOfKey(key) >= windowStartMonth);
  if (stateAsOfDate === undefined) return { keep, read: [] };
  const stateWindowStartMonth = monthsBefore(stateAsOfDate, windowMonths);
  const read = keys.filter((key) => {
    const month = orderMonthOfKey(key);
    return month >= stateWindowStartMonth && month <= windowStartMonth;
  });
  return { keep, read };
}
