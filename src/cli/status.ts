import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { Store } from "../store/db";
import { Documents } from "../store/documents";
import { Runs } from "../store/runs";
import { SyncLock } from "../store/syncLock";
import { nextRun } from "../sync/cron";
import { shown } from "../upstream/fhirSource";
import { UsageError } from "../errors";
import { EXIT, type CliContext } from "./context";

export function statusCommand(ctx: CliContext): number {
  const { settings } = ctx.config;
  const path = resolve(settings.db);
  if (!existsSync(path)) throw new UsageError(`There is no database at ${path}. Give its path with --db (or NOMPD_DB); 'nompd serve' or 'nompd import' makes a new one.`);
  const store = Store.open(settings.db);
  try {
    const runs = new Runs(store);
    const status = {
      database: store.path,
      datasetId: store.datasetId,
      currentVersion: store.currentVersion(),
      collections: new Documents(store).counts(),
      syncRunning: new SyncLock(store).current(),
      lastSuccessfulSync: runs.lastSuccessful()?.finishedAt ?? null,
      recentRuns: runs.recent(5).map(({ counts: _counts, ...r }) => r),
      schedule: {
        enabled: settings.syncSchedule && settings.upstreamUrl !== null,
        cron: settings.syncCron,
        timeZone: settings.syncTz,
        nextRun: settings.syncSchedule && settings.upstreamUrl !== null ? nextRun(settings.syncCron, settings.syncTz) : null,
        upstreamUrl: settings.upstreamUrl === null ? null : shown(settings.upstreamUrl),
      },
    };
    if (ctx.args.options.has("--json")) {
      ctx.out(JSON.stringify(status, null, 2));
      return EXIT.ok;
    }
    const lines = [
      `Database        ${status.database}`,
      `Dataset id      ${status.datasetId}`,
      `Version         ${status.currentVersion}`,
      `Last good sync  ${status.lastSuccessfulSync ?? "never"}`,
      `Sync running    ${
        status.syncRunning === null
          ? "no"
          : status.syncRunning.stale
            ? `no; a stopped sync (${status.syncRunning.trigger}, pid ${status.syncRunning.pid} on ${status.syncRunning.host}, ${status.syncRunning.started_at}) left its lock, and the next sync takes it over`
            : `yes, since ${status.syncRunning.started_at} (${status.syncRunning.trigger}, pid ${status.syncRunning.pid} on ${status.syncRunning.host})`
      }`,
      `Schedule        ${
        status.schedule.enabled
          ? `${status.schedule.cron} (${status.schedule.timeZone}), next ${status.schedule.nextRun ?? "-"}`
          : settings.upstreamUrl === null
            ? "off (no --upstream-url)"
            : "off (--no-sync-schedule)"
      }`,
      "",
      "Collection              live   deleted",
      ...Object.entries(status.collections).map(([c, n]) => `${c.padEnd(22)} ${String(n.live).padStart(6)} ${String(n.deleted).padStart(9)}`),
      "",
      "Recent runs",
      ...(status.recentRuns.length === 0
        ? ["  none"]
        : status.recentRuns.map((r) => `  #${r.id} ${r.startedAt} ${r.trigger.padEnd(9)} ${r.status.padEnd(16)} version ${r.version ?? "-"}${r.error ? `: ${r.error}` : ""}`)),
    ];
    ctx.out(lines.join("\n"));
    return EXIT.ok;
  } finally {
    store.close();
  }
}
