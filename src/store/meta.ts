import type { Database } from "bun:sqlite";

/**
 * The `meta` table's values one at a time (dataset id, version, sample mark, diff floor, oldest
 * version, what a replica notes), for writers inside their transaction. Store.state() reads them all
 * at once for readers.
 */
export function readMeta(db: Database, key: string): string | null {
  return (db.query("SELECT value FROM meta WHERE key = ?").get(key) as { value: string } | null)?.value ?? null;
}

export function writeMeta(db: Database, key: string, value: string | number): void {
  db.query("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)").run(key, String(value));
}
