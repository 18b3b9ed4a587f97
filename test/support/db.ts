import { Database } from "bun:sqlite";
import { afterAll } from "bun:test";
import type { Collection } from "../../src/collections";
import type { CommitOptions, CommitResult } from "../../src/store/commit";
import type { Store } from "../../src/store/db";

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
  const staging = store.staging();
  try {
    const collections = Object.keys(desired) as Collection[];
    for (const collection of collections) for (const doc of desired[collection]!) staging.put(collection, doc.id, doc.json);
    staging.flush();
    return store.commit(collections, options);
  } finally {
    staging.clear();
  }
}
