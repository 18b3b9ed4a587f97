import type { Store } from "./db";
import type { CollectionCounts } from "./commit";
import { isoSeconds } from "./time";

export type RunTrigger = "schedule" | "startup" | "cli" | "http" | "import" | "first-run";
export type RunStatus = "running" | "succeeded" | "no_changes" | "failed" | "aborted_by_guard";

export interface SyncRun {
  id: number;
  trigger: RunTrigger;
  startedAt: string;
  finishedAt: string | null;
  status: RunStatus;
  version: number | null;
  counts: Record<string, CollectionCounts>;
  error: string | null;
}

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

/** The record of sync runs, failures included (SPEC §6). */
export class Runs {
  constructor(private readonly store: Store) {}

  start(trigger: RunTrigger, startedAt: Date): number {
    const row = this.store.db
      .query("INSERT INTO sync_run (trigger, started_at, status) VALUES (?, ?, 'running') RETURNING id")
      .get(trigger, isoSeconds(startedAt)) as { id: number };
    this.store.noteLocalWrite();
    return row.id;
  }

  finish(id: number, status: Exclude<RunStatus, "running">, version: number | null, counts: Record<string, CollectionCounts>, error: string | null): SyncRun {
    this.store.db
      .query("UPDATE sync_run SET finished_at = ?, status = ?, version = ?, counts = ?, error = ? WHERE id = ?")
      .run(isoSeconds(), status, version, JSON.stringify(counts), error, id);
    this.store.noteLocalWrite();
    return this.get(id)!;
  }

  get(id: number): SyncRun | null {
    const row = this.store.db.query("SELECT * FROM sync_run WHERE id = ?").get(id) as RunRow | null;
    return row ? fromRow(row) : null;
  }

  recent(limit = 20): SyncRun[] {
    return (this.store.db.query("SELECT * FROM sync_run ORDER BY id DESC LIMIT ?").all(limit) as RunRow[]).map(fromRow);
  }

  lastSuccessful(): SyncRun | null {
    const row = this.store.db
      .query("SELECT * FROM sync_run WHERE status IN ('succeeded', 'no_changes') ORDER BY id DESC LIMIT 1")
      .get() as RunRow | null;
    return row ? fromRow(row) : null;
  }

  /** Runs left 'running' by a process that died (kill -9, power loss) are closed as failed. */
  closeAbandoned(): void {
    this.store.db
      .query("UPDATE sync_run SET status = 'failed', finished_at = ?, error = 'The process running this sync stopped before it finished; nothing of it was written.' WHERE status = 'running'")
      .run(isoSeconds());
    this.store.noteLocalWrite();
  }
}
