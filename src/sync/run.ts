import { ALL_COLLECTIONS, DatasetBuilder, type Collection } from "../convert/dataset";
import { commitStaged, emptyCounts, type CollectionCounts } from "../store/commit";
import { Staging } from "../store/staging";
import type { Store } from "../store/db";
import { Runs, type RunTrigger, type SyncRun } from "../store/runs";
import { SyncLock } from "../store/syncLock";
import { GuardError, SourceError } from "../errors";
import type { FetchProgress, Source } from "../upstream/source";

export interface SyncOptions {
  trigger: RunTrigger;
  force: boolean;
  maxDeleteShare: number;
  onProgress?: (p: FetchProgress) => void;
  /** Sync time, for tests; defaults to now. */
  now?: () => Date;
}

export interface SyncOutcome {
  run: SyncRun;
  /** Resources of other types that the source met and left out, by resourceType. */
  ignored: Record<string, number>;
  failure: FailureKind | null;
}

/** How a failed run failed: the source (network, upstream, files), the guard, or anything else. */
export type FailureKind = "source" | "guard" | "internal";

/**
 * The sync pipeline: lock → fetch all three collections → convert → one transaction → run record.
 * The lock is taken before the run is recorded, so a refused second trigger
 * (SyncAlreadyRunningError) leaves no run behind; every other outcome is recorded, failures included.
 */
export async function runSync(store: Store, source: Source, options: SyncOptions): Promise<SyncOutcome> {
  const lock = new SyncLock(store);
  const runs = new Runs(store);
  lock.acquire(options.trigger);
  const now = options.now ?? (() => new Date());
  const counts: Record<string, CollectionCounts> = Object.fromEntries(ALL_COLLECTIONS.map((c) => [c, emptyCounts()]));
  let runId: number | null = null;
  let ignored: Record<string, number> = {};
  let staging: Staging | null = null;
  try {
    // Only once the lock is held: a Staging empties this connection's staging table.
    staging = new Staging(store);
    runs.closeAbandoned();
    // One time for the whole sync: the run's start, and the lastChanged of everything it changes.
    const syncTime = now();
    runId = runs.start(options.trigger, syncTime);
    // Resources are checked, converted and staged page by page as they arrive: the sync never holds
    // a large upstream in memory, and the comparison with what is stored runs in SQL at commit.
    const staged = Object.fromEntries(ALL_COLLECTIONS.map((c) => [c, 0])) as Record<Collection, number>;
    const builder = new DatasetBuilder((collection, id, content) => {
      staged[collection]++;
      staging!.put(collection, id, JSON.stringify(content));
    });
    const fetched = await source.fetch((collection, resources) => {
      counts[collection]!.fetched += resources.length;
      builder.add(collection, resources);
    }, options.onProgress);
    ignored = fetched.ignored;
    builder.finish();
    staging.flush();
    for (const c of ALL_COLLECTIONS) {
      const reasons = builder.skipped[c];
      counts[c]!.skippedReasons = reasons;
      counts[c]!.skipped = Object.values(reasons).reduce((a, b) => a + b, 0);
      if (c === "treatmentGroup" || c === "reimbursementGroup") counts[c]!.fetched = staged[c];
    }

    const result = commitStaged(store, ALL_COLLECTIONS, { maxDeleteShare: options.maxDeleteShare, force: options.force, runId, now: syncTime });
    for (const [c, n] of Object.entries(result.counts)) Object.assign(counts[c]!, n);
    const run = runs.finish(runId, result.version === null ? "no_changes" : "succeeded", result.version ?? result.previousVersion, counts, null);
    return { run, ignored, failure: null };
  } catch (err) {
    if (runId === null) throw err;
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof GuardError) for (const [c, n] of Object.entries(err.counts)) Object.assign(counts[c]!, n);
    const failure: FailureKind = err instanceof GuardError ? "guard" : err instanceof SourceError ? "source" : "internal";
    const run = runs.finish(runId, failure === "guard" ? "aborted_by_guard" : "failed", store.currentVersion(), counts, message);
    return { run, ignored, failure };
  } finally {
    staging?.clear();
    lock.release();
  }
}
