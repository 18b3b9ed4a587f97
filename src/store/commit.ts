import type { Collection } from "../convert/dataset";
import { GuardError } from "../errors";
import type { Store } from "./db";
import { Staging } from "./staging";
import { isoSeconds } from "./time";

export { contentHash } from "./staging";

/** One document as a sync wants it to be: its key and its content serialized once. */
export interface DesiredDocument {
  id: string;
  json: string;
}

export interface CollectionCounts {
  fetched: number;
  added: number;
  changed: number;
  deleted: number;
  revived: number;
  unchanged: number;
  skipped: number;
  skippedReasons: Record<string, number>;
}

export function emptyCounts(): CollectionCounts {
  return { fetched: 0, added: 0, changed: 0, deleted: 0, revived: 0, unchanged: 0, skipped: 0, skippedReasons: {} };
}

export interface CommitOptions {
  /** Largest share (0..1) of a collection's live documents that one sync may delete unless forced. */
  maxDeleteShare: number;
  force: boolean;
  runId: number | null;
  now?: Date;
}

type ChangeCounts = Pick<CollectionCounts, "added" | "changed" | "deleted" | "revived" | "unchanged">;

export interface CommitResult {
  /** The new dataset version, or null when nothing changed. */
  version: number | null;
  previousVersion: number;
  lastChanged: string;
  counts: Record<string, ChangeCounts>;
}

/** The mass-deletion guard's verdict, as the error that stops the sync. */
export function guardError(collection: string, wouldDelete: number, live: number, maxShare: number, counts: Record<string, ChangeCounts>): GuardError {
  return new GuardError(
    `Sync stopped by the mass-deletion guard: it would delete ${wouldDelete} of ${live} live ${collection} ` +
      `documents (${Math.round((wouldDelete / live) * 100)}%, more than the allowed ${Math.round(maxShare * 100)}%). ` +
      `Nothing was written. If upstream really removed them, run the sync again with --force (HTTP: ?force=true), ` +
      `or raise --max-delete-share.`,
    counts,
  );
}

// A staged document and the stored one, side by side (LEFT JOIN: no stored one for a new document).
// document_state covers what the comparison reads, so the rows that carry content are not visited.
const STAGED_VS_STORED = `FROM temp.staging s LEFT JOIN main.document AS d INDEXED BY document_state ON d.collection = s.collection AND d.id = s.id WHERE s.collection = ?1`;
const WANTS_WRITE = `(d.id IS NULL OR d.is_deleted = 1 OR d.hash <> s.hash)`;
const GONE = `d.collection = ?1 AND d.is_deleted = 0 AND NOT EXISTS (SELECT 1 FROM temp.staging s WHERE s.collection = d.collection AND s.id = d.id)`;

/**
 * Commits what a sync staged, for the given collections, as one transaction (BEGIN IMMEDIATE …
 * COMMIT): every added, changed or revived document, the soft deletes, their history rows and the new
 * dataset version. The comparison and the writes are set operations in SQL, so memory does not grow
 * with the dataset. Readers in WAL mode see the old version or the new one, never a mix; a crash or
 * kill before COMMIT leaves the old version. A sync that changes nothing writes nothing and creates
 * no version. The mass-deletion guard is checked for every collection before anything is written.
 */
export function commitStaged(store: Store, collections: readonly Collection[], options: CommitOptions): CommitResult {
  const { db } = store;
  const lastChanged = isoSeconds(options.now);
  const q = {
    compare: db.query(
      `SELECT count(*) AS staged, coalesce(sum(d.id IS NULL), 0) AS added, coalesce(sum(d.is_deleted = 1), 0) AS revived,
              coalesce(sum(d.is_deleted = 0 AND d.hash <> s.hash), 0) AS changed ${STAGED_VS_STORED}`,
    ),
    gone: db.query(`SELECT count(*) AS live, coalesce(sum(NOT EXISTS (SELECT 1 FROM temp.staging s WHERE s.collection = d.collection AND s.id = d.id)), 0) AS deleted FROM main.document d WHERE d.collection = ?1 AND d.is_deleted = 0`),
    historyOfWrites: db.query(
      `INSERT INTO document_history (collection, id, version, last_changed, is_deleted, hash, content)
       SELECT s.collection, s.id, ?2, ?3, 0, s.hash, s.content ${STAGED_VS_STORED} AND ${WANTS_WRITE}`,
    ),
    historyOfDeletes: db.query(
      `INSERT INTO document_history (collection, id, version, last_changed, is_deleted, hash, content)
       SELECT d.collection, d.id, ?2, ?3, 1, d.hash, d.content FROM main.document d WHERE ${GONE}`,
    ),
    markDeleted: db.query(`UPDATE main.document AS d SET version = ?2, last_changed = ?3, is_deleted = 1 WHERE ${GONE}`),
    upsert: db.query(
      `INSERT INTO main.document (collection, id, version, last_changed, is_deleted, hash, content)
       SELECT s.collection, s.id, ?2, ?3, 0, s.hash, s.content ${STAGED_VS_STORED} AND ${WANTS_WRITE}
       ON CONFLICT (collection, id) DO UPDATE SET
         version = excluded.version, last_changed = excluded.last_changed, is_deleted = 0,
         hash = excluded.hash, content = excluded.content`,
    ),
  };

  const run = db.transaction((): CommitResult => {
    const previousVersion = store.currentVersion();
    const version = previousVersion + 1;
    const counts: Record<string, ChangeCounts> = {};
    let changes = 0;

    // 1. Compare with what is stored; nothing is written yet.
    const live: Record<string, number> = {};
    for (const collection of collections) {
      const c = q.compare.get(collection) as { staged: number; added: number; revived: number; changed: number };
      const g = q.gone.get(collection) as { live: number; deleted: number };
      const unchanged = c.staged - c.added - c.revived - c.changed;
      counts[collection] = { added: c.added, changed: c.changed, deleted: g.deleted, revived: c.revived, unchanged };
      live[collection] = g.live;
      changes += c.added + c.changed + c.revived + g.deleted;
    }
    // 2. The mass-deletion guard, for every collection, before anything is written.
    if (!options.force) {
      for (const collection of collections) {
        const { deleted } = counts[collection]!;
        const n = live[collection]!;
        if (n > 0 && deleted / n > options.maxDeleteShare) throw guardError(collection, deleted, n, options.maxDeleteShare, counts);
      }
    }
    if (changes === 0) return { version: null, previousVersion, lastChanged, counts };

    // 3. Write the new version. History rows first: they compare against the stored rows as they were.
    for (const collection of collections) {
      q.historyOfWrites.run(collection, version, lastChanged);
      q.historyOfDeletes.run(collection, version, lastChanged);
      q.markDeleted.run(collection, version, lastChanged);
      q.upsert.run(collection, version, lastChanged);
    }
    db.query("UPDATE meta SET value = ? WHERE key = 'version'").run(String(version));
    db.query("INSERT INTO dataset_version (version, created_at, run_id) VALUES (?, ?, ?)").run(version, lastChanged, options.runId);
    return { version, previousVersion, lastChanged, counts };
  });

  const result = run.immediate();
  if (result.version !== null) store.noteLocalWrite();
  return result;
}

/** Stages the given documents and commits them: the whole of a sync, for callers that hold it in memory. */
export function commitDataset(store: Store, desired: Partial<Record<Collection, DesiredDocument[]>>, options: CommitOptions): CommitResult {
  const staging = new Staging(store);
  try {
    const collections = Object.keys(desired) as Collection[];
    for (const collection of collections) for (const doc of desired[collection]!) staging.put(collection, doc.id, doc.json);
    staging.flush();
    return commitStaged(store, collections, options);
  } finally {
    staging.clear();
  }
}
