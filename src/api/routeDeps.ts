import type { Logger } from "../log";
import type { Store } from "../store/db";
import type { SyncService } from "../sync/service";
import type { Answers } from "./answers";
import type { LongPolls } from "./longPoll";
import type { RequestMetrics } from "./metrics";

/** What the route table's handlers (routes.ts, statusRoutes.ts) are given. */
export interface RouteDeps {
  store: Store;
  answers: Answers;
  sync: SyncService;
  log: Logger;
  /** The sync schedule, when one runs: shown by /health. */
  schedule: { cron: string; timeZone: string } | null;
  /** Request counters for /metrics, or null when /metrics is off. */
  metrics: RequestMetrics | null;
  build: { version: string; commit: string };
  /** Requests waiting for a newer version (?wait=S). */
  polls: LongPolls;
  /** --follow-max-lag in seconds: on a replica, how old its data may be while /health/ready answers 200. */
  followMaxLag: number;
}
