import { lakeKeys, type Lake } from './lake.ts';

/** One published snapshot: the run whose files are current for an as_of_date. */
export interface PublishedSnapshot {
  readonly runId: string;
  readonly publishedAt: string;
  /** Table name → lake key of its Parquet file. */
  readonly tables: Readonly<Record<string, string>>;
  /**
   * State table name → lake keys of its files: what the next run merges new data into. A table appended
   * by order month lists files written by earlier runs too, so one file can belong to several snapshots.
   */
  readonly state?: Readonly<Record<string, readonly string[]>>;
  /** Curated transaction files the state accounts for → their latest order date. */
  readonly curatedFiles?: Readonly<Record<string, string>>;
  /** Curated customers and acquisition-cost files the state accounts for. */
  readonly referenceFiles?: readonly string[];
  /** What the state was built with (models and settings); another fingerprint forces a full rebuild. */
  readonly stateFingerprint?: string;
  /** Files of the run this one replaced for the same date, kept until the next replacement. */
  readonly superseded?: readonly string[];
}

/** The publication pointer: a single object, so switching a date to a new run is one atomic write. */
export interface PublishedIndex {
  readonly snapshots: Readonly<Record<string, PublishedSnapshot>>;
}

export interface RunManifest {
  readonly runId: string;
  readonly asOfDate: string;
  readonly status: 'running' | 'published' | 'failed';
  readonly startedAt: string;
  readonly finishedAt?: string;
  readonly tables?: Readonly<Record<string, { key: string; rows: number }>>;
  readonly error?: string;
}

export async function readPublishedIndex(lake: Lake): Promise<PublishedIndex> {
  const text = await lake.getText(lakeKeys.published);
  if (text === undefined) return { snapshots: {} };
  return JSON.parse(text) as PublishedIndex;
}

/** Published dates, oldest first. */
export function publishedDates(index: PublishedIndex): string[] {
  return Object.keys(index.snapshots).sort();
}

/** The latest published as_of_date: the snapshot readers see; undefined before the first publication. */
export function latestPublishedDate(index: PublishedIndex): string | undefined {
  return publishedDates(index).at(-1);
}

/** The latest published snapshot strictly before `asOfDate`, if any. */
export function previousSnapshot(
  index: PublishedIndex,
  asOfDate: string,
): { asOfDate: string; snapshot: PublishedSnapshot } | undefined {
  const earlier = publishedDates(index).filter((d) => d < asOfDate);
  const date = earlier.at(-1);
  const snapshot = date === undefined ? undefined : index.snapshots[date];
  return date === undefined || snapshot === undefined ? undefined : { asOfDate: date, snapshot };
}

export async function writeRunManifest(lake: Lake, manifest: RunManifest): Promise<void> {
  await lake.putText(lakeKeys.runManifest(manifest.asOfDate, manifest.runId), JSON.stringify(manifest, null, 2));
}

/** The snapshot without what only a run merging into it reads: its state files and what they account for. */
function withoutState({
  state: _state,
  curatedFiles: _curatedFiles,
  referenceFiles: _referenceFiles,
  stateFingerprint: _fingerprint,
  ...rest
}: PublishedSnapshot): PublishedSnapshot {
  return rest;
}

/**
 * Points `asOfDate` at the run and returns the files that can go: those of the run replaced two
 * publications ago, and the state of dates older than the latest `stateSnapshots`, that no published
 * snapshot lists. The run replaced now stays one more generation, so a query that started before this
 * switch (an Athena query on the old partition) can still finish; state is read by transforms alone.
 * Older snapshots keep their marts but lose their state from the index, which would otherwise grow
 * with every day by the list of every curated file. Transforms run one at a time (reserved
 * concurrency 1 on Lambda, one process locally), so read-modify-write of the pointer has no
 * competing writer.
 */
export async function publishSnapshot(
  lake: Lake,
  asOfDate: string,
  snapshot: Omit<PublishedSnapshot, 'superseded'>,
  stateSnapshots: number,
): Promise<{ readonly obsolete: readonly string[] }> {
  const index = await readPublishedIndex(lake);
  const replaced = index.snapshots[asOfDate];
  const superseded =
    replaced && replaced.runId !== snapshot.runId
      ? [...Object.values(replaced.tables), ...Object.values(replaced.state ?? {}).flat()]
      : (replaced?.superseded ?? []);
  const snapshots: Record<string, PublishedSnapshot> = { ...index.snapshots, [asOfDate]: { ...snapshot, superseded } };
  const keepState = new Set(Object.keys(snapshots).sort().slice(-stateSnapshots));
  const droppedState: string[] = [];
  for (const [date, published] of Object.entries(snapshots)) {
    if (keepState.has(date) || published.state === undefined) continue;
    droppedState.push(...Object.values(published.state).flat());
    snapshots[date] = withoutState(published);
  }
  const next: PublishedIndex = { snapshots };
  await lake.putText(lakeKeys.published, JSON.stringify(next, null, 2));
  const listed = new Set(
    Object.values(next.snapshots).flatMap((s) => [...Object.values(s.tables), ...Object.values(s.state ?? {}).flat()]),
  );
  const obsolete = [...(replaced && replaced.runId !== snapshot.runId ? (replaced.superseded ?? []) : []), ...droppedState];
  return { obsolete: [...new Set(obsolete)].filter((key) => !listed.has(key)) };
}
