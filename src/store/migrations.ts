import type { Database } from "bun:sqlite";
import { StoreError } from "../errors";

/**
 * Numbered schema migrations. `PRAGMA user_version` holds the number of the last one applied; each runs
 * in its own transaction together with the bump, so a crash mid-migration leaves the previous schema.
 * Never edit a released migration: add the next one.
 */
export const MIGRATIONS: readonly string[] = [
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
];

export const SCHEMA_VERSION = MIGRATIONS.length;

function userVersion(db: Database): number {
  return (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
}

/** Applies the migrations this file lacks; refuses a file written by a newer Nompd. */
export function migrate(db: Database, path: string): void {
  const tooNew = (found: number) =>
    new StoreError(
      `The database ${path} has schema version ${found}, but this nompd knows only up to ${SCHEMA_VERSION}. ` +
        `It was written by a newer nompd: run that version, or point --db at another file.`,
    );
  if (userVersion(db) > SCHEMA_VERSION) throw tooNew(userVersion(db));
  // Each step re-reads user_version inside its write transaction: two processes opening a new file at
  // once apply every migration exactly once.
  for (;;) {
    const applied = db.transaction(() => {
      const n = userVersion(db);
      if (n > SCHEMA_VERSION) throw tooNew(n);
      if (n === SCHEMA_VERSION) return false;
      db.exec(MIGRATIONS[n]!);
      db.exec(`PRAGMA user_version = ${n + 1}`);
      return true;
    }).immediate();
    if (!applied) return;
  }
}
