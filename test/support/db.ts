import { Database } from "bun:sqlite";
import { afterAll } from "bun:test";
import type { Collection } from "../../src/collections";
import type { CommitOptions, CommitResult } from "../../src/store/commit";
import type { Store } from "../../src/store/db";
import { ITS_HISTORY_ROW } from "../../src/store/documents";

/**
 * A second connection to a database file, for tests that look at (or set up) what is stored, as another
 * process would. Closed after the test file.
 */
export function sqlite(path: string): Database {
  const db = new Database(path, { strict: true });
  db.exec("PRAGMA busy_timeout = 10000");
  afterAll(() => db.close());
  return db;
}

/** Stages the given documents (id, JSON text) and commits them through the store, as a sync does. */
export function commitDocs(store: Store, desired: Partial<Record<Collection, Array<{ id: string; json: string }>>>, options: CommitOptions): CommitResult {
  const staging = store.staging(options.sample);
  try {
    const collections = Object.keys(desired) as Collection[];
    for (const collection of collections) for (const doc of desired[collection]!) staging.put(collection, doc.id, doc.json);
    staging.finish();
    return store.commit(collections, options);
  } finally {
    staging.clear();
  }
}

/**
 * Stored documents whose current version has no history row of the same state: the content a document
 * is served with lives in that row (see migration 7), so the answer must always be none.
 */
export function withoutHistory(path: string): Array<{ collection: string; id: string; version: number }> {
  return sqlite(path)
    .query(
      `SELECT d.collection, d.id, d.version FROM document d
       LEFT JOIN document_history h ON ${ITS_HISTORY_ROW}
       WHERE h.id IS NULL OR h.is_deleted <> d.is_deleted OR h.hash <> d.hash OR h.last_changed <> d.last_changed`,
    )
    .all() as Array<{ collection: string; id: string; version: number }>;
}
