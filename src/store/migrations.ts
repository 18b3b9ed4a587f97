import type { Database } from "bun:sqlite";
import { StoreError } from "../errors";
import { RAW_COLLECTIONS } from "../collections";
import { documentHash } from "./staging";

/**
 * Numbered schema migrations. `PRAGMA user_version` holds the number of the last one applied; each runs
 * in its own transaction together with the bump, so a crash mid-migration leaves the previous schema.
 * Never edit a released migration: add the next one.
 */
export const MIGRATIONS: ReadonlyArray<string | ((db: Database) => void)> = [
  // 1: documents, their history, dataset versions, sync runs, API keys, the cross-process sync lock.
  `
  CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) WITHOUT ROWID;

  -- The current state of every document ever seen, deleted ones included (soft delete keeps content).
  CREATE TABLE document (
    collection   TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    last_changed TEXT    NOT NULL,
    is_deleted   INTEGER NOT NULL,
    hash         TEXT    NOT NULL,
    content      TEXT    NOT NULL,
    UNIQUE (collection, id)
  );
  CREATE INDEX document_by_version ON document (collection, version, id);

  -- One row per change of a document: add, change, delete, revive.
  CREATE TABLE document_history (
    collection   TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    last_changed TEXT    NOT NULL,
    is_deleted   INTEGER NOT NULL,
    hash         TEXT    NOT NULL,
    content      TEXT    NOT NULL,
    PRIMARY KEY (collection, id, version)
  );
  CREATE INDEX document_history_by_version ON document_history (collection, version);

  CREATE TABLE dataset_version (
    version    INTEGER PRIMARY KEY,
    created_at TEXT    NOT NULL,
    run_id     INTEGER
  );

  CREATE TABLE sync_run (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    trigger     TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    status      TEXT NOT NULL,
    version     INTEGER,
    counts      TEXT,
    error       TEXT
  );

  CREATE TABLE api_key (
    name       TEXT PRIMARY KEY,
    scope      TEXT NOT NULL CHECK (scope IN ('read', 'admin')),
    hash       TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
  );

  CREATE TABLE sync_lock (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    pid        INTEGER NOT NULL,
    host       TEXT    NOT NULL,
    trigger    TEXT    NOT NULL,
    started_at TEXT    NOT NULL
  );
  `,
  // 2: the lock also records when its process started, so that a reused pid is not taken for the holder.
  `
  ALTER TABLE sync_lock ADD COLUMN process_start TEXT;
  `,
  // 3: the holder renews the lock while it works; a lock not renewed for long is stale, from any host.
  `
  ALTER TABLE sync_lock ADD COLUMN renewed_at TEXT;
  `,
  // 4: what a sync compares (is it there, is it live, what hash) read from an index alone, without
  // visiting the rows that carry the content.
  `
  CREATE INDEX document_state ON document (collection, id, is_deleted, hash);
  `,
  // 5: a revoked key stays on record when its name is given to a new key, and keys note their last use;
  // the sync lock is fenced by a random token, and names its pid namespace (pids of two containers on
  // one host are not comparable); a run names the lock it held; a version records its change counts.
  `
  CREATE TABLE api_key_v5 (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    scope        TEXT NOT NULL CHECK (scope IN ('read', 'admin')),
    hash         TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    revoked_at   TEXT,
    last_used_at TEXT
  );
  INSERT INTO api_key_v5 (name, scope, hash, created_at, revoked_at) SELECT name, scope, hash, created_at, revoked_at FROM api_key;
  DROP TABLE api_key;
  ALTER TABLE api_key_v5 RENAME TO api_key;
  CREATE UNIQUE INDEX api_key_active_name ON api_key (name) WHERE revoked_at IS NULL;
  ALTER TABLE sync_lock ADD COLUMN token TEXT;
  ALTER TABLE sync_lock ADD COLUMN pid_ns TEXT;
  ALTER TABLE sync_run ADD COLUMN lock_token TEXT;
  ALTER TABLE dataset_version ADD COLUMN counts TEXT;
  `,
  // 6: a raw resource's change is told without meta.versionId and meta.lastUpdated (see changeText):
  // the stored hashes follow that rule, so that the first sync after the upgrade makes no version for it.
  // Only raw resources whose text names "meta" can hash otherwise now; one row at a time, in rowid order
  // (NOT INDEXED: the UPDATE changes a column of the document_state index).
  (db) => {
    const rows = db
      .query(`SELECT rowid, collection, content, hash FROM document NOT INDEXED WHERE collection IN (${RAW_COLLECTIONS.map(() => "?").join(", ")}) AND content LIKE '%"meta"%'`)
      .iterate(...RAW_COLLECTIONS) as IterableIterator<{ rowid: number; collection: string; content: string; hash: string }>;
    const update = db.query("UPDATE document SET hash = ? WHERE rowid = ?");
    for (const row of rows) {
      const hash = documentHash(row.collection, row.content);
      if (hash !== row.hash) update.run(hash, row.rowid);
    }
  },
  // 7: content is stored once, in the history row of each document's current version (the row every
  // write makes with it); `document` keeps the state a sync compares and the version that names that
  // row, keyed by (collection, id) itself (WITHOUT ROWID), which also serves what document_state did.
  // A current version without its history row (only files written before history existed) gets one; one
  // whose row differs (migration 6 re-hashed only the documents) gets the document's state.
  `
  INSERT INTO document_history AS h (collection, id, version, last_changed, is_deleted, hash, content)
    SELECT collection, id, version, last_changed, is_deleted, hash, content FROM document WHERE true
    ON CONFLICT (collection, id, version) DO UPDATE SET
      last_changed = excluded.last_changed, is_deleted = excluded.is_deleted, hash = excluded.hash, content = excluded.content
    WHERE h.last_changed IS NOT excluded.last_changed OR h.is_deleted IS NOT excluded.is_deleted
       OR h.hash IS NOT excluded.hash OR h.content IS NOT excluded.content;
  CREATE TABLE document_v7 (
    collection   TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    last_changed TEXT    NOT NULL,
    is_deleted   INTEGER NOT NULL,
    hash         TEXT    NOT NULL,
    PRIMARY KEY (collection, id)
  ) WITHOUT ROWID;
  INSERT INTO document_v7 (collection, id, version, last_changed, is_deleted, hash)
    SELECT collection, id, version, last_changed, is_deleted, hash FROM document;
  DROP TABLE document;
  ALTER TABLE document_v7 RENAME TO document;
  CREATE INDEX document_by_version ON document (collection, version, id);
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** How long a connection waits for another's write before it gives up (SQLITE_BUSY). */
export const BUSY_TIMEOUT_MS = 10_000;

function userVersion(db: Database): number {
  return (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
}

const tooNew = (path: string, found: number) =>
  new StoreError(
    `The database ${path} has schema version ${found}, but this nompd knows only up to ${SCHEMA_VERSION}. ` +
      `It was written by a newer nompd: run that version, or point --db at another file.`,
  );

/**
 * For commands that only read (status, keys list): the file must have exactly this Nompd's schema, since
 * they never migrate it. An older file is upgraded by any command that writes (serve, sync, import,
 * keys create), after a backup with the nompd that wrote it.
 */
export function checkSchema(db: Database, path: string): void {
  const found = userVersion(db);
  if (found > SCHEMA_VERSION) throw tooNew(path, found);
  if (found < SCHEMA_VERSION) {
    throw new StoreError(
      `The database ${path} has schema version ${found}; this nompd reads version ${SCHEMA_VERSION}, and this command never upgrades a database. ` +
        `Back it up ('nompd backup FILE' works on any version), then run 'nompd serve' or 'nompd sync' once to upgrade it; or use the nompd that wrote it.`,
    );
  }
}

/** Applies the migrations this file lacks; refuses a file written by a newer Nompd. */
export function migrate(db: Database, path: string): void {
  const found = userVersion(db);
  if (found > SCHEMA_VERSION) throw tooNew(path, found);
  // Current already: no write transaction (which would wait for any other writer of the file).
  if (found === SCHEMA_VERSION) return;
  // Each step re-reads user_version inside its write transaction: two processes opening a new file at
  // once apply every migration exactly once.
  for (;;) {
    const applied = db.transaction(() => {
      const n = userVersion(db);
      if (n > SCHEMA_VERSION) throw tooNew(path, n);
      if (n === SCHEMA_VERSION) return false;
      const step = MIGRATIONS[n]!;
      if (typeof step === "string") db.exec(step);
      else step(db);
      db.exec(`PRAGMA user_version = ${n + 1}`);
      return true;
    }).immediate();
    if (!applied) return;
  }
}
