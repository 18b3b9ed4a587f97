import { ALL_COLLECTIONS, type Collection } from "../collections";
import { SourceError } from "../errors";
import type { Logger } from "../log";
import { backoffMs, sleepUnlessAborted } from "../retry";
import type { Store } from "../store/db";
import type { FeedItem, ReplicaStaging, ReplicaTarget } from "../store/replica";
import { shown } from "../upstream/shown";
import { fetchFeed, StartOver, type FeedAnswer, type PrimaryOptions } from "./feed";

/**
 * The replica's loop: a long poll on the primary's first feed from the version the replica holds; when
 * it brings a newer version, the other feeds are read from the same version, all brought to one
 * currentVersion, and applied in one transaction (Replica.apply). A new dataset id, a 409 or a 410 make
 * it start over from the primary's whole dataset, swapped in at once. Failures are retried with backoff
 * for as long as the replica runs; it keeps serving what it holds meanwhile.
 *
 * Only versions the primary had are applied: each apply takes the primary's newest version as all five
 * feeds answered it. Versions the primary made between two pulls arrive together, as one step.
 */

export interface FollowerOptions extends PrimaryOptions {
  /** Seconds each long poll may be held by the primary. */
  waitSeconds: number;
  log: Logger;
  /** Ends the loop (the server is stopping); a fetch under way is abandoned, nothing is half applied. */
  signal: AbortSignal;
  /** First retry delay after a failure, doubled each time up to maxRetryMs. */
  firstRetryMs?: number;
  maxRetryMs?: number;
}

/** How often the feeds may be read again in one round to bring them to one version. */
const MAX_CONVERGE = 20;

/** A round found the primary's collections in two datasets: the primary changed dataset meanwhile. */
class DatasetChanged extends Error {}

export class Follower {
  private readonly shownUrl: string;
  private lastProblem: string | null = null;

  constructor(
    private readonly store: Store,
    private readonly options: FollowerOptions,
  ) {
    this.shownUrl = shown(options.url);
  }

  /** Follows until the signal ends it. */
  async run(): Promise<void> {
    const { signal, log } = this.options;
    let failures = 0;
    while (!signal.aborted) {
      try {
        await this.step();
        if (this.lastProblem !== null) log.info("the primary answers again", { primary: this.shownUrl, version: this.store.currentVersion() });
        this.lastProblem = null;
        failures = 0;
      } catch (err) {
        if (signal.aborted) break;
        failures++;
        const message = err instanceof SourceError ? err.message : `unexpected error: ${String((err as Error)?.stack ?? err)}`;
        this.noteFailure(message);
        await sleepUnlessAborted(backoffMs(this.options.firstRetryMs ?? 500, failures - 1, this.options.maxRetryMs ?? 10_000), signal);
      }
    }
  }

  private noteFailure(message: string): void {
    try {
      this.store.replica.noteFailure(message);
    } catch {
      // The file is busy: the failure is logged, and noted at the next one.
    }
    if (message !== this.lastProblem) {
      this.options.log.warn("cannot follow the primary; serving the data held, and retrying", { primary: this.shownUrl, version: this.store.currentVersion(), error: message });
    }
    this.lastProblem = message;
  }

  /** One long poll, and the round it brings. */
  async step(): Promise<void> {
    const state = this.store.state();
    const first = ALL_COLLECTIONS[0]!;
    // One staging per step (a TEMP table of this connection, emptied here and at the end).
    const staging = this.store.replica.staging();
    try {
      let answer: FeedAnswer;
      try {
        // A diff from 0 is a whole collection whatever dataset the replica held; a diff from a later
        // version is of use only in the replica's dataset.
        const sink = (datasetId: string) => (state.version === 0 || datasetId === state.datasetId ? (items: FeedItem[]) => staging.put(first, items) : () => {});
        answer = await fetchFeed(this.options, first, state.version, this.options.waitSeconds, this.options.signal, sink);
      } catch (err) {
        if (!(err instanceof StartOver)) throw err;
        this.options.log.warn("the primary cannot give the changes since this replica's version; fetching its whole dataset", { primary: this.shownUrl, version: state.version, why: err.message });
        return await this.round(staging, null);
      }
      if (answer.datasetId === state.datasetId && answer.currentVersion === state.version) {
        this.store.replica.noteContact(answer.currentVersion, true);
        return;
      }
      if (state.version === 0) return await this.round(staging, null, answer);
      if (answer.datasetId !== state.datasetId) {
        this.options.log.warn("the primary has a new dataset (reset or restored); fetching it whole", { primary: this.shownUrl, from: state.datasetId, to: answer.datasetId });
        return await this.round(staging, null);
      }
      return await this.round(staging, state.version, answer);
    } finally {
      staging.clear();
    }
  }

  /**
   * Reads every feed from `base` (null: from 0, the whole dataset) into `staging`, brings them to one
   * currentVersion, and applies it. `first`: an answer already read from `base` (and staged).
   */
  private async round(staging: ReplicaStaging, base: number | null, first?: FeedAnswer): Promise<void> {
    let target: ReplicaTarget;
    try {
      target = await this.fetchAll(staging, base, first);
    } catch (err) {
      if (!(err instanceof DatasetChanged || err instanceof StartOver) || base === null) throw err;
      this.options.log.warn("the primary changed dataset during a pull; fetching it whole", { primary: this.shownUrl, why: err.message || "a new dataset id" });
      target = await this.fetchAll(staging, null);
      base = null;
    }
    const started = performance.now();
    this.options.log.info("applying the primary's version", { primary: this.shownUrl, from: base === null ? "nothing (whole dataset)" : base, to: target.version });
    const applied = this.store.replica.apply({ base, target });
    if (!applied.applied) {
      // Another process on this file applied something first: look again.
      this.options.log.info("not applied: another process on this database moved first", { why: applied.reason });
      return;
    }
    const changes = Object.fromEntries(
      Object.entries(applied.counts)
        .map(([c, n]): [string, number] => [c, n.added + n.changed + n.deleted + n.revived])
        .filter(([, n]) => n > 0),
    );
    this.options.log.info(base === null ? "applied the primary's whole dataset" : "applied the primary's version", {
      version: target.version,
      datasetId: target.datasetId,
      changes,
      ms: Math.round(performance.now() - started),
    });
  }

  /**
   * Every feed from `base`, staged as it arrives, and brought to the newest currentVersion any of them
   * answered: what to apply.
   */
  private async fetchAll(staging: ReplicaStaging, base: number | null, first?: FeedAnswer): Promise<ReplicaTarget> {
    const { signal } = this.options;
    if (!first) staging.clear();
    const at = new Map<Collection, FeedAnswer>();
    let datasetId: string | null = first?.datasetId ?? null;
    const local = this.store.state();
    // Checked from each answer's headers, before its items are read.
    const sinkFor = (collection: Collection) => (answerDataset: string) => {
      datasetId ??= answerDataset;
      if (answerDataset !== datasetId || (base !== null && answerDataset !== local.datasetId)) throw new DatasetChanged("a new dataset id");
      return (items: FeedItem[]) => staging.put(collection, items);
    };
    const fetchFrom = async (c: Collection, since: number) => at.set(c, await fetchFeed(this.options, c, since, null, signal, sinkFor(c)));
    if (first) at.set(first.collection, first);
    const missing = ALL_COLLECTIONS.filter((c) => !at.has(c));
    if (base === null) {
      // Whole collections can be large: one at a time.
      for (const c of missing) await fetchFrom(c, 0);
    } else {
      await Promise.all(missing.map((c) => fetchFrom(c, base)));
    }
    for (let i = 0; ; i++) {
      const newest = Math.max(...[...at.values()].map((a) => a.currentVersion));
      const behind = [...at.values()].filter((a) => a.currentVersion < newest);
      if (behind.length === 0) break;
      // The primary committed while the feeds were read: bring the earlier ones up to the same version.
      if (i >= MAX_CONVERGE) throw new SourceError(`the primary committed ${MAX_CONVERGE} times while its feeds were read; trying again later`);
      await Promise.all(behind.map((a) => fetchFrom(a.collection, a.currentVersion)));
    }
    const answers = [...at.values()];
    return {
      datasetId: datasetId!,
      version: answers[0]!.currentVersion,
      diffFloor: Math.max(...answers.map((a) => a.diffFloor)),
      sample: answers.some((a) => a.sample),
    };
  }
}
