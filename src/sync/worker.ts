/**
 * A sync in its own thread, with its own database connection: the server's thread keeps answering
 * requests while this one fetches, converts and commits (the commit is one long synchronous
 * transaction). Started by SyncService, one job per worker; the outcome goes back as a message.
 */
import { Store } from "../store/db";
import { SyncAlreadyRunningError } from "../errors";
import { fhirSource } from "../upstream/fhirSource";
import { runSync } from "./run";
import type { SyncJob, SyncReply } from "./service";

declare const self: Worker;

self.onmessage = async (event: MessageEvent<SyncJob>) => {
  const job = event.data;
  let store: Store | null = null;
  let reply: SyncReply;
  try {
    store = Store.open(job.db);
    const outcome = await runSync(store, fhirSource(job.upstream), { trigger: job.trigger, force: job.force, maxDeleteShare: job.maxDeleteShare });
    reply = { outcome };
  } catch (err) {
    reply = err instanceof SyncAlreadyRunningError ? { alreadyRunning: err.holder } : { error: String((err as Error)?.stack ?? err) };
  } finally {
    store?.close();
  }
  postMessage(reply);
};
