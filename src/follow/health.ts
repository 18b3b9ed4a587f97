import type { Static } from "@sinclair/typebox";
import type { FollowHealth } from "../api/statusSchemas";
import type { Store, StoreState } from "../store/db";
import type { FollowStatus } from "../store/replica";

/** What a replica says about following: /health's `follow`, and `nompd status`. */
export function followReport(status: FollowStatus, maxLagSeconds: number, now = Date.now()): Static<typeof FollowHealth> {
  const lagSeconds = status.caughtUpAt === null ? null : Math.max(0, Math.floor((now - Date.parse(status.caughtUpAt)) / 1000));
  return {
    primary: status.primary,
    primaryVersion: status.primaryVersion,
    lagSeconds,
    maxLagSeconds,
    lastContact: status.lastContact,
    unreachableSince: status.unreachableSince,
    lastError: status.lastError,
  };
}

/**
 * When the last successful sync finished, as /health, the status page and 'nompd status' show it: on a
 * replica (`follow`, its status; null on a primary), which runs no syncs, the last version it applied.
 */
export function lastSuccessfulSync(store: Store, follow: FollowStatus | null): string | null {
  return follow !== null ? follow.appliedAt : (store.runs.lastSuccessful()?.finishedAt ?? null);
}

/**
 * A replica's /health: its version, whom it follows and how far behind. Ready while it holds data that is
 * at most `maxLagSeconds` old: a primary that stops answering leaves the replica serving its last version,
 * ready until then.
 */
export function followHealth(store: Store, state: StoreState, maxLagSeconds: number) {
  const status = store.replica.status() ?? {
    primary: state.follows ?? "",
    primaryVersion: null,
    lastContact: null,
    caughtUpAt: null,
    appliedAt: null,
    unreachableSince: null,
    lastError: null,
  };
  const follow = followReport(status, maxLagSeconds);
  const trouble = status.unreachableSince ? `; it has not answered since ${status.unreachableSince} (${status.lastError})` : "";
  const reason =
    follow.lagSeconds === null
      ? `not yet caught up with the primary ${status.primary}${trouble}`
      : follow.lagSeconds > maxLagSeconds
        ? `the data is ${follow.lagSeconds} s old, more than --follow-max-lag (${maxLagSeconds} s): the replica has not caught up with ${status.primary} since ${status.caughtUpAt}${trouble}`
        : state.version === 0
          ? `the primary ${status.primary} has no data yet`
          : state.sample
            ? `the primary ${status.primary} serves the sample dataset (invented data)`
            : null;
  return {
    currentVersion: state.version,
    lastSuccessfulSync: lastSuccessfulSync(store, status),
    lastRunStatus: null,
    nextScheduledSync: null,
    sample: state.sample,
    ready: reason === null,
    reason,
    follow,
  };
}
