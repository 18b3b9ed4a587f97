import { hostname } from "node:os";
import type { Store } from "./db";
import { isoSeconds } from "./time";

export class SyncAlreadyRunningError extends Error {
  constructor(readonly holder: { pid: number; host: string; trigger: string; started_at: string }) {
    super(
      `A sync is already running on this database (started ${holder.started_at} by ${holder.trigger}, ` +
        `process ${holder.pid} on ${holder.host}). Wait for it to finish (see 'nompd status'), then try again.`,
    );
  }
}

/** A lock older than this is taken over even if its pid is alive: the pid has been reused. */
const STALE_AFTER_MS = 6 * 60 * 60 * 1000;

/** Database files whose lock this process holds (whichever Store or SyncLock object took it). */
const heldByThisProcess = new Set<string>();

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * One sync at a time per database file, across processes: a row in `sync_lock`, taken in a write
 * transaction. A lock left by a process that died (kill -9) is recognised by its pid no longer running
 * on this host, or by being ours from an earlier life (a restarted container has pid 1 again), and taken over.
 */
export class SyncLock {
  constructor(private readonly store: Store) {}

  private get held(): boolean {
    return heldByThisProcess.has(this.store.path);
  }

  acquire(trigger: string): void {
    const { db } = this.store;
    const host = hostname();
    db.transaction(() => {
      const row = db.query("SELECT pid, host, trigger, started_at FROM sync_lock WHERE id = 1").get() as {
        pid: number;
        host: string;
        trigger: string;
        started_at: string;
      } | null;
      if (row) {
        const ours = row.host === host && row.pid === process.pid;
        const stale =
          (row.host === host && !processAlive(row.pid)) ||
          (ours && !this.held) ||
          Date.now() - Date.parse(row.started_at) > STALE_AFTER_MS;
        if (!stale) throw new SyncAlreadyRunningError(row);
      }
      db.query("INSERT OR REPLACE INTO sync_lock (id, pid, host, trigger, started_at) VALUES (1, ?, ?, ?, ?)").run(
        process.pid,
        host,
        trigger,
        isoSeconds(),
      );
    }).immediate();
    heldByThisProcess.add(this.store.path);
    this.store.noteLocalWrite();
  }

  release(): void {
    if (!this.held) return;
    this.store.db.query("DELETE FROM sync_lock WHERE id = 1 AND pid = ? AND host = ?").run(process.pid, hostname());
    heldByThisProcess.delete(this.store.path);
    this.store.noteLocalWrite();
  }

  /** The current holder, for status output; null when no sync runs. */
  holder(): { pid: number; host: string; trigger: string; started_at: string } | null {
    return (this.store.db.query("SELECT pid, host, trigger, started_at FROM sync_lock WHERE id = 1").get() as never) ?? null;
  }
}
