import { ConflictError, SourceError, SyncAlreadyRunningError } from "../errors";
import type { Store } from "../store/db";
import type { RunTrigger } from "../store/runs";
import { alreadyRunning } from "../store/syncLock";
import type { UpstreamOptions } from "../upstream/fhirSource";
import type { FetchProgress } from "../upstream/source";
import { isoSeconds } from "../store/time";
import { startJobThread, SYNC_WORKER_URL, type JobThread, type ThreadFailure } from "../workers";
import { replicaRefusal } from "../follow/service";
import type { DryRunReport, SyncOutcome } from "./run";

const NO_SOURCE = "No upstream is configured, so there is nothing to sync from. Start nompd with --upstream-url (and NOMPD_UPSTREAM_API_KEY), or load files with 'nompd import PATH...'.";

/** How the server's syncs run: the same for every trigger. */
export interface SyncSettings {
  upstream: UpstreamOptions | null;
  maxDeleteShare: number;
  keepVersions: number | null;
  lockLeaseMs: number;
}

/** What the sync thread is asked to do (plain data: it crosses to the worker as a message). */
export interface SyncJob extends SyncSettings {
  db: string;
  upstream: UpstreamOptions;
  trigger: RunTrigger;
  force: boolean;
  /** Do everything but write (see dryRunSync). */
  dryRun: boolean;
}

/**
 * What the sync thread tells while it works: the lock it took (its token, to free it should the thread
 * die), and each page (or file) read.
 */
export type SyncNote = { locked: string } | { progress: FetchProgress };

/** How far the sync under way in this server is: what it was asked, and what each collection has read. */
export interface SyncProgress {
  trigger: RunTrigger;
  dryRun: boolean;
  force: boolean;
  startedAt: string;
  /** Per upstream collection, once its first page arrived: pages and resources read, and whether it is complete. */
  collections: Record<string, { pages: number; resources: number; done: boolean }>;
}

/** The sync thread's answer (or else a ThreadFailure: it failed unexpectedly). */
export type SyncReply =
  | { outcome: SyncOutcome }
  | { report: DryRunReport }
  | { alreadyRunning: SyncAlreadyRunningError["holder"] }
  | { sourceError: string }
  | { conflict: string };

/**
 * The server's one way to start a sync, for the schedule and the HTTP trigger alike. Each sync runs in
 * a worker thread (sync/worker.ts) on its own connection to the same file, so that reads never wait
 * for it; the database lock keeps it the only sync on the file, here and in other processes.
 */
export class SyncService {
  private thread: JobThread<SyncReply> | null = null;
  private running: Promise<unknown> | null = null;
  /** The lock the running sync thread took, as it reported it. */
  private lockToken: string | null = null;
  private current: SyncProgress | null = null;

  constructor(
    private readonly store: Store,
    private readonly settings: SyncSettings,
  ) {}

  /** True while a sync started here is under way. */
  get busy(): boolean {
    return this.running !== null;
  }

  /** Whether an upstream is set: without one, a sync is refused. */
  get hasUpstream(): boolean {
    return this.settings.upstream !== null;
  }

  /** The sync (or dry run) under way in this server, or null. */
  get progress(): SyncProgress | null {
    return this.current === null ? null : structuredClone(this.current);
  }

  /** Throws ConflictError (no upstream), or SyncAlreadyRunningError (from the lock); every other outcome is a run. */
  async run(trigger: RunTrigger, force: boolean): Promise<SyncOutcome> {
    const reply = await this.start({ trigger, force, dryRun: false });
    if ("outcome" in reply) return reply.outcome;
    throw new Error("the sync thread answered a sync with a dry run's report");
  }

  /** What a sync would do now, written nowhere; throws SourceError when the upstream fails, ConflictError when another process wrote meanwhile. */
  async dryRun(force: boolean): Promise<DryRunReport> {
    const reply = await this.start({ trigger: "http", force, dryRun: true });
    if ("report" in reply) return reply.report;
    throw new Error("the sync thread answered a dry run with a sync's outcome");
  }

  private async start(what: Pick<SyncJob, "trigger" | "force" | "dryRun">): Promise<{ outcome: SyncOutcome } | { report: DryRunReport }> {
    const follows = this.store.state().follows;
    if (follows !== null) throw replicaRefusal(follows, "This server", "syncs");
    const upstream = this.settings.upstream;
    if (!upstream) throw new ConflictError(NO_SOURCE);
    if (this.running) {
      const holder = this.store.lock.current();
      throw alreadyRunning(holder ?? { pid: process.pid, host: "this server", trigger: "this server", started_at: "just now" });
    }
    const job: SyncJob = { ...this.settings, upstream, db: this.store.path, ...what };
    this.lockToken = null;
    this.current = { trigger: job.trigger, dryRun: job.dryRun, force: job.force, startedAt: isoSeconds(), collections: {} };
    const done = this.inWorker(job);
    this.running = done;
    try {
      const reply = await done;
      if ("outcome" in reply || "report" in reply) return reply;
      if ("alreadyRunning" in reply) throw alreadyRunning(reply.alreadyRunning);
      if ("sourceError" in reply) throw new SourceError(reply.sourceError);
      if ("conflict" in reply) throw new ConflictError(reply.conflict);
      // The thread died without finishing: free the lock it took, by the token it reported, so that the
      // next sync can run. That sync also closes the dead one's run record, once it holds the lock.
      if (this.lockToken) this.store.lock.releaseLeftover(this.lockToken);
      throw new Error(`The sync thread failed: ${reply.error}`);
    } finally {
      this.running = null;
      this.thread = null;
      this.current = null;
    }
  }

  /**
   * Stops a running sync (the server is shutting down): it writes nothing, records its run as aborted
   * and frees the lock. Resolves when it has, or after `withinMs`.
   */
  async stop(withinMs: number): Promise<void> {
    if (!this.running || !this.thread) return;
    await this.thread.stop(withinMs);
  }

  private inWorker(job: SyncJob): Promise<SyncReply | ThreadFailure> {
    this.thread = startJobThread<SyncJob, SyncNote, SyncReply>({
      url: SYNC_WORKER_URL,
      what: "sync",
      job,
      isNote: (message): message is SyncNote => "locked" in message || "progress" in message,
      onNote: (note) => {
        if ("locked" in note) {
          this.lockToken = note.locked;
          return;
        }
        const { collection, pages, resources, done } = note.progress;
        if (this.current) this.current.collections[collection] = { pages, resources, done };
      },
    });
    return this.thread.done;
  }
}
