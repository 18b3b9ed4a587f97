import { hostname } from "node:os";
import { SyncAlreadyRunningError } from "../errors";
import { processAlive, processStart } from "../platform";
import type { Store } from "./db";
import { isoSeconds } from "./time";

export interface LockHolder {
  pid: number;
  host: string;
  trigger: string;
  started_at: string;
}

export function alreadyRunning(holder: LockHolder): SyncAlreadyRunningError {
  return new SyncAlreadyRunningError(
    `A sync is already running on this database (started ${holder.started_at} by ${holder.trigger}, ` +
      `process ${holder.pid} on ${holder.host}). Wait for it to finish (see 'nompd status'), then try again.`,
    holder,
  );
}

/** The holder renews the lock this often while a sync runs… */
const RENEW_EVERY_MS = 30_000;
/** …and a lock not renewed for this long is stale, whoever held it, on whatever host. */
const LEASE_MS = 5 * 60_000;

/** Database files whose lock this thread holds (whichever Store or SyncLock object took it). */
const heldHere = new Map<string, ReturnType<typeof setInterval>>();

interface LockRow extends LockHolder {
  process_start: string | null;
  renewed_at: string | null;
}

/**
 * One sync at a time per database file, across processes: a row in `sync_lock`, taken in a write
 * transaction and renewed while the sync runs. A lock left behind (kill -9, a crashed thread, a
 * container recreated under another name) is taken over once stale(): see there.
 */
export class SyncLock {
  constructor(
    private readonly store: Store,
    private readonly renewEveryMs = RENEW_EVERY_MS,
  ) {}

  private get held(): boolean {
    return heldHere.has(this.store.path);
  }

  acquire(trigger: string): void {
    const { db } = this.store;
    const host = hostname();
    db.transaction(() => {
      const row = this.row();
      if (row && !this.stale(row, host)) throw alreadyRunning(row);
      const now = isoSeconds();
      db.query(
        "INSERT OR REPLACE INTO sync_lock (id, pid, host, trigger, started_at, process_start, renewed_at) VALUES (1, ?, ?, ?, ?, ?, ?)",
      ).run(process.pid, host, trigger, now, processStart(process.pid), now);
    }).immediate();
    const renew = db.query("UPDATE sync_lock SET renewed_at = ? WHERE id = 1 AND pid = ? AND host = ?");
    const timer = setInterval(() => {
      try {
        renew.run(isoSeconds(), process.pid, host);
      } catch {
        // Busy for longer than the busy timeout: the next renewal tries again, well within the lease.
      }
    }, this.renewEveryMs);
    timer.unref?.();
    heldHere.set(this.store.path, timer);
    this.store.noteLocalWrite();
  }

  /**
   * Stale when the holder stopped renewing it for longer than the lease, or, on this host, when its
   * pid no longer runs or now names another process (see processStart). Where /proc cannot tell, a
   * lock with this process's own pid that this thread does not hold is taken for a leftover of an
   * earlier life. A live holder on another host keeps it as long as it renews it.
   */
  private stale(row: LockRow, host: string): boolean {
    const renewed = Date.parse(row.renewed_at ?? row.started_at);
    if (Number.isFinite(renewed) && Date.now() - renewed > LEASE_MS) return true;
    if (row.host !== host) return false;
    if (!processAlive(row.pid)) return true;
    const now = processStart(row.pid);
    if (row.process_start !== null && now !== null) return now !== row.process_start;
    return row.pid === process.pid && !this.held;
  }

  release(): void {
    const timer = heldHere.get(this.store.path);
    if (timer === undefined) return;
    clearInterval(timer);
    heldHere.delete(this.store.path);
    this.store.db.query("DELETE FROM sync_lock WHERE id = 1 AND pid = ? AND host = ?").run(process.pid, hostname());
    this.store.noteLocalWrite();
  }

  /**
   * Removes a lock this process left in another thread that ended without releasing it (a crashed
   * sync worker). Only for a caller that knows no other sync of this process runs.
   */
  releaseLeftover(): void {
    this.store.db.query("DELETE FROM sync_lock WHERE id = 1 AND pid = ? AND host = ?").run(process.pid, hostname());
    this.store.noteLocalWrite();
  }

  /** The current holder, for status output; `stale` when the next sync will take the lock over. */
  current(): (LockHolder & { stale: boolean }) | null {
    const row = this.row();
    if (!row) return null;
    const { pid, host, trigger, started_at } = row;
    return { pid, host, trigger, started_at, stale: this.stale(row, hostname()) };
  }

  private row(): LockRow | null {
    return (this.store.db.query("SELECT pid, host, trigger, started_at, process_start, renewed_at FROM sync_lock WHERE id = 1").get() as LockRow | null) ?? null;
  }
}
