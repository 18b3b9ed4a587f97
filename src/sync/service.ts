import type { Store } from "../store/db";
import type { RunTrigger } from "../store/runs";
import { ConflictError, SyncAlreadyRunningError } from "../errors";
import { alreadyRunning, SyncLock } from "../store/syncLock";
import type { UpstreamOptions } from "../upstream/fhirSource";
import { SYNC_WORKER_URL } from "../workers";
import type { SyncOutcome } from "./run";

const NO_SOURCE = "No upstream is configured, so there is nothing to sync from. Start nompd with --upstream-url (and NOMPD_UPSTREAM_API_KEY), or load files with 'nompd import PATH...'.";

/** What the sync thread is asked to do (plain data: it crosses to the worker as a message). */
export interface SyncJob {
  db: string;
  upstream: UpstreamOptions;
  trigger: RunTrigger;
  force: boolean;
  maxDeleteShare: number;
}

export type SyncReply =
  | { outcome: SyncOutcome }
  | { alreadyRunning: SyncAlreadyRunningError["holder"] }
  | { error: string };

/**
 * The server's one way to start a sync, for the schedule and the HTTP trigger alike. Each sync runs in
 * a worker thread (sync/worker.ts) on its own connection to the same file, so that reads never wait
 * for it; the database lock keeps it the only sync on the file, here and in other processes.
 */
export class SyncService {
  private running = 0;

  constructor(
    private readonly store: Store,
    private readonly upstream: UpstreamOptions | null,
    private readonly maxDeleteShare: number,
  ) {}

  /** True while a sync started here is under way. */
  get busy(): boolean {
    return this.running > 0;
  }

  /** Throws ConflictError (no upstream), or SyncAlreadyRunningError (from the lock); every other outcome is a run. */
  async run(trigger: RunTrigger, force: boolean): Promise<SyncOutcome> {
    if (!this.upstream) throw new ConflictError(NO_SOURCE);
    if (this.running > 0) {
      const holder = new SyncLock(this.store).current();
      throw alreadyRunning(holder ?? { pid: process.pid, host: "this server", trigger: "this server", started_at: "just now" });
    }
    this.running++;
    try {
      const reply = await inWorker({ db: this.store.path, upstream: this.upstream, trigger, force, maxDeleteShare: this.maxDeleteShare });
      if ("outcome" in reply) return reply.outcome;
      if ("alreadyRunning" in reply) throw alreadyRunning(reply.alreadyRunning);
      // The thread died without finishing: free the lock it may have left, so that the next sync can run
      // (this service runs one sync at a time, so nothing else of this process holds it). That sync
      // also closes the dead one's run record, once it holds the lock.
      new SyncLock(this.store).releaseLeftover();
      throw new Error(`The sync thread failed: ${reply.error}`);
    } finally {
      this.running--;
    }
  }
}

function inWorker(job: SyncJob): Promise<SyncReply> {
  const worker = new Worker(SYNC_WORKER_URL);
  return new Promise<SyncReply>((resolve) => {
    let settled = false;
    const settle = (reply: SyncReply) => {
      if (settled) return;
      settled = true;
      worker.terminate();
      resolve(reply);
    };
    worker.onmessage = (event: MessageEvent<SyncReply>) => settle(event.data);
    worker.onerror = (event) => settle({ error: event.message || "the sync thread crashed" });
    worker.addEventListener("close", () => settle({ error: "the sync thread ended without an answer" }));
    worker.postMessage(job);
  });
}
