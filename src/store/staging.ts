import type { Collection } from "../convert/dataset";
import type { Store } from "./db";

export function contentHash(json: string): string {
  return new Bun.CryptoHasher("sha256").update(json).digest("hex");
}

/**
 * Where a sync puts the documents it wants, as they arrive, before it compares and commits them: a
 * TEMP table of this connection. It lives in SQLite's temp database (spilled to a temp file past a
 * small cache), so a sync's memory stays bounded whatever the upstream's size, and filling it takes
 * no lock on the database file. A document whose hash equals the stored live one is staged without its
 * content (only its presence counts), so a sync that changes little writes little. One Staging at a
 * time per connection (the sync lock sees to that, and to nobody else changing the stored documents
 * before the commit).
 */
export class Staging {
  private readonly insert;
  private readonly stored;
  private pending: Array<[Collection, string, string]> = [];

  constructor(private readonly store: Store) {
    store.db.exec(
      "CREATE TEMP TABLE IF NOT EXISTS staging (collection TEXT NOT NULL, id TEXT NOT NULL, hash TEXT NOT NULL, content TEXT, PRIMARY KEY (collection, id))",
    );
    store.db.exec("DELETE FROM temp.staging");
    this.insert = store.db.query("INSERT OR REPLACE INTO temp.staging (collection, id, hash, content) VALUES (?, ?, ?, ?)");
    this.stored = store.db.query("SELECT hash FROM main.document INDEXED BY document_state WHERE collection = ? AND id = ? AND is_deleted = 0");
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
      for (const [collection, id, json] of rows) {
        const hash = contentHash(json);
        const unchanged = (this.stored.get(collection, id) as { hash: string } | null)?.hash === hash;
        this.insert.run(collection, id, hash, unchanged ? null : json);
      }
    })();
  }

  clear(): void {
    this.pending = [];
    this.store.db.exec("DELETE FROM temp.staging");
  }
}
