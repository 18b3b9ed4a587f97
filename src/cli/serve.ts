import { createApp, serveOptions } from "../api/app";
import { RequestMetrics } from "../api/metrics";
import { Store } from "../store/db";
import { Keys } from "../store/keys";
import { Runs } from "../store/runs";
import { SyncAlreadyRunningError } from "../errors";
import { runSync } from "../sync/run";
import { nextRun } from "../sync/cron";
import { syncSchedule } from "../sync/schedule";
import { SyncService } from "../sync/service";
import { shown } from "../upstream/fhirSource";
import { upstreamFromConfig } from "../upstream/fromSettings";
import { sampleSource } from "../upstream/sample";
import { EXIT, type CliContext } from "./context";
import { curlLine } from "./keys";
import { runSummary } from "./summary";

/** `nompd serve`: the HTTP server and, with an upstream, the sync schedule, until SIGINT/SIGTERM. */
export async function serveCommand(ctx: CliContext): Promise<number> {
  const { settings, secrets } = ctx.config;
  const upstream = upstreamFromConfig(ctx.config);
  const scheduled = upstream !== null && settings.syncSchedule;
  if (upstream !== null && secrets.upstreamApiKey === null) {
    ctx.log.warn("no upstream API key: set NOMPD_UPSTREAM_API_KEY or --upstream-api-key-file if the upstream needs one");
  }

  const store = Store.open(settings.db);
  const keys = new Keys(store, secrets.apiKeys);
  const runs = new Runs(store);

  // First run with no upstream: the embedded sample data, so that a newcomer has a working API at once.
  if (upstream === null && store.currentVersion() === 0 && runs.lastSuccessful() === null) {
    try {
      const { run, ignored } = await runSync(store, sampleSource(), { trigger: "first-run", force: false, maxDeleteShare: settings.maxDeleteShare });
      ctx.log.info("no upstream configured and the database was empty: loaded the embedded sample dataset", { version: run.version, status: run.status });
      if (run.status !== "succeeded") ctx.err(runSummary(run, ignored));
    } catch (err) {
      if (!(err instanceof SyncAlreadyRunningError)) throw err;
      // Another process (an import, say) is filling this database: serve what it commits.
      ctx.log.warn("the database is empty but another process is syncing into it; the sample dataset is not loaded", { holder: err.holder.trigger });
    }
  }

  let firstKey: string | null = null;
  if (!keys.any()) firstKey = keys.create("default", "read");

  const sync = new SyncService(store, upstream, settings.maxDeleteShare);
  const schedule = scheduled ? { cron: settings.syncCron, timeZone: settings.syncTz } : null;
  const requestMetrics = new RequestMetrics();
  const created = createApp({ store, keys, log: ctx.log, sync, version: ctx.version, schedule, metrics: settings.metrics, requestMetrics });
  const app = created.app;
  if (scheduled) app.use(syncSchedule(settings.syncCron, settings.syncTz, sync, ctx.log));

  let server;
  try {
    server = Bun.serve({
      hostname: settings.host,
      port: settings.port,
      ...serveOptions(created, settings.metrics ? requestMetrics : null, settings.corsOrigins),
      ...(settings.tlsCert && settings.tlsKey ? { tls: { cert: Bun.file(settings.tlsCert), key: Bun.file(settings.tlsKey) } } : {}),
    });
  } catch (err) {
    stopSchedule(app);
    store.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") {
      ctx.err(`Cannot listen on ${settings.host}:${settings.port}: the port is in use. Stop the other program or choose another --port.`);
    } else {
      ctx.err(`Cannot listen on ${settings.host}:${settings.port}: ${(err as Error).message}. Check --host, --port and the TLS files.`);
    }
    return EXIT.failed;
  }
  const url = `${settings.tlsCert ? "https" : "http"}://${server.hostname}:${server.port}`;
  ctx.log.info("nompd listening", {
    url,
    db: store.path,
    version: store.currentVersion(),
    datasetId: store.datasetId,
    upstream: upstream ? shown(upstream.baseUrl) : "none",
    nextSync: scheduled ? nextRun(settings.syncCron, settings.syncTz) : "off",
  });
  if (firstKey) {
    const port = server.port ?? settings.port;
    ctx.out(
      `\nNo API key existed, so one was made (read scope, named "default"). It is shown only this once; only its hash is stored:\n\n  ${firstKey}\n\nTry it:\n  ${curlLine({ ...ctx, config: { ...ctx.config, settings: { ...settings, port } } }, firstKey)}\n\nOpenAPI: ${url}/swagger\n`,
    );
  }

  // With an upstream and nothing synced yet, sync now rather than at the first scheduled time.
  if (upstream !== null && runs.lastSuccessful() === null) {
    void sync.run("startup", false).then(
      ({ run }) => (run.error ? ctx.log.error("initial sync failed", { run: run.id, error: run.error }) : ctx.log.info("initial sync finished", { run: run.id, status: run.status, version: run.version })),
      (err) => {
        if (!(err instanceof SyncAlreadyRunningError)) ctx.log.error("initial sync failed", { error: String(err) });
      },
    );
  }

  await new Promise<void>((resolveStop) => {
    const stop = (signal: string) => {
      ctx.log.info("stopping", { signal });
      resolveStop();
    };
    process.once("SIGINT", () => stop("SIGINT"));
    process.once("SIGTERM", () => stop("SIGTERM"));
  });
  stopSchedule(app);
  // Close open connections too: a client waiting on a long sync gets no answer either way.
  await server.stop(true);
  // A sync still fetching is abandoned: its transaction never started, and the next sync closes its
  // run record. Closing the store under it would only turn that into a confusing error.
  if (sync.busy) ctx.log.warn("stopped during a sync; it is abandoned and nothing of it was written");
  else store.close();
  return EXIT.ok;
}

function stopSchedule(app: { store: unknown }): void {
  const jobs = (app.store as { cron?: Record<string, { stop(): void }> }).cron ?? {};
  for (const job of Object.values(jobs)) job.stop();
}
