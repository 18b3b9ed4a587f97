import type { Collection } from "../convert/dataset";
import type { Store } from "./db";

export function contentHash(json: string): string {
  return new Bun.CryptoHasher("sha256").update(json).digest("hex");
}

/**
 * Where a sync puts the documents it wants, as they arrive, before it compares and commits them: a
 * TEMP table of this connection. It lives in SQLite's temp database (spilled to a temp file past a
 * small cache), so a sync's memory stays bounded whatever the upstream's size, and filling it takes
 * no lock on the database file. One Staging at a time per connection (the sync lock sees to that).
 */
export class Staging {
  private readonly insert;
  private pending: Array<[Collection, string, string]> = [];

  constructor(private readonly store: Store) {
    store.db.exec(
      "CREATE TEMP TABLE IF NOT EXISTS staging (collection TEXT NOT NULL, id TEXT NOT NULL, hash TEXT NOT NULL, content TEXT NOT NULL, PRIMARY KEY (collection, id))",
    );
    store.db.exec("DELETE FROM temp.staging");
    this.insert = store.db.query("INSERT OR REPLACE INTO temp.staging (collection, id, hash, content) VALUES (?, ?, ?, ?)");
  }

  /** Queues a document; flush() writes the queue in one transaction (a page at a time is cheap). */
  put(collection: Collection, id: string, json: string): void {
    this.pending.push([collection, id, json]);
    if (this.pending.length >= 1000) this.flush();
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const rows = this.pending;
    this.pending = [];
    this.store.db.transaction(() => {
      for (const [collection, id, json] of rows) this.insert.run(collection, id, contentHash(json), json);
    })();
  }

  /** Staged documents of one collection, streamed. */
  *documents(collection: Collection): Generator<{ id: string; content: string }> {
    this.flush();
    yield* this.store.db.query("SELECT id, content FROM temp.staging WHERE collection = ? ORDER BY rowid").iterate(collection) as Iterable<{ id: string; content: string }>;
  }

  clear(): void {
    this.pending = [];
    this.store.db.exec("DELETE FROM temp.staging");
  }
}
