import { cron } from "@elysiajs/cron";
import { Elysia } from "elysia";
import { SyncAlreadyRunningError } from "../errors";
import type { Logger } from "../log";
import { nextRun } from "./cron";
import type { SyncService } from "./service";

/**
 * The scheduled sync as an Elysia plugin (@elysiajs/cron): the job starts with the app and is stopped
 * with it. `protect` keeps a slow sync from overlapping the next tick; the database lock keeps it from
 * overlapping a command-line or HTTP sync.
 */
export function syncSchedule(pattern: string, timezone: string, sync: SyncService, log: Logger) {
  return new Elysia({ name: "sync-schedule" })
    .use(
      cron({
        name: "sync",
        pattern,
        timezone,
        protect: true,
        async run() {
          try {
            const { run } = await sync.run("schedule", false);
            const fields = { run: run.id, status: run.status, version: run.version, next: nextRun(pattern, timezone) };
            if (run.error) log.error("scheduled sync failed", { ...fields, error: run.error });
            else log.info("scheduled sync finished", fields);
          } catch (err) {
            if (err instanceof SyncAlreadyRunningError) log.warn("scheduled sync skipped: another sync is running", { holder: err.holder.trigger });
            else log.error("scheduled sync failed", { error: String((err as Error)?.stack ?? err) });
          }
        },
      }),
    )
    .onStop(({ store }) => store.cron.sync.stop());
}
