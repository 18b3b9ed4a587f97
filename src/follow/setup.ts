import type { Config } from "../config";
import { UsageError } from "../errors";
import type { Logger } from "../log";
import type { Store } from "../store/db";
import { shown } from "../upstream/shown";
import { FollowService, waitSecondsFor } from "./service";

export interface Following {
  /** The primary's URL as shown. */
  primary: string;
  /** Starts the follower thread. */
  start(log: Logger): FollowService;
}

/**
 * `serve`'s part in following: with --follow, the database is marked as a replica of the primary
 * (refused when it holds data of its own); without it, a database that follows someone is refused, since
 * serving it without its primary would leave it behind for good, and a sync of its own would give the
 * primary's dataset id to other data.
 */
export function following(config: Config, store: Store): Following | null {
  const { settings, secrets } = config;
  const url = settings.follow;
  if (url === null) {
    const follows = store.state().follows;
    if (follows !== null) {
      throw new UsageError(
        `The database ${store.path} is a replica of ${follows}. Start it with --follow (NOMPD_FOLLOW_URL) and the primary's URL, or point --db at another database.`,
      );
    }
    return null;
  }
  const primary = shown(url);
  store.replica.follow(primary);
  return {
    primary,
    start: (log) =>
      FollowService.start({ db: store.path, url, apiKey: secrets.followApiKey, waitSeconds: waitSecondsFor(settings.followMaxLag) }, log),
  };
}
