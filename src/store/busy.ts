import type { Database } from "bun:sqlite";
import { StoreError } from "../errors";
import { BUSY_TIMEOUT_MS } from "./migrations";

/** SQLite's "another connection holds the write lock" (after the busy timeout ran out). */
export function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === "SQLITE_BUSY" || /database is locked/i.test((err as Error)?.message ?? "");
}

export function busy(path: string): StoreError {
  return new StoreError(
    `The database ${path} is busy: another process has held its write lock for more than ${BUSY_TIMEOUT_MS / 1000} s (a long sync commit, or a tool holding the file). Try again in a moment; 'nompd status' shows a running sync.`,
  );
}

/** Runs a write of the database at `path`: SQLite's busy error comes out as `busy(path)`, said as what it means. */
export function writing<T>(path: string, write: () => T): T {
  try {
    return write();
  } catch (err) {
    if (isBusy(err)) throw busy(path);
    throw err;
  }
}

/**
 * Runs a small write whose loss to a power cut does not matter (a key's last use, a sync lock's
 * renewal: nothing is built on it, and a lock's holder dies with the power), so that it waits for no
 * sync of the WAL to disk; every other commit of a Nompd connection waits for it (synchronous FULL, see
 * Store.open), and the next one syncs this write too. Outside a transaction only: SQLite takes the
 * setting between transactions.
 */
export function withoutDiskSync<T>(db: Database, write: () => T): T {
  const synchronous = (db.query("PRAGMA synchronous").get() as { synchronous: number }).synchronous;
  db.exec("PRAGMA synchronous = NORMAL");
  try {
    return write();
  } finally {
    db.exec(`PRAGMA synchronous = ${synchronous}`);
  }
}
