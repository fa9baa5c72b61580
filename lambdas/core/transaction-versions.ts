/**
 * The latest version of each transaction_id in `relation` (curated rows with ingested_at, file_id and
 * source_row): a later ingest replaces an earlier row, then the higher file id, then the later row.
 * Only ids that repeat go through the window; the rest pass straight through, which matters when a
 * batch of millions of rows has a handful of corrections. (Athena has its own view with the same
 * order: lambdas/adapters/athena.ts.)
 */
export function latestTransactionVersionsSql(relation: string): string {
  return `with repeated_ids as (
      select transaction_id from ${relation} group by transaction_id having count(*) > 1
    )
    select * from ${relation} anti join repeated_ids using (transaction_id)
    union all by name
    select * from (
      select * from ${relation} semi join repeated_ids using (transaction_id)
      qualify row_number() over (partition by transaction_id order by ingested_at desc, file_id desc, source_row desc) = 1
    )`;
}
