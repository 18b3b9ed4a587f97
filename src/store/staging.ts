import { isRawCollection, type Collection } from "../collections";
import { isObj } from "../fhir/read";
import type { Database } from "bun:sqlite";

function contentHash(json: string): string {
  return Bun.SHA256.hash(json, "hex") as string;
}

/**
 * The hash stored with a document, which tells whether it changed: of its change text (see
 * changeText). `parsed`: the content as an object, when the caller has it (saves parsing it again).
 */
export function documentHash(collection: string, json: string, parsed?: unknown): string {
  return contentHash(changeText(collection, json, parsed));
}

/**
 * The text whose hash tells whether a document changed. For raw upstream resources that is the resource
 * without meta.versionId and meta.lastUpdated: an upstream that rewrites only those (say, on every
 * export) has changed nothing a reader uses, so it makes no new version.
 */
function changeText(collection: string, json: string, parsed?: unknown): string {
  if (!isRawCollection(collection) || !json.includes('"meta"')) return json;
  const content = parsed ?? JSON.parse(json);
  const meta = isObj(content) ? content.meta : undefined;
  if (!isObj(meta) || !("versionId" in meta || "lastUpdated" in meta)) return json;
  const { versionId: _v, lastUpdated: _l, ...rest } = meta;
  return JSON.stringify({ ...(content as object), meta: rest });
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
  private readonly insertUnlessStored;
  private pending: Array<[Collection, string, string, string]> = [];

  /** `keepContent`: stage every document's content, also when it equals the stored one (the stored ones are about to go). */
  constructor(
    private readonly db: Database,
    private readonly keepContent = false,
  ) {
    // WITHOUT ROWID: the table is its key, one B-tree rather than a table and an index, so both the
    // staging and the commit's comparison touch half the pages.
    db.exec(
      "CREATE TEMP TABLE IF NOT EXISTS staging (collection TEXT NOT NULL, id TEXT NOT NULL, hash TEXT NOT NULL, content TEXT, PRIMARY KEY (collection, id)) WITHOUT ROWID",
    );
    db.exec("DELETE FROM temp.staging");
    this.insert = db.query("INSERT OR REPLACE INTO temp.staging (collection, id, hash, content) VALUES (?, ?, ?, ?)");
    // The lookup of the stored hash and the insert in one statement: one call per document.
    this.insertUnlessStored = db.query(
      `INSERT OR REPLACE INTO temp.staging (collection, id, hash, content) VALUES (?1, ?2, ?3,
         CASE WHEN EXISTS (SELECT 1 FROM main.document WHERE collection = ?1 AND id = ?2 AND is_deleted = 0 AND hash = ?3)
         THEN NULL ELSE ?4 END)`,
    );
  }

  /**
   * Queues a document; flush() writes the queue in one transaction (a page at a time is cheap).
   * `parsed`: the content as an object, when the caller has it (saves parsing it again).
   */
  put(collection: Collection, id: string, json: string, parsed?: unknown): void {
    this.pending.push([collection, id, json, documentHash(collection, json, parsed)]);
    if (this.pending.length >= 1000) this.flush();
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const rows = this.pending;
    this.pending = [];
    this.db.transaction(() => {
      for (const [collection, id, json, hash] of rows) {
        (this.keepContent ? this.insert : this.insertUnlessStored).run(collection, id, hash, json);
      }
    })();
  }

  clear(): void {
    this.pending = [];
    this.db.exec("DELETE FROM temp.staging");
  }
}
