import type { Collection } from "../collections";
import type { Database, Statement } from "bun:sqlite";

/**
 * A stored document's state and content (the JSON text), column by column: the store as it is (its tests
 * read it so). The API answers with `Documents.items`.
 */
export interface DocumentRow {
  id: string;
  version: number;
  last_changed: string;
  is_deleted: number;
  content: string;
}

/**
 * A stored document as the API answers it: its versioned item, `{"data":…,"version":…,"lastChanged":…,
 * "isDeleted":…}`, as UTF-8 bytes (made by SQLite from the stored text, which is spliced in unparsed and
 * is never decoded into a JavaScript string and encoded again: a Nompd database's text is UTF-8, SQLite's
 * default, so CAST AS BLOB gives those bytes), and whether it is deleted. A replica's feed reader reads the
 * same shape (src/follow/feed.ts).
 */
export interface ItemRow {
  item: Uint8Array;
  deleted: boolean;
}

/**
 * Where a stored document `d` finds its content: the history row `h` of its current version (see
 * migration 7), which the document names by its version.
 */
export const ITS_HISTORY_ROW = "h.collection = d.collection AND h.id = d.id AND h.version = d.version";

/** What a read selects: its columns, from the table (alias) with the state and the one with the content. */
type Columns = (state: string, content: string) => string;

const ROW: Columns = (s, c) => `${s}.id, ${s}.version, ${s}.last_changed, ${s}.is_deleted, ${c}.content`;
// last_changed is an ISO-8601 time, of this store's syncs or of a primary's items, which a replica takes
// only without a quote or backslash (src/follow/feed.ts): nothing in it needs escaping in JSON. The
// columns' order is read by position (ItemValues).
const ITEM: Columns = (s, c) =>
  `CAST('{"data":' || ${c}.content || ',"version":' || ${s}.version || ',"lastChanged":"' || ${s}.last_changed || '","isDeleted":' || ` +
  `CASE WHEN ${s}.is_deleted THEN 'true' ELSE 'false' END || '}' AS BLOB), ${s}.is_deleted`;

/**
 * The reads, each one statement (one snapshot), written once for both shapes. A document's current state
 * with its content: CROSS JOIN keeps `document` the outer loop (its key or document_by_version gives the
 * order), one history lookup per row.
 */
const CURRENT = `FROM document d CROSS JOIN document_history h ON ${ITS_HISTORY_ROW}`;
const READS = {
  live: (cols: Columns) => `SELECT ${cols("d", "h")} ${CURRENT} WHERE d.collection = ? AND d.is_deleted = 0 ORDER BY d.id`,
  // Served by the index document_by_version (collection, version, id).
  since: (cols: Columns) => `SELECT ${cols("d", "h")} ${CURRENT} WHERE d.collection = ? AND d.version > ? ORDER BY d.version, d.id`,
  one: (cols: Columns) => `SELECT ${cols("d", "h")} ${CURRENT} WHERE d.collection = ? AND d.id = ?`,
  history: (cols: Columns) => `SELECT ${cols("h", "h")} FROM document_history h WHERE collection = ? AND id = ? ORDER BY version DESC`,
  // SQLite's bare-column rule: with MAX(version), the other columns come from the row that has it.
  asOf: (cols: Columns) =>
    `SELECT ${cols("x", "x")} FROM (
       SELECT id, MAX(version) AS version, last_changed, is_deleted, content
       FROM document_history WHERE collection = ? AND version <= ? GROUP BY id
     ) x WHERE is_deleted = 0 ORDER BY id`,
};

type ReadName = keyof typeof READS;

/** A row of the item shape: the item, and is_deleted (ITEM's columns, in order). */
type ItemValues = [Uint8Array, number];
const itemsOf = (rows: ItemValues[]): Uint8Array[] => rows.map((r) => r[0]);

/**
 * Read-only queries over the versioned documents. Each method is one statement, i.e. one snapshot;
 * Store.snapshot() puts several in one. `items` gives the same reads as the API answers them.
 */
export class Documents {
  private readonly countsQuery;

  constructor(private readonly db: Database) {
    this.countsQuery = db.query("SELECT collection, SUM(is_deleted = 0) AS live, SUM(is_deleted) AS deleted FROM document GROUP BY collection");
  }

  /** A read in the row shape; bun:sqlite prepares each statement once and keeps it (Database.query). */
  private q(name: ReadName): Statement<DocumentRow> {
    return this.db.query(READS[name](ROW)) as Statement<DocumentRow>;
  }

  live(collection: Collection): DocumentRow[] {
    return this.q("live").all(collection);
  }

  since(collection: Collection, version: number): DocumentRow[] {
    return this.q("since").all(collection, version);
  }

  one(collection: Collection, id: string): DocumentRow | null {
    return this.q("one").get(collection, id) ?? null;
  }

  history(collection: Collection, id: string): DocumentRow[] {
    return this.q("history").all(collection, id);
  }

  asOf(collection: Collection, version: number): DocumentRow[] {
    return this.q("asOf").all(collection, version);
  }

  /** The reads above as versioned items (see ItemRow), in the same order. */
  readonly items = {
    live: (collection: Collection): Uint8Array[] => itemsOf(this.itemValues("live", collection)),
    since: (collection: Collection, version: number): Uint8Array[] => itemsOf(this.itemValues("since", collection, version)),
    one: (collection: Collection, id: string): ItemRow | null => {
      const row = this.itemValues("one", collection, id)[0];
      return row ? { item: row[0], deleted: row[1] !== 0 } : null;
    },
    history: (collection: Collection, id: string): Uint8Array[] => itemsOf(this.itemValues("history", collection, id)),
    asOf: (collection: Collection, version: number): Uint8Array[] => itemsOf(this.itemValues("asOf", collection, version)),
  };

  /** Each row of a read in the item shape: [item, is_deleted]. */
  private itemValues(name: ReadName, ...params: Array<string | number>): ItemValues[] {
    return this.db.query(READS[name](ITEM)).values(...params) as ItemValues[];
  }

  counts(): Record<string, { live: number; deleted: number }> {
    const out: Record<string, { live: number; deleted: number }> = {};
    for (const row of this.countsQuery.all() as Array<{ collection: string; live: number; deleted: number }>) {
      out[row.collection] = { live: row.live, deleted: row.deleted };
    }
    return out;
  }
}
