import type { Store } from "../store/db";
import type { RunTrigger } from "../store/runs";
import type { Source } from "../upstream/source";
import { runSync, type SyncOutcome } from "./run";

export class NoSourceError extends Error {
  constructor() {
    super("No upstream is configured, so there is nothing to sync from. Start nompd with --upstream-url (and NOMPD_UPSTREAM_API_KEY), or load files with 'nompd import PATH...'.");
  }
}

/** The server's one way to start a sync, for the schedule and the HTTP trigger alike. */
export class SyncService {
  constructor(
    private readonly store: Store,
    private readonly source: Source | null,
    private readonly maxDeleteShare: number,
  ) {}

  private running = 0;

  get configured(): boolean {
    return this.source !== null;
  }

  /** True while a sync started here is under way. */
  get busy(): boolean {
    return this.running > 0;
  }

  /** Throws NoSourceError, or SyncAlreadyRunningError (from the lock); every other outcome is a run. */
  async run(trigger: RunTrigger, force: boolean): Promise<SyncOutcome> {
    if (!this.source) throw new NoSourceError();
    this.running++;
    try {
      return await runSync(this.store, this.source, { trigger, force, maxDeleteShare: this.maxDeleteShare });
    } finally {
      this.running--;
    }
  }
}
