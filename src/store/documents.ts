import type { Collection } from "../collections";
import type { Database } from "bun:sqlite";

/** A stored document as the API needs it: content is the JSON text, spliced into responses unparsed. */
export interface DocumentRow {
  id: string;
  version: number;
  last_changed: string;
  is_deleted: number;
  content: string;
}

const COLUMNS = "id, version, last_changed, is_deleted, content";

/**
 * Where a stored document `d` finds its content: the history row `h` of its current version (see
 * migration 7), which the document names by its version.
 */
export const ITS_HISTORY_ROW = "h.collection = d.collection AND h.id = d.id AND h.version = d.version";

/**
 * A document's state with its content. CROSS JOIN keeps `document` the outer loop (its key or
 * document_by_version gives the order), one history lookup per row.
 */
const CURRENT = `SELECT d.id, d.version, d.last_changed, d.is_deleted, h.content FROM document d CROSS JOIN document_history h ON ${ITS_HISTORY_ROW}`;

/**
 * Read-only queries over the versioned documents. Each method is one statement, i.e. one snapshot;
 * Store.snapshot() puts several in one.
 */
export class Documents {
  private readonly q;

  constructor(db: Database) {
    this.q = {
      live: db.query(`${CURRENT} WHERE d.collection = ? AND d.is_deleted = 0 ORDER BY d.id`),
      // Served by the index document_by_version (collection, version, id).
      since: db.query(`${CURRENT} WHERE d.collection = ? AND d.version > ? ORDER BY d.version, d.id`),
      one: db.query(`${CURRENT} WHERE d.collection = ? AND d.id = ?`),
      history: db.query(`SELECT ${COLUMNS} FROM document_history WHERE collection = ? AND id = ? ORDER BY version DESC`),
      // SQLite's bare-column rule: with MAX(version), the other columns come from the row that has it.
      asOf: db.query(
        `SELECT ${COLUMNS} FROM (
           SELECT id, MAX(version) AS version, last_changed, is_deleted, content
           FROM document_history WHERE collection = ? AND version <= ? GROUP BY id
         ) WHERE is_deleted = 0 ORDER BY id`,
      ),
      counts: db.query(
        "SELECT collection, SUM(is_deleted = 0) AS live, SUM(is_deleted) AS deleted FROM document GROUP BY collection",
      ),
    };
  }

  live(collection: Collection): DocumentRow[] {
    return this.q.live.all(collection) as DocumentRow[];
  }

  since(collection: Collection, version: number): DocumentRow[] {
    return this.q.since.all(collection, version) as DocumentRow[];
  }

  one(collection: Collection, id: string): DocumentRow | null {
    return (this.q.one.get(collection, id) as DocumentRow | null) ?? null;
  }

  history(collection: Collection, id: string): DocumentRow[] {
    return this.q.history.all(collection, id) as DocumentRow[];
  }

  asOf(collection: Collection, version: number): DocumentRow[] {
    return this.q.asOf.all(collection, version) as DocumentRow[];
  }

  counts(): Record<string, { live: number; deleted: number }> {
    const out: Record<string, { live: number; deleted: number }> = {};
    for (const row of this.q.counts.all() as Array<{ collection: string; live: number; deleted: number }>) {
      out[row.collection] = { live: row.live, deleted: row.deleted };
    }
    return out;
  }
}
