import type { Database } from "bun:sqlite";
import { ALL_COLLECTIONS, collectionDef, type VersionChange } from "../collections";
import type { DatasetVersion } from "../models";

interface VersionRow {
  version: number;
  created_at: string;
  run_id: number | null;
  counts: string | null;
}

const fromRow = (r: VersionRow): DatasetVersion => ({ version: r.version, createdAt: r.created_at, runId: r.run_id, counts: r.counts ? JSON.parse(r.counts) : null });

/**
 * The dataset versions and what each one changed. The kind of a change is read from the history:
 * a deletion row is a deletion; otherwise the item's previous history row tells an addition (none), a
 * revival (it was deleted) or a change.
 */
export class Versions {
  private readonly q;

  constructor(db: Database) {
    this.q = {
      list: db.query("SELECT version, created_at, run_id, counts FROM dataset_version WHERE version < ?1 ORDER BY version DESC LIMIT ?2"),
      one: db.query("SELECT version, created_at, run_id, counts FROM dataset_version WHERE version = ?"),
      // One statement per collection: each uses the index document_history_by_version (collection,
      // version), and the previous row of each item its primary key (collection, id, version).
      changes: new Map(
        ALL_COLLECTIONS.map((c) => {
          const label = `coalesce(${collectionDef(c).label.map((p) => `json_extract(h.content, '${p}')`).join(", ")})`;
          return [
            c,
            db.query(
              `SELECT h.id, h.is_deleted, CAST(${label} AS TEXT) AS label,
                 (SELECT p.is_deleted FROM document_history p WHERE p.collection = h.collection AND p.id = h.id AND p.version < h.version
                  ORDER BY p.version DESC LIMIT 1) AS previous
               FROM document_history h WHERE h.collection = ?1 AND h.version = ?2 ORDER BY h.id`,
            ),
          ] as const;
        }),
      ),
    };
  }

  /** Versions newest first: `limit` of them below `before` (exclusive). */
  list(limit: number, before = Number.MAX_SAFE_INTEGER): DatasetVersion[] {
    return (this.q.list.all(before, limit) as VersionRow[]).map(fromRow);
  }

  get(version: number): DatasetVersion | null {
    const row = this.q.one.get(version) as VersionRow | null;
    return row ? fromRow(row) : null;
  }

  /** Every item the version changed, by collection (in the collections' order), then id. */
  changes(version: number): VersionChange[] {
    const out: VersionChange[] = [];
    for (const [collection, query] of this.q.changes) {
      for (const r of query.all(collection, version) as Array<{ id: string; is_deleted: number; label: string | null; previous: number | null }>) {
        const change: VersionChange["change"] = r.is_deleted ? "deleted" : r.previous === null ? "added" : r.previous ? "revived" : "changed";
        out.push({ collection, id: r.id, label: r.label, change });
      }
    }
    return out;
  }
}
