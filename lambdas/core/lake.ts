/**
 * The lake as the core sees it: a key space laid out as DESIGN.md §3, identical in S3 and in a local
 * folder. DuckDB only reads and writes local files, so data moves through `fetch` (key → readable
 * local path) and `upload` (local file → key); small JSON documents go through getText/putText.
 */
export interface LakeObject {
  readonly key: string;
  readonly size: number;
}

export interface Lake {
  /** Where the lake is, for messages: a folder path or s3://bucket/prefix. */
  readonly location: string;
  /** Every object whose key starts with `prefix`, sorted by key. */
  list(prefix: string): Promise<LakeObject[]>;
  /** The object's text, or undefined when it does not exist. */
  getText(key: string): Promise<string | undefined>;
  /** Writes the whole object at once: readers see the old or the new body, never a mix. */
  putText(key: string, body: string): Promise<void>;
  /** Local paths DuckDB can read for `keys`, in the same order; may download into `workDir`. */
  fetch(keys: readonly string[], workDir: string): Promise<string[]>;
  /** Stores a local file under `key`, replacing any object there. */
  upload(localPath: string, key: string): Promise<void>;
  delete(keys: readonly string[]): Promise<void>;
}

/** Key helpers for the layout of DESIGN.md §3, so no module spells a path twice. */
export const lakeKeys = {
  curatedTransactions: 'curated/transactions/',
  curatedCustomers: 'curated/customers/',
  curatedAcquisitionCosts: 'curated/acquisition_costs/',
  quarantineFile: (table: 'transactions' | 'customers' | 'acquisition_costs', ingestDate: string, fileId: string) =>
    `quarantine/${table}/ingest_date=${ingestDate}/${fileId}.parquet`,
  ingestManifests: '_manifests/ingest/',
  ingestManifest: (fileId: string) => `_manifests/ingest/${fileId}.json`,
  /** What transforms have read of the ingest manifests (transform-plan.ts), so each is read once. */
  ingestCatalogue: '_manifests/ingest-catalogue.json',
  runManifests: '_manifests/runs/',
  runManifest: (asOfDate: string, runId: string) => `_manifests/runs/${asOfDate}/${runId}.json`,
  /** The publication pointer: which run is current for each as_of_date. */
  published: '_manifests/published.json',
  martFile: (table: string, asOfDate: string, runId: string) =>
    `marts/${table}/as_of_date=${asOfDate}/run_id=${runId}/${table}.parquet`,
  /** A run's folder for a state table: its file, or its files by order month for a table appended by month. */
  stateFolder: (table: string, asOfDate: string, runId: string) => `state/${table}/as_of_date=${asOfDate}/run_id=${runId}/`,
  exports: (name: string, date: string) => `exports/${name}/${date}/`,
} as const;
