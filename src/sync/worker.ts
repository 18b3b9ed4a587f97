/**
 * A sync in its own thread, with its own database connection: the server's thread keeps answering
 * requests while this one fetches, converts and commits (the commit is one long synchronous
 * transaction). Started by SyncService, one job per worker; the outcome goes back as a message. A
 * `stop` message (the server is shutting down) aborts the sync before it commits.
 */
import { Store } from "../store/db";
import { ConflictError, SourceError, SyncAlreadyRunningError } from "../errors";
import { fhirSource } from "../upstream/fhirSource";
import type { FetchProgress } from "../upstream/source";
import { workerEntry } from "../workers";
import { dryRunSync, runSync } from "./run";
import type { SyncJob, SyncNote, SyncReply } from "./service";

workerEntry<SyncJob, SyncReply>(async (job, stop) => {
  const store = Store.open(job.db, { lockLeaseMs: job.lockLeaseMs });
  try {
    const options = {
      trigger: job.trigger,
      force: job.force,
      maxDeleteShare: job.maxDeleteShare,
      keepVersions: job.keepVersions,
      signal: stop,
      // Every page read is told to the server thread, which shows the progress (GET /api/internal/sync/progress).
      onProgress: (progress: FetchProgress) => postMessage({ progress } satisfies SyncNote),
      onLocked: (token: string) => postMessage({ locked: token } satisfies SyncNote),
    };
    return job.dryRun ? { report: await dryRunSync(store, fhirSource(job.upstream), options) } : { outcome: await runSync(store, fhirSource(job.upstream), options) };
  } catch (err) {
    if (err instanceof SyncAlreadyRunningError) return { alreadyRunning: err.holder };
    if (err instanceof SourceError) return { sourceError: err.message };
    // A replica's refusal, or a dry run during which a sync committed (see Staging): answered as the conflict it is.
    if (err instanceof ConflictError) return { conflict: err.message };
    throw err;
  } finally {
    store.close();
  }
});
