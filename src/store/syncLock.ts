import type { Database } from "bun:sqlite";
import { hostname } from "node:os";
import { NompdError, SyncAlreadyRunningError, EXIT } from "../errors";
import { pidNamespace, processAlive, processStart } from "../platform";
import { withoutDiskSync, writing } from "./busy";
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

/** The sync lost its lock to another process (it had stopped renewing it): it must write nothing. */
export class LockLostError extends NompdError {
  constructor() {
    super(
      "This sync lost the sync lock to another process (it had stopped renewing it, e.g. it was paused) and wrote nothing. The other sync's data stands; run the sync again if needed.",
      { status: 409, exit: EXIT.failed },
    );
  }
}

/** A lock not renewed for this long is stale, unless its holder is known to be alive (see stale()). */
export const DEFAULT_LEASE_MS = 5 * 60_000;

/** Who takes the lock: this process, as the lock row names it. */
interface Identity {
  pid: number;
  host: string;
  pidNs: string | null;
  processStart: string | null;
}

let identity: Identity | undefined;

/** This process, read once when a lock is first taken or looked at (not at start-up). */
function thisProcess(): Identity {
  return (identity ??= { pid: process.pid, host: hostname(), pidNs: pidNamespace(), processStart: processStart(process.pid) });
}

interface LockRow extends LockHolder {
  process_start: string | null;
  renewed_at: string | null;
  token: string | null;
  pid_ns: string | null;
}

/** A lock held by this sync: renewed in the background until released; `lost` once another took it. */
export interface HeldLock {
  readonly token: string;
  /** Fires when the lock is found taken by another process: the sync should stop. */
  readonly lostSignal: AbortSignal;
  /** Throws LockLostError unless this sync still holds the lock. Call inside the commit's write transaction. */
  assertHeld(): void;
  release(): void;
}

/**
 * One sync at a time per database file, across processes: a row in `sync_lock`, taken in a write
 * transaction, renewed while the sync runs, and fenced by a random token: renewal, release and the
 * commit all name the token, so a sync whose lock was taken over (it was paused past the lease) can
 * neither renew it, nor free the new holder's lock, nor commit.
 */
export class SyncLock {
  private readonly q;

  constructor(
    private readonly db: Database,
    private readonly path: string,
    private readonly leaseMs = DEFAULT_LEASE_MS,
  ) {
    this.q = {
      row: db.query("SELECT pid, host, trigger, started_at, process_start, renewed_at, token, pid_ns FROM sync_lock WHERE id = 1"),
      take: db.query(
        "INSERT OR REPLACE INTO sync_lock (id, pid, host, trigger, started_at, process_start, renewed_at, token, pid_ns) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)",
      ),
      renew: db.query("UPDATE sync_lock SET renewed_at = ? WHERE id = 1 AND token = ?"),
      release: db.query("DELETE FROM sync_lock WHERE id = 1 AND token = ?"),
      token: db.query("SELECT token FROM sync_lock WHERE id = 1"),
    };
  }

  /** Takes the lock or throws SyncAlreadyRunningError. */
  acquire(trigger: string): HeldLock {
    const me = thisProcess();
    const token = crypto.randomUUID();
    writing(this.path, () =>
      this.db
        .transaction(() => {
          const row = this.row();
          if (row && !this.stale(row)) throw alreadyRunning(row);
          const now = isoSeconds();
          this.q.take.run(me.pid, me.host, trigger, now, me.processStart, now, token, me.pidNs);
        })
        .immediate(),
    );
    const lost = new AbortController();
    const renewEvery = Math.max(50, Math.floor(this.leaseMs / 10));
    const timer = setInterval(() => {
      try {
        // Without a sync to disk (withoutDiskSync): it comes every tenth of the lease, and a renewal
        // that waits for the disk would hold the write lock for that long each time.
        if (withoutDiskSync(this.db, () => this.q.renew.run(isoSeconds(), token)).changes === 0) {
          clearInterval(timer);
          lost.abort(new LockLostError());
        }
      } catch {
        // Busy for longer than the busy timeout: the next renewal tries again, well within the lease.
      }
    }, renewEvery);
    timer.unref?.();
    let released = false;
    return {
      token,
      lostSignal: lost.signal,
      assertHeld: () => {
        const row = this.q.token.get() as { token: string | null } | null;
        if (row?.token !== token) {
          if (!lost.signal.aborted) lost.abort(new LockLostError());
          throw new LockLostError();
        }
      },
      release: () => {
        if (released) return;
        released = true;
        clearInterval(timer);
        this.q.release.run(token);
      },
    };
  }

  /**
   * Stale: the next sync may take it over. On the same machine (same host name and pid namespace) the
   * holder's process tells: gone, or its pid now naming another process (another start time), is stale
   * at once; alive with the same start time is never stale, however long it has not renewed (a paused
   * process resumes and carries on). Elsewhere, or where the start time cannot be read, a lock not
   * renewed for the lease is stale; a holder that comes back after that finds its token gone.
   */
  private stale(row: LockRow): boolean {
    const me = thisProcess();
    // A lock written without a pid namespace (an older nompd) is compared by host alone.
    if (row.host === me.host && (row.pid_ns === null || row.pid_ns === me.pidNs)) {
      if (!processAlive(row.pid)) return true;
      const now = processStart(row.pid);
      if (row.process_start !== null && now !== null) return now !== row.process_start;
    }
    const renewed = Date.parse(row.renewed_at ?? row.started_at);
    return !Number.isFinite(renewed) || Date.now() - renewed > this.leaseMs;
  }

  /**
   * Removes the lock a sync thread of this process took and could not release (it crashed), by the
   * token it reported: never anyone else's lock.
   */
  releaseLeftover(token: string): void {
    this.q.release.run(token);
  }

  /** The current holder, for status output; `stale` when the next sync will take the lock over. */
  current(): (LockHolder & { stale: boolean; token: string | null }) | null {
    const row = this.row();
    if (!row) return null;
    const { pid, host, trigger, started_at, token } = row;
    return { pid, host, trigger, started_at, token, stale: this.stale(row) };
  }

  private row(): LockRow | null {
    return (this.q.row.get() as LockRow | null) ?? null;
  }
}
