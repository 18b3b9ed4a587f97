import type { Collection } from "../convert/dataset";
import type { Store } from "./db";
import { isoSeconds } from "./time";

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

export interface CommitResult {
  /** The new dataset version, or null when nothing changed. */
  version: number | null;
  previousVersion: number;
  lastChanged: string;
  counts: Record<string, Pick<CollectionCounts, "added" | "changed" | "deleted" | "revived" | "unchanged">>;
}

export class MassDeletionError extends Error {
  constructor(
    readonly collection: string,
    readonly wouldDelete: number,
    readonly live: number,
    readonly maxShare: number,
  ) {
    super(
      `Sync stopped by the mass-deletion guard: it would delete ${wouldDelete} of ${live} live ${collection} ` +
        `documents (${Math.round((wouldDelete / live) * 100)}%, more than the allowed ${Math.round(maxShare * 100)}%). ` +
        `Nothing was written. If upstream really removed them, run the sync again with --force (HTTP: ?force=true), ` +
        `or raise --max-delete-share.`,
    );
  }
}

export function contentHash(json: string): string {
  return new Bun.CryptoHasher("sha256").update(json).digest("hex");
}

interface ExistingRow {
  id: string;
  hash: string;
  is_deleted: number;
}

/**
 * Writes a whole sync as one transaction (BEGIN IMMEDIATE … COMMIT): every changed document of every
 * collection, the soft deletes, the history rows and the new dataset version. Readers in WAL mode see
 * the old version or the new one, never a mix; a crash or kill before COMMIT leaves the old version.
 * A sync that changes nothing writes nothing and creates no version.
 */
export function commitDataset(store: Store, desired: Record<Collection, DesiredDocument[]>, options: CommitOptions): CommitResult {
  const { db } = store;
  const lastChanged = isoSeconds(options.now);
  const selectExisting = db.query("SELECT id, hash, is_deleted FROM document WHERE collection = ?");
  const upsert = db.query(
    `INSERT INTO document (collection, id, version, last_changed, is_deleted, hash, content)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
     ON CONFLICT (collection, id) DO UPDATE SET
       version = excluded.version, last_changed = excluded.last_changed, is_deleted = excluded.is_deleted,
       hash = excluded.hash, content = excluded.content`,
  );
  const markDeleted = db.query("UPDATE document SET version = ?3, last_changed = ?4, is_deleted = 1 WHERE collection = ?1 AND id = ?2");
  const historyRow = db.query(
    `INSERT INTO document_history (collection, id, version, last_changed, is_deleted, hash, content)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)`,
  );
  const historyDeleted = db.query(
    `INSERT INTO document_history (collection, id, version, last_changed, is_deleted, hash, content)
     SELECT collection, id, version, last_changed, 1, hash, content FROM document WHERE collection = ?1 AND id = ?2`,
  );

  const run = db.transaction((): CommitResult => {
    const previousVersion = store.currentVersion();
    const version = previousVersion + 1;
    const counts: CommitResult["counts"] = {};
    type Write = { id: string; json: string; hash: string; op: "add" | "change" | "revive" };
    const plan: Array<{ collection: Collection; writes: Write[]; deletes: string[] }> = [];

    // 1. Compare with what is stored; nothing is written yet.
    for (const collection of Object.keys(desired) as Collection[]) {
      const existing = new Map<string, ExistingRow>();
      let live = 0;
      for (const row of selectExisting.all(collection) as ExistingRow[]) {
        existing.set(row.id, row);
        if (!row.is_deleted) live++;
      }
      const c = { added: 0, changed: 0, deleted: 0, revived: 0, unchanged: 0 };
      const writes: Write[] = [];
      const present = new Set<string>();
      for (const doc of desired[collection]) {
        present.add(doc.id);
        const hash = contentHash(doc.json);
        const old = existing.get(doc.id);
        if (!old) {
          c.added++;
          writes.push({ id: doc.id, json: doc.json, hash, op: "add" });
        } else if (old.is_deleted) {
          c.revived++;
          writes.push({ id: doc.id, json: doc.json, hash, op: "revive" });
        } else if (old.hash !== hash) {
          c.changed++;
          writes.push({ id: doc.id, json: doc.json, hash, op: "change" });
        } else {
          c.unchanged++;
        }
      }
      const deletes: string[] = [];
      for (const row of existing.values()) {
        if (!row.is_deleted && !present.has(row.id)) deletes.push(row.id);
      }
      c.deleted = deletes.length;
      // 2. The mass-deletion guard, per collection, before anything is written.
      if (!options.force && live > 0 && deletes.length / live > options.maxDeleteShare) {
        throw new MassDeletionError(collection, deletes.length, live, options.maxDeleteShare);
      }
      counts[collection] = c;
      plan.push({ collection, writes, deletes });
    }

    if (plan.every((p) => p.writes.length === 0 && p.deletes.length === 0)) {
      return { version: null, previousVersion, lastChanged, counts };
    }

    // 3. Write the new version.
    for (const { collection, writes, deletes } of plan) {
      for (const w of writes) {
        upsert.run(collection, w.id, version, lastChanged, 0, w.hash, w.json);
        historyRow.run(collection, w.id, version, lastChanged, 0, w.hash, w.json);
      }
      for (const id of deletes) {
        markDeleted.run(collection, id, version, lastChanged);
        historyDeleted.run(collection, id);
      }
    }
    db.query("UPDATE meta SET value = ? WHERE key = 'version'").run(String(version));
    db.query("INSERT INTO dataset_version (version, created_at, run_id) VALUES (?, ?, ?)").run(version, lastChanged, options.runId);
    return { version, previousVersion, lastChanged, counts };
  });

  const result = run.immediate();
  if (result.version !== null) store.noteLocalWrite();
  return result;
}
