import { Cron } from "croner";
import { isoSeconds } from "../store/time";

/** Throws with croner's reason when the pattern or zone is invalid. */
export function checkCron(pattern: string, timezone: string): void {
  new Cron(pattern, { timezone, paused: true }).stop();
}

/** The next time the schedule fires, as ISO-8601 UTC, or null when it never does. */
export function nextRun(pattern: string, timezone: string, from?: Date): string | null {
  const job = new Cron(pattern, { timezone, paused: true });
  const next = job.nextRun(from);
  job.stop();
  return next ? isoSeconds(next) : null;
}
