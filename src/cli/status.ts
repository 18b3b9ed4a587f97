import { shown } from "../upstream/shown";
import { nextRun } from "../sync/cron";
import { followReport, lastSuccessfulSync } from "../follow/health";
import { EXIT, OPTIONS, type Command } from "./context";

const SAMPLE_WARNING = "SAMPLE DATASET: this database holds the embedded sample, invented data that must not be used for patients. Load real data with --upstream-url or 'nompd import'.";

export const statusCommand: Command = {
  name: "status",
  usage: [["status [--json]", "dataset version, counts, recent sync runs, schedule (reads only: never changes the database)"]],
  options: { "--json": OPTIONS["--json"] },
  run(ctx) {
    const { settings } = ctx.config;
    const store = ctx.openStore({ readOnly: true });
    try {
      const state = store.state();
      const scheduled = settings.syncSchedule && settings.upstreamUrl !== null && state.follows === null;
      const followStatus = store.replica.status();
      const follow = followStatus === null ? null : followReport(followStatus, settings.followMaxLag);
      const status = {
        sample: state.sample,
        database: store.path,
        datasetId: state.datasetId,
        currentVersion: state.version,
        collections: store.documents.counts(),
        syncRunning: store.lock.current(),
        lastSuccessfulSync: lastSuccessfulSync(store, followStatus),
        recentRuns: store.runs.recent(5).map(({ counts: _counts, ...r }) => r),
        schedule: {
          enabled: scheduled,
          cron: settings.syncCron,
          timeZone: settings.syncTz,
          nextRun: scheduled ? nextRun(settings.syncCron, settings.syncTz) : null,
          upstreamUrl: settings.upstreamUrl === null ? null : shown(settings.upstreamUrl),
        },
        follow,
      };
      if (ctx.args.options.has("--json")) {
        const { token: _token, ...lock } = status.syncRunning ?? { token: null };
        ctx.out(JSON.stringify({ ...status, syncRunning: status.syncRunning ? lock : null }, null, 2));
        return EXIT.ok;
      }
      const lock = status.syncRunning;
      const lines = [
        ...(status.sample ? [SAMPLE_WARNING, ""] : []),
        `Database        ${status.database}`,
        `Dataset id      ${status.datasetId}`,
        `Version         ${status.currentVersion}`,
        `Last good sync  ${status.lastSuccessfulSync ?? "never"}`,
        `Sync running    ${
          lock === null
            ? "no"
            : lock.stale
              ? `no; a stopped sync (${lock.trigger}, pid ${lock.pid} on ${lock.host}, ${lock.started_at}) left its lock, and the next sync takes it over`
              : `yes, since ${lock.started_at} (${lock.trigger}, pid ${lock.pid} on ${lock.host})`
        }`,
        ...(follow === null
          ? []
          : [
              `Follows         ${follow.primary} (read-only replica)`,
              `Primary version ${follow.primaryVersion ?? "not seen yet"}${follow.lastContact ? `, last answer ${follow.lastContact}` : ""}`,
              `Lag             ${follow.lagSeconds === null ? "not caught up yet" : `${follow.lagSeconds} s (ready up to ${follow.maxLagSeconds} s)`}`,
              `Primary down    ${follow.unreachableSince === null ? "no" : `since ${follow.unreachableSince}: ${follow.lastError}`}`,
            ]),
        `Schedule        ${
          status.schedule.enabled
            ? `${status.schedule.cron} (${status.schedule.timeZone}), next ${status.schedule.nextRun ?? "-"}`
            : follow !== null
              ? "off (a replica takes its versions from its primary)"
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
  },
};
