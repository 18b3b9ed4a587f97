import { ALL_COLLECTIONS, OUTPUT_COLLECTIONS, type Collection } from "../collections";
import { DatasetBuilder } from "../convert/dataset";
import { GuardError, NompdError, SourceError } from "../errors";
import { emptyCounts, type CollectionCounts } from "../store/commit";
import type { Store } from "../store/db";
import type { RunStatus, RunTrigger, SyncRun } from "../store/runs";
import { LockLostError } from "../store/syncLock";
import type { FetchProgress, Source } from "../upstream/source";

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
}

export interface SyncOutcome {
  run: SyncRun;
  /** Resources of other types that the source met and left out, by resourceType. */
  ignored: Record<string, number>;
  failure: FailureKind | null;
}

/** How a failed run failed: the source (network, upstream, files), the guard, a stop, or anything else. */
export type FailureKind = "source" | "guard" | "aborted" | "internal";

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
  return { kind: "internal", status: "failed" };
}

/**
 * The sync pipeline: lock → fetch all three collections → convert → one transaction that writes the
 * data and the run's outcome. The lock is taken before the run is recorded, so a refused second
 * trigger (SyncAlreadyRunningError) leaves no run behind; every other outcome is recorded, failures
 * included.
 */
export async function runSync(store: Store, source: Source, options: SyncOptions): Promise<SyncOutcome> {
  const lock = store.lock.acquire(options.trigger);
  const now = options.now ?? (() => new Date());
  const counts: Record<string, CollectionCounts> = Object.fromEntries(ALL_COLLECTIONS.map((c) => [c, emptyCounts()]));
  let runId: number | null = null;
  let ignored: Record<string, number> = {};
  // A real sync into the sample replaces it whole (see commitStaged): stage every document's content.
  const staging = store.staging(!options.sample && store.state().sample);
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
    // Resources are checked, converted and staged page by page as they arrive: the sync never holds
    // a large upstream in memory, and the comparison with what is stored runs in SQL at commit.
    const staged = Object.fromEntries(ALL_COLLECTIONS.map((c) => [c, 0])) as Record<Collection, number>;
    const builder = new DatasetBuilder((collection, id, content) => {
      staged[collection]++;
      staging.put(collection, id, JSON.stringify(content), content);
    });
    const fetched = await source.fetch(
      (collection, resources) => {
        check();
        counts[collection]!.fetched += resources.length;
        builder.add(collection, resources);
      },
      options.onProgress,
      stop,
    );
    check();
    ignored = fetched.ignored;
    builder.finish();
    staging.flush();
    for (const c of ALL_COLLECTIONS) {
      const reasons = builder.skipped[c];
      counts[c]!.skippedReasons = reasons;
      counts[c]!.skipped = Object.values(reasons).reduce((a, b) => a + b, 0);
      if ((OUTPUT_COLLECTIONS as readonly string[]).includes(c)) counts[c]!.fetched = staged[c];
    }

    const id = runId;
    let run: SyncRun | null = null;
    store.commit(ALL_COLLECTIONS, {
      maxDeleteShare: options.maxDeleteShare,
      force: options.force,
      runId: id,
      now: syncTime,
      sample: options.sample ?? false,
      keepVersions: options.keepVersions ?? null,
      assertLockHeld: () => {
        check();
        lock.assertHeld();
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
