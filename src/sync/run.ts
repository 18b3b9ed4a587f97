import { ALL_COLLECTIONS, OUTPUT_COLLECTIONS, type Collection } from "../collections";
import { DatasetBuilder } from "../convert/dataset";
import { ConflictError, GuardError, NompdError, SourceError } from "../errors";
import type { DryRunReport, Fallbacks } from "../models";
import { emptyCounts, type CollectionCounts } from "../store/commit";
import type { Store } from "../store/db";
import type { RunStatus, RunTrigger, SyncRun } from "../store/runs";
import { LockLostError } from "../store/syncLock";
import type { Staging } from "../store/staging";
import type { FetchProgress, Source } from "../upstream/source";
import { replicaRefusal } from "../follow/service";

/** A replica's data and versions are its primary's: it never syncs or imports by itself. */
function refuseOnReplica(store: Store): void {
  const follows = store.state().follows;
  if (follows !== null) throw replicaRefusal(follows, "This database", "syncs or imports");
}

export interface SyncOptions {
  trigger: RunTrigger;
  force: boolean;
  maxDeleteShare: number;
  onProgress?: (p: FetchProgress) => void;
  /** Sync time, for tests; defaults to now. */
  now?: () => Date;
  /** What the source delivers is the embedded sample dataset. */
  sample?: boolean;
  /** Keep history of only the newest N dataset versions (null or absent: all). */
  keepVersions?: number | null;
  /** Stops the sync (the server is shutting down): nothing is written, the run is recorded as aborted. */
  signal?: AbortSignal;
  /** Told the lock's token once the lock is taken (a sync thread reports it, so that its lock can be freed if it crashes). */
  onLocked?: (token: string) => void;
  /**
   * Collect garbage every COLLECT_EVERY_RESOURCES resources (lower peak memory, a little more time): for
   * a sync of its own process (the command line). A server's sync leaves it to the runtime, as the
   * collector's threads would compete with the requests it answers meanwhile.
   */
  collectGarbage?: boolean;
}

export interface SyncOutcome {
  run: SyncRun;
  /** Resources of other types that the source met and left out, by resourceType. */
  ignored: Record<string, number>;
  failure: FailureKind | null;
}

/** How a failed run failed: the source (network, upstream, files), the guard, a stop, another process's write (see Staging), or anything else. */
export type FailureKind = "source" | "guard" | "aborted" | "conflict" | "internal";

/** A sync stopped because the process is shutting down. */
export class ShutdownError extends NompdError {
  constructor() {
    super("Aborted: shutdown. The process was stopping, so the sync stopped before committing; nothing was written.", { status: 503, exit: 1 });
  }
}

function failureOf(err: unknown): { kind: FailureKind; status: Exclude<RunStatus, "running" | "succeeded" | "no_changes"> } {
  if (err instanceof GuardError) return { kind: "guard", status: "aborted_by_guard" };
  if (err instanceof ShutdownError) return { kind: "aborted", status: "aborted" };
  if (err instanceof SourceError) return { kind: "source", status: "failed" };
  if (err instanceof ConflictError) return { kind: "conflict", status: "failed" };
  return { kind: "internal", status: "failed" };
}

/**
 * With `collectGarbage`, the sync's garbage (parsed pages, converted models, their JSON) is collected
 * after every this many resources, when the last one has arrived, and when the treatment groups are
 * complete: left to itself, the heap grows well past what the sync holds before collecting, which made
 * the peak memory of a first sync of 100,000 resources about 60 MB higher. Each collection costs tens of
 * milliseconds; more often bought little more (docs/PERFORMANCE.md).
 */
const COLLECT_EVERY_RESOURCES = 25_000;

/**
 * Fetch → check → convert → stage, page by page as resources arrive: the sync never holds a large
 * upstream in memory; each document is compared with its stored hash as it arrives (see Staging), and
 * the commit decides from what was staged. Fills `counts`
 * (fetched, skipped) as it goes; `check` is called for every page and may throw to stop.
 */
async function stageAll(
  staging: Staging,
  source: Source,
  counts: Record<string, CollectionCounts>,
  options: { onProgress?: (p: FetchProgress) => void; stop?: AbortSignal; collectGarbage?: boolean },
  check: () => void,
): Promise<{ ignored: Record<string, number>; fallbacks: Fallbacks }> {
  const staged = Object.fromEntries(ALL_COLLECTIONS.map((c) => [c, 0])) as Record<Collection, number>;
  const builder = new DatasetBuilder((collection, id, content) => {
    staged[collection]++;
    staging.putContent(collection, id, content);
  });
  let sinceCollected = 0;
  const fetched = await source.fetch(
    (collection, resources) => {
      check();
      counts[collection]!.fetched += resources.length;
      builder.add(collection, resources);
      sinceCollected += resources.length;
      if (options.collectGarbage && sinceCollected >= COLLECT_EVERY_RESOURCES) {
        sinceCollected = 0;
        Bun.gc(true);
      }
    },
    options.onProgress,
    options.stop,
  );
  check();
  if (options.collectGarbage) Bun.gc(true);
  builder.finish();
  if (options.collectGarbage) Bun.gc(true);
  staging.finish();
  for (const c of ALL_COLLECTIONS) {
    const reasons = builder.skipped[c];
    counts[c]!.skippedReasons = reasons;
    counts[c]!.skipped = Object.values(reasons).reduce((a, b) => a + b, 0);
    if ((OUTPUT_COLLECTIONS as readonly string[]).includes(c)) counts[c]!.fetched = staged[c];
  }
  return { ignored: fetched.ignored, fallbacks: builder.fallbacks };
}

const newCounts = (): Record<string, CollectionCounts> => Object.fromEntries(ALL_COLLECTIONS.map((c) => [c, emptyCounts()]));

/**
 * The sync pipeline: lock → fetch all three collections → convert → one transaction that writes the
 * data and the run's outcome. The lock is taken before the run is recorded, so a refused second
 * trigger (SyncAlreadyRunningError) leaves no run behind; every other outcome is recorded, failures
 * included.
 */
export async function runSync(store: Store, source: Source, options: SyncOptions): Promise<SyncOutcome> {
  refuseOnReplica(store);
  const lock = store.lock.acquire(options.trigger);
  options.onLocked?.(lock.token);
  const now = options.now ?? (() => new Date());
  const counts = newCounts();
  let runId: number | null = null;
  let ignored: Record<string, number> = {};
  const staging = store.staging(options.sample);
  // The sync stops when the process shuts down or when another process took the lock over.
  const stop = AbortSignal.any([lock.lostSignal, ...(options.signal ? [options.signal] : [])]);
  const check = () => {
    if (options.signal?.aborted) throw new ShutdownError();
    if (lock.lostSignal.aborted) throw new LockLostError();
  };
  try {
    // Runs that a dead sync left 'running' are closed now that nobody else can be running.
    store.runs.closeAbandoned(lock.token);
    // One time for the whole sync: the run's start, and the lastChanged of everything it changes.
    const syncTime = now();
    runId = store.runs.start(options.trigger, syncTime, lock.token);
    ignored = (await stageAll(staging, source, counts, { onProgress: options.onProgress, stop, collectGarbage: options.collectGarbage }, check)).ignored;

    const id = runId;
    let run: SyncRun | null = null;
    store.commit(ALL_COLLECTIONS, {
      maxDeleteShare: options.maxDeleteShare,
      force: options.force,
      runId: id,
      now: syncTime,
      sample: options.sample ?? false,
      keepVersions: options.keepVersions ?? null,
      assertMayCommit: () => {
        check();
        lock.assertHeld();
        // `serve --follow` may have made it a replica (of a new file) while this sync read its source.
        refuseOnReplica(store);
      },
      // The run's outcome commits with its data: a crash can never leave one without the other.
      record: (result) => {
        for (const [c, n] of Object.entries(result.counts)) Object.assign(counts[c]!, n);
        run = store.runs.finish(id, result.version === null ? "no_changes" : "succeeded", result.version ?? result.previousVersion, counts, null);
      },
    });
    return { run: run!, ignored, failure: null };
  } catch (err) {
    if (runId === null) throw err;
    if (err instanceof GuardError) for (const [c, n] of Object.entries(err.counts)) Object.assign(counts[c]!, n);
    // A stop or a lost lock is what ended the sync, whatever error the interrupted step threw.
    const cause = err instanceof GuardError ? err : options.signal?.aborted ? new ShutdownError() : lock.lostSignal.aborted ? new LockLostError() : err;
    const { kind, status } = failureOf(cause);
    const message = cause instanceof Error ? cause.message : String(cause);
    const run = store.runs.finish(runId, status, store.currentVersion(), counts, message);
    return { run, ignored, failure: kind };
  } finally {
    staging.clear();
    lock.release();
  }
}

export type { DryRunReport };

/**
 * Everything a sync does except writing: fetch, convert, compare and the guard. The documents are
 * compared with the stored hashes read when the first one arrived, and the report is made in one read
 * transaction; nothing is written to the database, no lock is taken and no run is recorded. A source
 * that fails is thrown (SourceError): there is nothing to report about the data then; so is a
 * ConflictError when a sync committed while this one read (see Staging).
 */
export async function dryRunSync(store: Store, source: Source, options: Omit<SyncOptions, "trigger" | "now">): Promise<DryRunReport> {
  refuseOnReplica(store);
  const counts = newCounts();
  const staging = store.staging(options.sample);
  const check = () => {
    if (options.signal?.aborted) throw new ShutdownError();
  };
  try {
    const { ignored, fallbacks } = await stageAll(staging, source, counts, { onProgress: options.onProgress, stop: options.signal, collectGarbage: options.collectGarbage }, check);
    const preview = store.preview(ALL_COLLECTIONS, { maxDeleteShare: options.maxDeleteShare, force: options.force, sample: options.sample ?? false });
    for (const [c, n] of Object.entries(preview.counts)) Object.assign(counts[c]!, n);
    return {
      dryRun: true,
      outcome: preview.guard ? "stopped_by_guard" : preview.version === null ? "no_changes" : "would_succeed",
      // The version the comparison was made with: a sync that committed before the first document came.
      currentVersion: preview.previousVersion,
      wouldBeVersion: preview.version,
      counts,
      fallbacks,
      guard: preview.guard?.message ?? null,
      ignored,
    };
  } finally {
    staging.clear();
  }
}
