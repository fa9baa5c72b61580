/**
 * Which version of a transaction_id counts, for curated rows (with ingested_at, file_id and source_row):
 * a later ingest replaces an earlier row, then the higher file id, then the later row. Only ids that
 * repeat go through the window; the rest pass straight through, which matters when a batch of millions
 * of rows has a handful of corrections. (Athena has its own view with the same order:
 * lambdas/adapters/athena.ts.)
 */
const LATEST_FIRST = 'ingested_at desc, file_id desc, source_row desc';

function repeatedIdsCte(relation: string): string {
  return `repeated_ids as (
      select transaction_id from ${relation} group by transaction_id having count(*) > 1
    )`;
}

/** The latest version of each transaction_id in `relation`. */
export function latestTransactionVersionsSql(relation: string): string {
  return `with ${repeatedIdsCte(relation)}
    select * from ${relation} anti join repeated_ids using (transaction_id)
    union all by name
    select * from (
      select * from ${relation} semi join repeated_ids using (transaction_id)
      qualify row_number() over (partition by transaction_id order by ${LATEST_FIRST}) = 1
    )`;
}

/**
 * The rows of `relation` a later version replaces, as (file_id, source_row): what a rebuild that reads
 * the files in batches leaves out of each batch, so every batch holds latest versions only.
 */
export function supersededTransactionVersionsSql(relation: string): string {
  return `with ${repeatedIdsCte(relation)}
    select file_id, source_row from (
      select transaction_id, ingested_at, file_id, source_row from ${relation} semi join repeated_ids using (transaction_id)
      qualify row_number() over (partition by transaction_id order by ${LATEST_FIRST}) > 1
    )`;
}
