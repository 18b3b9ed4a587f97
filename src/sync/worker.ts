/**
 * A sync in its own thread, with its own database connection: the server's thread keeps answering
 * requests while this one fetches, converts and commits (the commit is one long synchronous
 * transaction). Started by SyncService, one job per worker; the outcome goes back as a message. A
 * `stop` message (the server is shutting down) aborts the sync before it commits.
 */
import { Store } from "../store/db";
import { SourceError, SyncAlreadyRunningError } from "../errors";
import { fhirSource } from "../upstream/fhirSource";
import { dryRunSync, runSync } from "./run";
import type { SyncCommand, SyncNote, SyncReply } from "./service";

declare const self: Worker;

const stop = new AbortController();

self.onmessage = async (event: MessageEvent<SyncCommand>) => {
  if ("stop" in event.data) {
    stop.abort();
    return;
  }
  const job = event.data.job;
  let store: Store | null = null;
  let reply: SyncReply;
  try {
    store = Store.open(job.db, { lockLeaseMs: job.lockLeaseMs });
    // Every page read is told to the server thread, which shows the progress (GET /api/internal/sync/progress).
    const onProgress = (progress: SyncNote["progress"]) => postMessage({ progress } satisfies SyncNote);
    const options = {
      trigger: job.trigger,
      force: job.force,
      maxDeleteShare: job.maxDeleteShare,
      keepVersions: job.keepVersions,
      signal: stop.signal,
      onProgress,
      onLocked: (token: string) => postMessage({ locked: token } satisfies SyncReply),
    };
    reply = job.dryRun ? { report: await dryRunSync(store, fhirSource(job.upstream), options) } : { outcome: await runSync(store, fhirSource(job.upstream), options) };
  } catch (err) {
    reply =
      err instanceof SyncAlreadyRunningError
        ? { alreadyRunning: err.holder }
        : err instanceof SourceError
          ? { sourceError: err.message }
          : { error: String((err as Error)?.stack ?? err) };
  } finally {
    store?.close();
  }
  postMessage(reply);
};
