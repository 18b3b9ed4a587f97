import { readFileSync } from "node:fs";
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
 * When a process started, as the kernel counts it (Linux: field 22 of /proc/PID/stat), or null where
 * that cannot be read. With the pid it names one process for good: a reused pid has another start.
 */
export function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

interface LockRow {
  pid: number;
  host: string;
  trigger: string;
  started_at: string;
  process_start: string | null;
}

/**
 * One sync at a time per database file, across processes: a row in `sync_lock`, taken in a write
 * transaction. A lock left by a process that died (kill -9) is taken over (see stale()).
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
      const row = db.query("SELECT pid, host, trigger, started_at, process_start FROM sync_lock WHERE id = 1").get() as LockRow | null;
      if (row && !this.stale(row, host)) throw new SyncAlreadyRunningError(row);
      db.query("INSERT OR REPLACE INTO sync_lock (id, pid, host, trigger, started_at, process_start) VALUES (1, ?, ?, ?, ?, ?)").run(
        process.pid,
        host,
        trigger,
        isoSeconds(),
        processStart(process.pid),
      );
    }).immediate();
    heldByThisProcess.add(this.store.path);
    this.store.noteLocalWrite();
  }

  /**
   * A lock is stale when its holder is gone: on this host, its pid no longer runs, or runs but started
   * at another time (the pid was reused: a restarted container has pid 1 again). Where a process's start
   * cannot be read (no /proc), a lock with this process's own pid that this process does not hold is
   * taken for a leftover of an earlier life. A lock from another host is never judged stale.
   */
  private stale(row: LockRow, host: string): boolean {
    if (row.host !== host) return false;
    if (!processAlive(row.pid)) return true;
    const now = processStart(row.pid);
    if (row.process_start !== null && now !== null) return now !== row.process_start;
    return row.pid === process.pid && !this.held;
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
