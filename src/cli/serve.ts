import { createApp } from "../api/app";
import { Store } from "../store/db";
import { Keys } from "../store/keys";
import { Runs } from "../store/runs";
import { runSync } from "../sync/run";
import { SyncService } from "../sync/service";
import { sampleSource } from "../upstream/sample";
import { EXIT, type CliContext } from "./context";
import { curlLine } from "./keys";
import { runSummary } from "./summary";

/** `nompd serve`: the HTTP server (and, with an upstream, the sync schedule) until SIGINT/SIGTERM. */
export async function serveCommand(ctx: CliContext): Promise<number> {
  const { settings, secrets } = ctx.config;
  const store = Store.open(settings.db);
  const keys = new Keys(store, secrets.apiKeys);

  // First run with no upstream: the embedded sample data, so that a newcomer has a working API at once.
  if (store.currentVersion() === 0 && settings.upstreamUrl === null && new Runs(store).lastSuccessful() === null) {
    const { run, ignored } = await runSync(store, sampleSource(), { trigger: "first-run", force: false, maxDeleteShare: settings.maxDeleteShare });
    ctx.log.info("no upstream configured and the database was empty: loaded the embedded sample dataset", { version: run.version, status: run.status });
    if (run.status !== "succeeded") ctx.err(runSummary(run, ignored));
  }

  let firstKey: string | null = null;
  if (!keys.any()) firstKey = keys.create("default", "read");

  const sync = new SyncService(store, null, settings.maxDeleteShare);
  const app = createApp({ store, keys, log: ctx.log, sync, version: ctx.version });
  let server;
  try {
    server = Bun.serve({
      hostname: settings.host,
      port: settings.port,
      fetch: (request) => app.handle(request),
      ...(settings.tlsCert && settings.tlsKey ? { tls: { cert: Bun.file(settings.tlsCert), key: Bun.file(settings.tlsKey) } } : {}),
    });
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
  const url = `${settings.tlsCert ? "https" : "http"}://${server.hostname}:${server.port}`;
  ctx.log.info("nompd listening", { url, db: store.path, version: store.currentVersion(), datasetId: store.datasetId });
  if (firstKey) {
    ctx.out(
      `\nNo API key existed, so one was made (read scope, named "default"). It is shown only this once; only its hash is stored:\n\n  ${firstKey}\n\nTry it:\n  ${curlLine({ ...ctx, config: { ...ctx.config, settings: { ...settings, port: server.port ?? settings.port } } }, firstKey)}\n\nOpenAPI: ${url}/swagger\n`,
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
  await server.stop();
  store.close();
  return EXIT.ok;
}
