import type { Database } from "bun:sqlite";
import { RUN_STATUSES, type SyncRun as SyncRunModel } from "../models";
import type { CollectionCounts } from "../models";
import { isoSeconds } from "./time";

export { RUN_STATUSES };
export type SyncRun = SyncRunModel;
export type RunTrigger = SyncRun["trigger"];
export type RunStatus = SyncRun["status"];

interface RunRow {
  id: number;
  trigger: RunTrigger;
  started_at: string;
  finished_at: string | null;
  status: RunStatus;
  version: number | null;
  counts: string | null;
  error: string | null;
}

function fromRow(row: RunRow): SyncRun {
  return {
    id: row.id,
    trigger: row.trigger,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    status: row.status,
    version: row.version,
    counts: row.counts ? JSON.parse(row.counts) : {},
    error: row.error,
  };
}

/** The record of sync runs, failures included. */
export class Runs {
  private readonly q;

  constructor(db: Database) {
    this.q = {
      start: db.query("INSERT INTO sync_run (trigger, started_at, status, lock_token) VALUES (?, ?, 'running', ?) RETURNING id"),
      finish: db.query("UPDATE sync_run SET finished_at = ?, status = ?, version = ?, counts = ?, error = ? WHERE id = ?"),
      get: db.query("SELECT * FROM sync_run WHERE id = ?"),
      recent: db.query("SELECT * FROM sync_run ORDER BY id DESC LIMIT ?"),
      lastSuccessful: db.query("SELECT * FROM sync_run WHERE status IN ('succeeded', 'no_changes') ORDER BY id DESC LIMIT 1"),
      closeAbandoned: db.query(
        `UPDATE sync_run SET status = 'failed', finished_at = ?1,
           error = 'The process running this sync stopped before it finished; nothing of it was written.'
         WHERE status = 'running' AND (lock_token IS NULL OR lock_token IS NOT ?2)`,
      ),
    };
  }

  /** `lockToken`: the sync lock this run holds; a run whose lock is gone can be told from a live one. */
  start(trigger: RunTrigger, startedAt: Date, lockToken: string | null): number {
    return (this.q.start.get(trigger, isoSeconds(startedAt), lockToken) as { id: number }).id;
  }

  finish(id: number, status: Exclude<RunStatus, "running">, version: number | null, counts: Record<string, CollectionCounts>, error: string | null): SyncRun {
    this.q.finish.run(isoSeconds(), status, version, JSON.stringify(counts), error, id);
    return this.get(id)!;
  }

  get(id: number): SyncRun | null {
    const row = this.q.get.get(id) as RunRow | null;
    return row ? fromRow(row) : null;
  }

  recent(limit = 20): SyncRun[] {
    return (this.q.recent.all(limit) as RunRow[]).map(fromRow);
  }

  lastSuccessful(): SyncRun | null {
    const row = this.q.lastSuccessful.get() as RunRow | null;
    return row ? fromRow(row) : null;
  }

  /**
   * Runs left 'running' by a sync that died (kill -9, power loss, a crashed thread) are closed as
   * failed: every one but the run holding `liveToken`, the lock of a sync that is still alive.
   */
  closeAbandoned(liveToken: string | null): number {
    return this.q.closeAbandoned.run(isoSeconds(), liveToken).changes;
  }
}
