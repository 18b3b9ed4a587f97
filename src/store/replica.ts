import type { Database } from "bun:sqlite";
import { ALL_COLLECTIONS, type Collection } from "../collections";
import { SourceError, UsageError } from "../errors";
import { addVersion, forgetBefore, type ChangeCounts } from "./commit";
import { readMeta, writeMeta } from "./meta";
import { documentHash } from "./staging";
import { isoSeconds } from "./time";

/**
 * A replica's side of the store: what it stages from its primary's feeds, the one transaction that
 * applies a version of the primary, and what it notes about following (in `meta`, so that every
 * command on the file, `nompd status` among them, can tell that the database follows someone).
 *
 * A replica's documents are its primary's, row for row: the same ids, versions, lastChanged, deletions
 * and content text (the content in the history row of each document's version). Every answer made
 * from it (lists, diffs, items) is then the primary's, byte for byte. Its history holds a row for every version of a document that the replica applied;
 * versions it took in one step (two primary syncs between two pulls) leave out the rows in between.
 */

/** One item of a primary's feed, as it is stored. */
export interface FeedItem {
  id: string;
  version: number;
  lastChanged: string;
  isDeleted: boolean;
  /** The item's data as JSON text, exactly as the primary serves it. */
  content: string;
}

/** The primary's dataset at the version a replica applies. */
export interface ReplicaTarget {
  datasetId: string;
  version: number;
  /** The primary refuses diffs from before this version (X-Nompd-Diff-Floor); the replica does the same. */
  diffFloor: number;
  /** The primary serves the embedded sample dataset. */
  sample: boolean;
}

export interface ApplyOptions {
  /**
   * The replica's version the staged diffs start from, in the target's dataset; null when the staged
   * items are the primary's whole dataset (sinceVersion=0), which then replaces what is stored.
   */
  base: number | null;
  target: ReplicaTarget;
  at?: Date;
}

export type ApplyResult =
  | { applied: true; counts: Record<string, ChangeCounts> }
  /** Another process applied something first: nothing was written; look at the state again. */
  | { applied: false; reason: string };

/** What a replica knows about following, for /health and `nompd status`. */
export interface FollowStatus {
  /** The primary's URL as shown (no user info, no query). */
  primary: string;
  /** The primary's currentVersion when last seen. */
  primaryVersion: number | null;
  /** When the primary last answered. */
  lastContact: string | null;
  /** When the replica last knew it held the primary's newest version. */
  caughtUpAt: string | null;
  /** When the replica last applied a version. */
  appliedAt: string | null;
  /** Since when the primary has failed to answer (null while it answers). */
  unreachableSince: string | null;
  /** Why the last attempt failed, or null. */
  lastError: string | null;
}

const KEYS = {
  primary: "follow_url",
  primaryVersion: "follow_primary_version",
  lastContact: "follow_contact_at",
  caughtUpAt: "follow_caught_up_at",
  appliedAt: "follow_applied_at",
  unreachableSince: "follow_unreachable_since",
  lastError: "follow_error",
} as const satisfies Record<keyof FollowStatus, string>;

/** The meta key that marks a database as a replica (its value: the primary's shown URL). */
export const FOLLOW_META_KEY = KEYS.primary;

const STATE = "collection, id, version, last_changed, is_deleted, hash";
const COLUMNS = `${STATE}, content`;

/**
 * Items of a primary's feeds, as they arrive, in a TEMP table of this connection (spilled to a temp
 * file past a small cache, and outside the database file's lock). A newer version of an item replaces
 * an older one, so that a diff fetched after a full list (the primary committed in between) brings the
 * staged state up to the later version.
 */
export class ReplicaStaging {
  private readonly insert;

  constructor(private readonly db: Database) {
    db.exec(
      `CREATE TEMP TABLE IF NOT EXISTS replica_staging (
         collection TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, last_changed TEXT NOT NULL,
         is_deleted INTEGER NOT NULL, hash TEXT NOT NULL, content TEXT NOT NULL, PRIMARY KEY (collection, id))`,
    );
    db.exec("DELETE FROM temp.replica_staging");
    this.insert = db.query(
      `INSERT INTO temp.replica_staging (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (collection, id) DO UPDATE SET version = excluded.version, last_changed = excluded.last_changed,
         is_deleted = excluded.is_deleted, hash = excluded.hash, content = excluded.content
       WHERE excluded.version >= replica_staging.version`,
    );
  }

  /** Stages one feed answer's items, in one transaction. */
  put(collection: Collection, items: readonly FeedItem[]): void {
    if (items.length === 0) return;
    this.db.transaction(() => {
      for (const item of items) {
        // The same hash a sync computes, so that a later sync comparing with these rows (there is none on
        // a replica, but the column means the same everywhere) reads them right.
        const hash = documentHash(collection, item.content);
        this.insert.run(collection, item.id, item.version, item.lastChanged, item.isDeleted ? 1 : 0, hash, item.content);
      }
    })();
  }

  clear(): void {
    this.db.exec("DELETE FROM temp.replica_staging");
  }
}

/** The replica's repository: its follow status, its staging, and the apply. */
export class Replica {
  private readonly q;

  constructor(private readonly db: Database) {
    this.q = {
      deleteMeta: db.query("DELETE FROM meta WHERE key = ?"),
      follow: db.query("SELECT key, value FROM meta WHERE key LIKE 'follow\\_%' ESCAPE '\\'"),
      holds: db.query("SELECT 1 FROM dataset_version WHERE version = ?"),
    };
  }

  /** What the database notes about following, or null when it follows nobody. */
  status(): FollowStatus | null {
    const rows = new Map(this.q.follow.values() as Array<[string, string]>);
    const primary = rows.get(KEYS.primary);
    if (primary === undefined) return null;
    const version = rows.get(KEYS.primaryVersion);
    return {
      primary,
      primaryVersion: version === undefined ? null : Number(version),
      lastContact: rows.get(KEYS.lastContact) ?? null,
      caughtUpAt: rows.get(KEYS.caughtUpAt) ?? null,
      appliedAt: rows.get(KEYS.appliedAt) ?? null,
      unreachableSince: rows.get(KEYS.unreachableSince) ?? null,
      lastError: rows.get(KEYS.lastError) ?? null,
    };
  }

  /**
   * Marks the database as a replica of `shownUrl` (the primary's URL without user info). From then on
   * it never syncs or imports by itself. Refuses a database that holds data of its own (a primary's, or
   * an import), which following would replace: a replica starts from a new file or from a replica's.
   */
  follow(shownUrl: string): void {
    this.db
      .transaction(() => {
        const follows = readMeta(this.db, KEYS.primary);
        const version = Number(readMeta(this.db, "version") ?? 0);
        const sample = readMeta(this.db, "sample") === "1";
        if (follows === null && version > 0 && !sample) {
          throw new UsageError(
            `This database holds data of its own (dataset version ${version}); following ${shownUrl} would replace it. ` +
              `A replica starts from a new database file: point --db at one (or at a replica's).`,
          );
        }
        if (follows !== shownUrl) {
          writeMeta(this.db, KEYS.primary, shownUrl);
          // What was noted about another primary does not hold for this one.
          for (const key of [KEYS.unreachableSince, KEYS.lastError, KEYS.caughtUpAt]) this.q.deleteMeta.run(key);
        }
      })
      .immediate();
  }

  /** The primary answered: its currentVersion, and whether the replica holds it (caught up). */
  noteContact(primaryVersion: number, caughtUp: boolean, at: Date = new Date()): void {
    const time = isoSeconds(at);
    this.db.transaction(() => {
      writeMeta(this.db, KEYS.primaryVersion, primaryVersion);
      writeMeta(this.db, KEYS.lastContact, time);
      if (caughtUp) writeMeta(this.db, KEYS.caughtUpAt, time);
      this.q.deleteMeta.run(KEYS.unreachableSince);
      this.q.deleteMeta.run(KEYS.lastError);
    })();
  }

  /** The primary did not answer, or answered an error: noted from the first failure in a row on. */
  noteFailure(message: string, at: Date = new Date()): void {
    this.db.transaction(() => {
      if (readMeta(this.db, KEYS.unreachableSince) === null) writeMeta(this.db, KEYS.unreachableSince, isoSeconds(at));
      writeMeta(this.db, KEYS.lastError, message);
    })();
  }

  /** Whether the dataset's state at `version` is known here (a version this database made or applied). */
  holdsVersion(version: number): boolean {
    return this.q.holds.get(version) !== null;
  }

  staging(): ReplicaStaging {
    return new ReplicaStaging(this.db);
  }

  /**
   * Applies what is staged as the primary's version `target.version`, in one transaction (BEGIN
   * IMMEDIATE … COMMIT): documents and history rows with the primary's versions, lastChanged values,
   * deletions and content; a dataset_version row; the primary's dataset id, version, diff floor and
   * sample mark. A kill at any point leaves the version before or the version after, whole.
   *
   * With `base` null the staged items are the primary's whole dataset and replace what is stored: the
   * swap to a new dataset (the primary was reset or restored). Its history starts at that version, so
   * asOfVersion before it is refused.
   */
  apply(options: ApplyOptions): ApplyResult {
    const { base, target } = options;
    const at = isoSeconds(options.at);
    const db = this.db;
    return db
      .transaction((): ApplyResult => {
        const datasetId = readMeta(db, "dataset_id");
        const version = Number(readMeta(db, "version") ?? 0);
        if (base !== null && (datasetId !== target.datasetId || version !== base)) {
          return { applied: false, reason: `the database moved to ${datasetId}@${version} while the replica fetched from ${target.datasetId}@${base}` };
        }
        const outside = db
          .query(`SELECT collection, id, version FROM temp.replica_staging WHERE version > ?1 OR version <= ?2 LIMIT 1`)
          .get(target.version, base ?? 0) as { collection: string; id: string; version: number } | null;
        if (outside) {
          throw new SourceError(
            `The primary sent ${outside.collection} "${outside.id}" at version ${outside.version}, outside the versions ${(base ?? 0) + 1}..${target.version} it was asked for. Nothing was applied.`,
          );
        }
        const counts = this.countChanges(base === null);
        if (base === null) {
          // The runs were those of the data being replaced (a replica records none of its own).
          db.exec("DELETE FROM document; DELETE FROM document_history; DELETE FROM dataset_version; DELETE FROM sync_run;");
        }
        db.exec(`INSERT OR REPLACE INTO document_history (${COLUMNS}) SELECT ${COLUMNS} FROM temp.replica_staging`);
        // The content is in the history row just written (see migration 7).
        db.exec(
          `INSERT INTO document (${STATE}) SELECT ${STATE} FROM temp.replica_staging WHERE true
           ON CONFLICT (collection, id) DO UPDATE SET version = excluded.version, last_changed = excluded.last_changed,
             is_deleted = excluded.is_deleted, hash = excluded.hash`,
        );
        if (target.version > 0 && (base === null || target.version > base)) {
          addVersion(db, target.version, at, null, counts);
        }
        writeMeta(db, "dataset_id", target.datasetId);
        writeMeta(db, "version", target.version);
        writeMeta(db, "sample", target.sample ? "1" : "0");
        if (base === null) {
          writeMeta(db, "diff_floor", target.diffFloor);
          writeMeta(db, "oldest_version", target.version);
        } else if (target.diffFloor > Number(readMeta(db, "diff_floor") ?? 0)) {
          // The primary pruned its history: forget the same, so that old diffs are refused here too and
          // the tombstones it forgot are not served from here.
          forgetBefore(db, target.diffFloor + 1);
        }
        writeMeta(db, KEYS.primaryVersion, target.version);
        writeMeta(db, KEYS.lastContact, at);
        writeMeta(db, KEYS.caughtUpAt, at);
        writeMeta(db, KEYS.appliedAt, at);
        this.q.deleteMeta.run(KEYS.unreachableSince);
        this.q.deleteMeta.run(KEYS.lastError);
        return { applied: true, counts };
      })
      .immediate();
  }

  /** What the staged items do to what is stored, per collection (for the dataset_version row). */
  private countChanges(replacing: boolean): Record<string, ChangeCounts> {
    const counts: Record<string, ChangeCounts> = Object.fromEntries(ALL_COLLECTIONS.map((c) => [c, { added: 0, changed: 0, deleted: 0, revived: 0, unchanged: 0 }]));
    const rows = this.db
      .query(
        replacing
          ? `SELECT collection, sum(is_deleted = 0) AS added, 0 AS changed, sum(is_deleted = 1) AS deleted, 0 AS revived FROM temp.replica_staging GROUP BY collection`
          : `SELECT s.collection, sum(d.id IS NULL AND s.is_deleted = 0) AS added, sum(d.is_deleted = 0 AND s.is_deleted = 0) AS changed,
                    sum(s.is_deleted = 1) AS deleted, sum(d.is_deleted = 1 AND s.is_deleted = 0) AS revived
             FROM temp.replica_staging s LEFT JOIN main.document d ON d.collection = s.collection AND d.id = s.id GROUP BY s.collection`,
      )
      .all() as Array<{ collection: string } & Omit<ChangeCounts, "unchanged">>;
    for (const { collection, ...n } of rows) counts[collection] = { ...n, unchanged: 0 };
    return counts;
  }
}
