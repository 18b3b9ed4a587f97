import { constants } from "node:crypto";
import { createApp } from "../api/app";
import { Authenticator } from "../api/auth";
import { SyncAlreadyRunningError } from "../errors";
import { following } from "../follow/setup";
import { runSync } from "../sync/run";
import { nextRun } from "../sync/cron";
import { syncSchedule } from "../sync/schedule";
import { SyncService } from "../sync/service";
import { shown } from "../upstream/shown";
import { upstreamFromConfig } from "../upstream/fromSettings";
import { sampleSource } from "../upstream/sample";
import { EXIT, type CliContext, type Command } from "./context";
import { curlLine } from "./keys";
import { runSummary } from "./summary";

/** TLS 1.2 suites with forward secrecy (ECDHE) and AEAD only; TLS 1.3 suites all have both. */
const TLS12_CIPHERS = [
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
].join(":");

/** The server's TLS options: TLS 1.2 or newer (1.3 with --tls-min-version 1.3), forward-secret suites only. */
function tlsOptions(settings: CliContext["config"]["settings"]) {
  if (!settings.tlsCert || !settings.tlsKey) return {};
  const old = constants.SSL_OP_NO_SSLv3 | constants.SSL_OP_NO_TLSv1 | constants.SSL_OP_NO_TLSv1_1;
  return {
    tls: {
      cert: Bun.file(settings.tlsCert),
      key: Bun.file(settings.tlsKey),
      ciphers: TLS12_CIPHERS,
      secureOptions: settings.tlsMinVersion === "1.3" ? old | constants.SSL_OP_NO_TLSv1_2 : old,
    },
  };
}

/**
 * On an empty database: with --sample, the embedded sample dataset, marked as such everywhere it is
 * served. Without it an empty database stays empty, and the log says once how to get data.
 */
async function firstData(ctx: CliContext, store: ReturnType<CliContext["openStore"]>, hasUpstream: boolean): Promise<void> {
  const { settings } = ctx.config;
  if (!settings.sample) {
    if (!hasUpstream) {
      ctx.log.warn(
        "the database is empty and no upstream is set, so the API serves empty lists: set --upstream-url (NOMPD_UPSTREAM_URL), run 'nompd import PATH', or start with --sample to try nompd with invented data",
      );
    }
    return;
  }
  try {
    const { run, ignored } = await runSync(store, sampleSource(), { trigger: "first-run", force: false, maxDeleteShare: settings.maxDeleteShare, sample: true });
    ctx.log.warn("loaded the embedded SAMPLE dataset (invented data, marked as such in every answer); the first real sync or import replaces it", {
      version: run.version,
      status: run.status,
    });
    if (run.status !== "succeeded") ctx.err(runSummary(run, ignored));
  } catch (err) {
    if (!(err instanceof SyncAlreadyRunningError)) throw err;
    // Another process (an import, say) is filling this database: serve what it commits.
    ctx.log.warn("the database is empty but another process is syncing into it; the sample dataset is not loaded", { holder: err.holder.trigger });
  }
}

export const serveCommand: Command = {
  name: "serve",
  usage: [["serve", "run the server with its sync schedule (the default command); ends gracefully on SIGTERM or SIGINT"]],
  options: {},
  async run(ctx) {
    const { settings, secrets } = ctx.config;
    const upstream = upstreamFromConfig(ctx.config);
    const scheduled = upstream !== null && settings.syncSchedule;
    if (upstream !== null && secrets.upstreamApiKey === null) {
      ctx.log.warn("no upstream API key: set NOMPD_UPSTREAM_API_KEY or --upstream-api-key-file if the upstream needs one");
    }

    const store = ctx.openStore();
    // Runs a dead process left 'running' are closed, so that /health and /metrics never report them.
    store.closeDeadRuns();
    // A replica takes every version from its primary: never the sample, never a sync of its own.
    let replica: ReturnType<typeof following>;
    try {
      replica = following(ctx.config, store);
    } catch (err) {
      store.close();
      throw err;
    }
    // No successful sync or import yet (the sample, once loaded, is one).
    const neverSynced = store.runs.lastSuccessful() === null;
    if (!replica && neverSynced && store.currentVersion() === 0) await firstData(ctx, store, upstream !== null);

    const auth = new Authenticator(store, secrets.apiKeys);
    let firstKey: string | null = null;
    if (!auth.any()) {
      // A key is shown only to a person at a terminal, never written into a journal or container log.
      if (ctx.stdoutIsTty) firstKey = store.keys.create("default", "read");
      else ctx.log.warn("no API key exists, so every /api/v1 request gets 401: make one with 'nompd keys create NAME' (it is printed once), or set NOMPD_API_KEYS");
    }

    const sync = new SyncService(store, {
      upstream,
      maxDeleteShare: settings.maxDeleteShare,
      keepVersions: settings.historyKeepVersions,
      lockLeaseMs: settings.syncLockLeaseMs,
    });
    const schedule = scheduled ? { cron: settings.syncCron, timeZone: settings.syncTz } : null;
    const { app, polls } = createApp({
      store,
      auth,
      log: ctx.log,
      sync,
      build: ctx.build,
      schedule,
      metrics: settings.metrics,
      cors: settings.corsOrigins,
      cacheBytes: settings.cacheMib * 1024 * 1024,
      // The access log goes to stdout, apart from the diagnostic log on stderr.
      access: settings.accessLog ? (entry) => ctx.out(JSON.stringify(entry)) : null,
      followMaxLag: settings.followMaxLag,
    });

    try {
      app.listen({ hostname: settings.host, port: settings.port, ...tlsOptions(settings) });
    } catch (err) {
      store.close();
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EADDRINUSE") {
        ctx.err(`Cannot listen on ${settings.host}:${settings.port}: the port is in use. Stop the other program or choose another --port.`);
      } else {
        ctx.err(`Cannot listen on ${settings.host}:${settings.port}: ${(err as Error).message}. Check --host, --port and the TLS files.`);
      }
      return EXIT.failed;
    }
    // Only now: the schedule's job runs from the moment it is made, and app.stop() ends it, which a
    // server that never listened does not reach.
    if (scheduled) app.use(syncSchedule(settings.syncCron, settings.syncTz, sync, ctx.log));
    const server = app.server!;
    const follower = replica?.start(ctx.log) ?? null;
    const url = `${settings.tlsCert ? "https" : "http"}://${server.hostname}:${server.port}`;
    const state = store.state();
    ctx.log.info("nompd listening", {
      url,
      db: store.path,
      version: state.version,
      datasetId: state.datasetId,
      sample: state.sample,
      upstream: upstream ? shown(upstream.baseUrl) : "none",
      ...(replica ? { follows: replica.primary } : {}),
      nextSync: scheduled ? nextRun(settings.syncCron, settings.syncTz) : "off",
    });
    if (firstKey) {
      ctx.out(
        `\nNo API key existed, so one was made (read scope, named "default"). It is shown only this once; only its hash is stored:\n\n  ${firstKey}\n\nTry it:\n  ${curlLine(settings, firstKey, server.port ?? settings.port)}\n\nStatus page: ${url}/ (sign in with the key)\nOpenAPI: ${url}/swagger\n`,
      );
    }

    // With an upstream and no real data yet, sync now rather than at the first scheduled time. A lock
    // still held (a sync of another process, or one killed in another container whose lease has not run
    // out) is said, and waited out once.
    const startupSync = (retried: boolean) => {
      if (ctx.stop.aborted) return;
      void sync.run("startup", false).then(
        ({ run }) => (run.error ? ctx.log.error("initial sync failed", { run: run.id, error: run.error }) : ctx.log.info("initial sync finished", { run: run.id, status: run.status, version: run.version })),
        (err) => {
          if (!(err instanceof SyncAlreadyRunningError)) return ctx.log.error("initial sync failed", { error: String(err) });
          const waitMs = settings.syncLockLeaseMs + 5_000;
          ctx.log.warn(retried ? "initial sync skipped again: the lock is still held; the schedule or POST /api/internal/sync will run it" : "initial sync waits: another sync holds the lock", {
            holder: `${err.holder.trigger}, pid ${err.holder.pid} on ${err.holder.host}, since ${err.holder.started_at}`,
            ...(retried ? {} : { retryInMs: waitMs }),
          });
          if (!retried) setTimeout(() => startupSync(true), waitMs).unref?.();
        },
      );
    };
    if (upstream !== null && (neverSynced || state.sample)) startupSync(false);

    await new Promise<void>((resolve) => (ctx.stop.aborted ? resolve() : ctx.stop.addEventListener("abort", () => resolve(), { once: true })));
    ctx.log.info("stopping: no new connections; requests in flight may finish", { withinMs: settings.shutdownTimeoutMs });
    const deadline = Date.now() + settings.shutdownTimeoutMs;
    // A running sync stops before committing: nothing of it is written, its run is recorded as aborted.
    const syncStopped = sync.stop(settings.shutdownTimeoutMs);
    const followStopped = follower?.stop(settings.shutdownTimeoutMs);
    // Long polls are answered now (with what there is), not when their wait ends.
    polls.close();
    const drained = app.stop(false).then(() => true);
    const inTime = await Promise.race([drained, Bun.sleep(Math.max(0, deadline - Date.now())).then(() => false)]);
    if (!inTime) {
      ctx.log.warn("requests still in flight after the shutdown timeout are cut off", { timeoutMs: settings.shutdownTimeoutMs });
      await server.stop(true);
    }
    await syncStopped;
    await followStopped;
    auth.flush();
    if (sync.busy) ctx.log.warn("a sync did not stop in time; nothing of it was written, and the next sync closes its run record");
    else store.close();
    ctx.log.info("stopped");
    return EXIT.ok;
  },
};
