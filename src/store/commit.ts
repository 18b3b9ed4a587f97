import type { Database } from "bun:sqlite";
import type { Collection } from "../collections";
import { ConflictError, GuardError } from "../errors";
import type { CollectionCounts } from "../models";
import { ITS_HISTORY_ROW } from "./documents";
import { datasetBase, type DatasetBase } from "./staging";
import { readMeta, writeMeta } from "./meta";
import { isoSeconds } from "./time";

export type { CollectionCounts };

export function emptyCounts(): CollectionCounts {
  return { fetched: 0, added: 0, changed: 0, deleted: 0, revived: 0, unchanged: 0, skipped: 0, skippedReasons: {} };
}

export type ChangeCounts = Pick<CollectionCounts, "added" | "changed" | "deleted" | "revived" | "unchanged">;

export interface PreviewOptions {
  /** Largest share (0..1) of a collection's live documents that one sync may delete unless forced. */
  maxDeleteShare: number;
  force: boolean;
  /** What is committed is the embedded sample dataset (marked as such everywhere it is served). */
  sample?: boolean;
}

export interface CommitOptions extends PreviewOptions {
  runId: number | null;
  now?: Date;
  /**
   * Checked inside the write transaction: throws when this sync may no longer commit (it no longer
   * holds the sync lock, it was stopped, or the database became a replica meanwhile).
   */
  assertMayCommit?: () => void;
  /** Keep history of only the newest N dataset versions (null: all). */
  keepVersions?: number | null;
  /** Runs inside the write transaction with the result, so that the run record commits with the data. */
  record?: (result: CommitResult) => void;
}

export interface CommitResult {
  /** The new dataset version, or null when nothing changed. */
  version: number | null;
  previousVersion: number;
  lastChanged: string;
  counts: Record<string, ChangeCounts>;
  /** The stored sample dataset was replaced: a new dataset id, and diffs from before start over. */
  replacedSample: boolean;
}

/** What a commit of the staged documents would do, decided from one snapshot; nothing is written. */
export interface Preview {
  /** The dataset version the decision was read at. */
  previousVersion: number;
  /** The version the commit would make: null when it would change nothing, or the guard stops it. */
  version: number | null;
  /** Per collection; when the guard stops the commit, what its error records. */
  counts: Record<string, ChangeCounts>;
  /** The mass-deletion guard's verdict when it would stop the commit, else null. */
  guard: GuardError | null;
}

/** The mass-deletion guard's verdict, as the error that stops the sync. */
function guardError(collection: string, wouldDelete: number, live: number, maxShare: number, counts: Record<string, ChangeCounts>): GuardError {
  return new GuardError(
    `Sync stopped by the mass-deletion guard: it would delete ${wouldDelete} of ${live} live ${collection} ` +
      `documents (${Math.round((wouldDelete / live) * 100)}%, more than the allowed ${Math.round(maxShare * 100)}%). ` +
      `Nothing was written. If upstream really removed them, run the sync again with --force (HTTP: ?force=true), ` +
      `or raise --max-delete-share.`,
    counts,
  );
}

// A staged document and the stored one, side by side (LEFT JOIN: no stored one for a new document).
// `document` holds no content (see migration 7), so the comparison reads small rows only. Staged are
// only the documents that did not arrive unchanged (see Staging).
const STAGED_VS_STORED = `FROM temp.staging s LEFT JOIN main.document AS d ON d.collection = s.collection AND d.id = s.id WHERE s.collection = ?1`;
const WANTS_WRITE = `(d.id IS NULL OR d.is_deleted = 1 OR d.hash <> s.hash)`;
// A live document that did not arrive (Staging.finish lists them).
const GONE_FROM = `FROM temp.staging_gone g JOIN main.document AS d ON d.collection = g.collection AND d.id = g.id`;
const GONE_WHERE = `WHERE g.collection = ?1 AND d.is_deleted = 0`;

/**
 * Throws unless the database is at the version the staging compared with, and the staging was made to
 * replace the sample exactly when the commit replaces it: the documents it ticked off as unchanged were
 * compared with the hashes of that version, and a staging that replaces the sample ticks off none (see
 * Staging). The sync lock keeps other syncs out, so this holds for a sync but for a program that writes
 * to the file without the lock; a dry run takes no lock, so a sync that commits while it reads makes it
 * refuse.
 */
function assertStagedAgainst(db: Database, replacing: boolean): void {
  const base = db.query("SELECT dataset_id AS datasetId, version, replacing FROM temp.staging_base").get() as (DatasetBase & { replacing: number }) | null;
  if (base === null) throw new Error("The staging was not finished (Staging.finish) before the commit.");
  const now = datasetBase(db);
  const moved = base.datasetId !== now.datasetId || base.version !== now.version;
  if (moved || (base.replacing === 1) !== replacing) {
    const what = moved
      ? `it compared with version ${base.version}, and version ${now.version}${base.datasetId === now.datasetId ? "" : " of another dataset"} was committed meanwhile`
      : "the embedded sample dataset was loaded into it after this sync began";
    throw new ConflictError(
      `The database changed while this sync read its source: ${what} ` +
        `(by a sync, if this was a dry run; otherwise by a program writing to the file without Nompd's sync lock). Nothing was written; run it again.`,
    );
  }
}

/** Steps 1 and 2 of a commit: what it would do, and the guard's verdict. Only reads. */
interface Decision {
  previousVersion: number;
  replacedSample: boolean;
  counts: Record<string, ChangeCounts>;
  /** Whether the commit makes a new version. */
  writes: boolean;
  guard: GuardError | null;
}

function decide(db: Database, collections: readonly Collection[], options: PreviewOptions): Decision {
  const q = {
    staged: db.query("SELECT count(*) AS n FROM temp.staging WHERE collection = ?"),
    live: db.query("SELECT count(*) AS n FROM main.document WHERE collection = ? AND is_deleted = 0"),
    compare: db.query(
      `SELECT count(*) AS staged, coalesce(sum(d.id IS NULL), 0) AS added, coalesce(sum(d.is_deleted = 1), 0) AS revived,
              coalesce(sum(d.is_deleted = 0 AND d.hash <> s.hash), 0) AS changed ${STAGED_VS_STORED}`,
    ),
    unchanged: db.query("SELECT coalesce(sum(n), 0) AS n FROM temp.staging_unchanged WHERE collection = ?"),
    gone: db.query(`SELECT count(*) AS n ${GONE_FROM} ${GONE_WHERE}`),
  };
  const previousVersion = Number(readMeta(db, "version") ?? 0);
  if (options.sample && previousVersion !== 0) {
    // Another process filled the database since the caller looked: the sample never goes over data.
    throw new ConflictError("The database is no longer empty (another process synced into it), so the sample dataset is not loaded.");
  }
  const counts: Record<string, ChangeCounts> = {};
  if (!options.sample && readMeta(db, "sample") === "1") {
    assertStagedAgainst(db, true);
    // The sample goes entirely, so every staged document is added and nothing is compared; not
    // counted by the guard either, but an empty answer must not replace it.
    for (const collection of collections) {
      const staged = (q.staged.get(collection) as { n: number }).n;
      if (!options.force && staged === 0 && (q.live.get(collection) as { n: number }).n > 0) {
        const guard = new GuardError(
          `Sync stopped by the mass-deletion guard: it would replace the sample dataset with no ${collection} at all. ` +
            `Nothing was written. If upstream really has none, run the sync again with --force (HTTP: ?force=true).`,
          {},
        );
        return { previousVersion, replacedSample: true, counts, writes: false, guard };
      }
      counts[collection] = { added: staged, changed: 0, deleted: 0, revived: 0, unchanged: 0 };
    }
    return { previousVersion, replacedSample: true, counts, writes: true, guard: null };
  }

  // 1. Compare with what is stored.
  assertStagedAgainst(db, false);
  let changes = 0;
  const live: Record<string, number> = {};
  for (const collection of collections) {
    const c = q.compare.get(collection) as { staged: number; added: number; revived: number; changed: number };
    const deleted = (q.gone.get(collection) as { n: number }).n;
    // A staged document equal to its stored one (it arrived twice, say) is unchanged too.
    const unchanged = (q.unchanged.get(collection) as { n: number }).n + c.staged - c.added - c.revived - c.changed;
    counts[collection] = { added: c.added, changed: c.changed, deleted, revived: c.revived, unchanged };
    live[collection] = (q.live.get(collection) as { n: number }).n;
    changes += c.added + c.changed + c.revived + deleted;
  }
  // 2. The mass-deletion guard, for every collection.
  if (!options.force) {
    for (const collection of collections) {
      const { deleted } = counts[collection]!;
      const n = live[collection]!;
      if (n > 0 && deleted / n > options.maxDeleteShare) {
        return { previousVersion, replacedSample: false, counts, writes: false, guard: guardError(collection, deleted, n, options.maxDeleteShare, counts) };
      }
    }
  }
  return { previousVersion, replacedSample: false, counts, writes: changes > 0, guard: null };
}

/**
 * What committing the staged documents would do (a dry run): decided as commitStaged decides, in one
 * read transaction, so the version and the counts are of the same snapshot. It writes nothing and
 * takes no write lock, so a sync committing meanwhile neither waits for it nor is disturbed by it.
 */
export function previewStaged(db: Database, collections: readonly Collection[], options: PreviewOptions): Preview {
  return db
    .transaction((): Preview => {
      const { previousVersion, counts, writes, guard } = decide(db, collections, options);
      return { previousVersion, version: writes ? previousVersion + 1 : null, counts: guard?.counts ?? counts, guard };
    })
    .deferred();
}

/**
 * Commits what a sync staged, for the given collections, as one transaction (BEGIN IMMEDIATE …
 * COMMIT): every added, changed or revived document, the soft deletes, their history rows, the new
 * dataset version and the run's record. The comparison and the writes are set operations in SQL, so
 * memory does not grow with the dataset. Readers in WAL mode see the old version or the new one, never
 * a mix; a crash or kill before COMMIT leaves the old version. A sync that changes nothing writes no
 * document and creates no version. The mass-deletion guard is checked for every collection before
 * anything is written.
 *
 * The first real sync into a database that holds the embedded sample replaces it: the sample's
 * documents and history go, the dataset gets a new id, and diffs from the sample's versions are refused
 * (clients start over). That is no mass deletion, so the guard does not stop it.
 */
export function commitStaged(db: Database, collections: readonly Collection[], options: CommitOptions): CommitResult {
  const lastChanged = isoSeconds(options.now);
  const q = {
    historyOfWrites: db.query(
      `INSERT INTO document_history (collection, id, version, last_changed, is_deleted, hash, content)
       SELECT s.collection, s.id, ?2, ?3, 0, s.hash, s.content ${STAGED_VS_STORED} AND ${WANTS_WRITE}`,
    ),
    // LEFT JOIN: a stored document without its history row (which holds its content) fails the commit on
    // the NOT NULL of content, rather than losing its tombstone.
    historyOfDeletes: db.query(
      `INSERT INTO document_history (collection, id, version, last_changed, is_deleted, hash, content)
       SELECT d.collection, d.id, ?2, ?3, 1, d.hash, h.content ${GONE_FROM} LEFT JOIN main.document_history h ON ${ITS_HISTORY_ROW} ${GONE_WHERE}`,
    ),
    markDeleted: db.query(
      `UPDATE main.document SET version = ?2, last_changed = ?3, is_deleted = 1
       WHERE collection = ?1 AND is_deleted = 0 AND id IN (SELECT id FROM temp.staging_gone WHERE collection = ?1)`,
    ),
    upsert: db.query(
      `INSERT INTO main.document (collection, id, version, last_changed, is_deleted, hash)
       SELECT s.collection, s.id, ?2, ?3, 0, s.hash ${STAGED_VS_STORED} AND ${WANTS_WRITE}
       ON CONFLICT (collection, id) DO UPDATE SET
         version = excluded.version, last_changed = excluded.last_changed, is_deleted = 0, hash = excluded.hash`,
    ),
  };

  return db
    .transaction((): CommitResult => {
      options.assertMayCommit?.();
      const { previousVersion, replacedSample, counts, writes, guard } = decide(db, collections, options);
      if (guard) throw guard;
      if (!writes) {
        const result: CommitResult = { version: null, previousVersion, lastChanged, counts, replacedSample };
        options.record?.(result);
        return result;
      }

      // 3. Write the new version. History rows first: they compare against the stored rows as they were.
      const version = previousVersion + 1;
      // No tombstone of an invented ranking stays in a real dataset.
      if (replacedSample) db.exec("DELETE FROM document; DELETE FROM document_history; DELETE FROM dataset_version;");
      for (const collection of collections) {
        q.historyOfWrites.run(collection, version, lastChanged);
        q.historyOfDeletes.run(collection, version, lastChanged);
        q.markDeleted.run(collection, version, lastChanged);
        q.upsert.run(collection, version, lastChanged);
      }
      addVersion(db, version, lastChanged, options.runId, counts);
      writeMeta(db, "version", version);
      if (options.sample) writeMeta(db, "sample", "1");
      if (replacedSample) {
        writeMeta(db, "sample", "0");
        writeMeta(db, "dataset_id", crypto.randomUUID());
        // Clients at a sample version must start over; the new dataset's history begins here.
        writeMeta(db, "diff_floor", version);
        writeMeta(db, "oldest_version", version);
      }
      if (options.keepVersions != null) prune(db, version - options.keepVersions + 1);
      const result: CommitResult = { version, previousVersion, lastChanged, counts, replacedSample };
      options.record?.(result);
      return result;
    })
    .immediate();
}

/** A dataset version's record, with what it changed per collection (the unchanged counts are not kept). */
export function addVersion(db: Database, version: number, createdAt: string, runId: number | null, counts: Record<string, ChangeCounts>): void {
  const changed = Object.fromEntries(Object.entries(counts).map(([c, { unchanged: _, ...n }]) => [c, n]));
  db.query("INSERT OR REPLACE INTO dataset_version (version, created_at, run_id, counts) VALUES (?, ?, ?, ?)").run(version, createdAt, runId, JSON.stringify(changed));
}

/**
 * Keeps the newest versions from `oldest` on, in the sync's transaction: forgets what came before (see
 * forgetBefore) and the run records older than the run that made `oldest`.
 */
function prune(db: Database, oldest: number): void {
  if (oldest <= 1 || oldest <= Number(readMeta(db, "oldest_version") ?? 0)) return;
  const firstKeptRun = (db.query("SELECT run_id FROM dataset_version WHERE version = ?").get(oldest) as { run_id: number | null } | null)?.run_id ?? null;
  forgetBefore(db, oldest);
  if (firstKeptRun !== null) db.query("DELETE FROM sync_run WHERE id < ?").run(firstKeptRun);
}

/**
 * Forgets what happened before dataset version `oldest`, in the caller's transaction: history rows
 * superseded before it (each document keeps the row that gives its state at `oldest`), documents (with
 * their history) whose last change before it was their deletion, and version records older than it.
 * Diffs from before `oldest − 1` and asOfVersion before `oldest` are refused from then on (they would
 * miss what was forgotten), as a Kubernetes watch from a compacted revision is. A sync prunes with it;
 * a replica mirrors its primary's pruning with it (src/store/replica.ts).
 */
export function forgetBefore(db: Database, oldest: number): void {
  db.query(
    `DELETE FROM document_history AS h WHERE h.version < ?1 AND EXISTS (
       SELECT 1 FROM document_history n WHERE n.collection = h.collection AND n.id = h.id AND n.version > h.version AND n.version <= ?1)`,
  ).run(oldest);
  // A document whose newest change before `oldest` was its deletion is gone from the kept window.
  db.query(
    `DELETE FROM document_history AS h WHERE h.version < ?1 AND h.is_deleted = 1`,
  ).run(oldest);
  db.query(`DELETE FROM document WHERE is_deleted = 1 AND version < ?1`).run(oldest);
  db.query("DELETE FROM dataset_version WHERE version < ?").run(oldest);
  writeMeta(db, "oldest_version", Math.max(Number(readMeta(db, "oldest_version") ?? 0), oldest));
  writeMeta(db, "diff_floor", Math.max(Number(readMeta(db, "diff_floor") ?? 0), oldest - 1));
}
