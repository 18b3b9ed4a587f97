import { UnavailableError } from "../errors";
import type { Store, StoreState } from "../store/db";

/**
 * Requests that wait for a newer dataset version: the long poll (`?sinceVersion=N&wait=S`), and on a
 * replica a diff from a version it has not applied yet. New versions are committed by the sync's
 * worker thread, by a replica's follower thread, or by another process on the same file, so they are
 * found by looking at the store's state (one cheap query, see Store.state) on one shared timer that
 * runs only while someone waits: no timer, promise chain or query per waiting request beyond its
 * entry in one array.
 */

/** How often the state is looked at while requests wait: a new version is answered within this. */
const TICK_MS = 100;
/** How long a replica holds a diff from a version it has not applied yet, when no wait is given. */
const CATCH_UP_SECONDS = 5;

interface Waiter {
  /** Woken once the version is at least this. */
  atLeast: number;
  /** Woken at once when the dataset is no longer this one (a reset, a restore, a replica's resync). */
  datasetId: string;
  /** performance.now() by which it is answered anyway. */
  deadline: number;
  resolve: (state: StoreState) => void;
}

export class LongPolls {
  private waiters: Waiter[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;
  private nextDeadline = Infinity;
  private closed = false;

  constructor(private readonly store: Store) {}

  /** Requests waiting now. */
  get waiting(): number {
    return this.waiters.length;
  }

  /**
   * The state once the version is at least `atLeast` or the dataset changed, or after `seconds`, or at
   * once when the server stops.
   */
  until(atLeast: number, state: StoreState, seconds: number): Promise<StoreState> {
    if (this.closed || seconds <= 0) return Promise.resolve(this.store.state());
    return new Promise((resolve) => {
      const deadline = performance.now() + seconds * 1000;
      this.waiters.push({ atLeast, datasetId: state.datasetId, deadline, resolve });
      // A commit may have come between the request's look at the state and now: look at every waiter
      // at the next tick, whether the state changed since the last one or not.
      this.lastGeneration = "";
      if (deadline < this.nextDeadline) this.nextDeadline = deadline;
      this.timer ??= setInterval(() => this.tick(), TICK_MS);
    });
  }

  /**
   * The state to answer a `sinceVersion` request with: the request's own (at once), or a later one
   * after waiting.
   * - `wait` given and nothing newer than `since` yet: waits up to `wait` seconds for a newer version.
   * - On a replica, `since` newer than what it holds: a client that read that version from another
   *   replica of the same primary asks here. Waits (up to `wait`, at least CATCH_UP_SECONDS) for this
   *   replica to apply it (CATCH_UP_SECONDS only, when the primary is not known to have it); if it does
   *   not, and its primary is known to have it, 503 with Retry-After (the client retries, here or
   *   elsewhere) rather than a 409 that would make it fetch everything.
   */
  hold(since: number, wait: number | undefined, state: StoreState): StoreState | Promise<StoreState> {
    if (state.follows !== null && since > state.version) return this.catchUp(since, wait, state);
    if (wait === undefined || since !== state.version) return state;
    return this.until(since + 1, state, wait);
  }

  private async catchUp(since: number, wait: number | undefined, state: StoreState): Promise<StoreState> {
    const start = performance.now();
    const primaryVersion = () => this.store.replica.status()?.primaryVersion ?? null;
    const known = (since: number) => {
      const seen = primaryVersion();
      return seen !== null && since <= seen;
    };
    // A version the primary is known to have is waited for as long as the client waits; one it is not
    // known to have (a sibling replica may have seen it first, or the client's version is from a dataset
    // since replaced) only briefly.
    const seconds = known(since) ? Math.max(wait ?? 0, CATCH_UP_SECONDS) : CATCH_UP_SECONDS;
    const now = await this.until(since, state, seconds);
    if (now.datasetId !== state.datasetId) return now;
    if (since > now.version) {
      // Not known to exist upstream: answered like any server would (409, start over).
      if (!known(since)) return now;
      throw new UnavailableError(
        `This replica holds version ${now.version} and is still applying its primary's version ${since}. Retry in a moment (here or on another replica).`,
        1,
      );
    }
    if (wait === undefined || since !== now.version) return now;
    return this.until(since + 1, now, wait - (performance.now() - start) / 1000);
  }

  /** Answers every waiting request at once (the server is stopping); later ones do not wait. */
  close(): void {
    this.closed = true;
    const state = this.store.state();
    for (const w of this.waiters) w.resolve(state);
    this.waiters = [];
    this.stopTimer();
  }

  private tick(): void {
    let state: StoreState;
    try {
      state = this.store.state();
    } catch {
      // The file is busy or closing: look again at the next tick.
      return;
    }
    const now = performance.now();
    if (now < this.nextDeadline && !this.anyReady(state)) return;
    let next = Infinity;
    const keep: Waiter[] = [];
    for (const w of this.waiters) {
      if (state.version >= w.atLeast || state.datasetId !== w.datasetId || now >= w.deadline) w.resolve(state);
      else {
        keep.push(w);
        if (w.deadline < next) next = w.deadline;
      }
    }
    this.waiters = keep;
    this.nextDeadline = next;
    if (keep.length === 0) this.stopTimer();
  }

  private lastGeneration = "";

  /** Whether the state changed since the last look such that a waiter may be answered. */
  private anyReady(state: StoreState): boolean {
    if (state.generation === this.lastGeneration) return false;
    this.lastGeneration = state.generation;
    return true;
  }

  private stopTimer(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.nextDeadline = Infinity;
  }
}
