import { Store } from "../store/db";
import { SyncAlreadyRunningError } from "../errors";
import { runSync } from "../sync/run";
import { fileSource } from "../upstream/files";
import { fhirSource } from "../upstream/fhirSource";
import { upstreamFromConfig } from "../upstream/fromSettings";
import type { FetchProgress, Source } from "../upstream/source";
import { UsageError } from "../errors";
import { EXIT, type CliContext } from "./context";
import { runSummary } from "./summary";

/** A progress line per collection on a terminal, rewritten in place; nothing when not a terminal. */
function progressPrinter(ctx: CliContext): ((p: FetchProgress) => void) | undefined {
  if (!ctx.isTty || ctx.args.options.has("--json")) return undefined;
  const state = new Map<string, FetchProgress>();
  return (p) => {
    state.set(p.collection, p);
    const line = [...state.values()].map((s) => `${s.collection}: ${s.resources} in ${s.pages} page${s.pages === 1 ? "" : "s"}${s.done ? " ✓" : ""}`).join("  ");
    ctx.err(`\r\x1b[2K${line}`);
  };
}

export async function syncWith(ctx: CliContext, source: Source, trigger: "cli" | "import"): Promise<number> {
  const { settings } = ctx.config;
  const store = Store.open(settings.db);
  try {
    const onProgress = progressPrinter(ctx);
    let outcome;
    try {
      outcome = await runSync(store, source, {
        trigger,
        force: ctx.args.options.has("--force"),
        maxDeleteShare: settings.maxDeleteShare,
        onProgress,
      });
    } catch (err) {
      if (err instanceof SyncAlreadyRunningError) {
        if (ctx.args.options.has("--json")) ctx.out(JSON.stringify({ error: err.message }));
        else ctx.err(err.message);
        return EXIT.alreadyRunning;
      }
      throw err;
    }
    if (onProgress) ctx.err("\n");
    const { run, ignored, failure } = outcome;
    if (failure === "internal") ctx.log.error("sync failed", { run: run.id, error: run.error });
    if (ctx.args.options.has("--json")) ctx.out(JSON.stringify({ ...run, ignored }, null, 2));
    else ctx.out(runSummary(run, ignored));
    if (run.status === "succeeded" || run.status === "no_changes") return EXIT.ok;
    return run.status === "aborted_by_guard" ? EXIT.guard : EXIT.failed;
  } finally {
    store.close();
  }
}

export function importCommand(ctx: CliContext): Promise<number> {
  const paths = ctx.args.positionals.slice(1);
  if (paths.length === 0) throw new UsageError("nompd import needs at least one PATH: a Bundle file (JSON or NDJSON) or a folder of them.");
  return syncWith(ctx, fileSource(paths), "import");
}

export function syncCommand(ctx: CliContext): Promise<number> {
  if (ctx.args.positionals.length > 1) throw new UsageError(`nompd sync takes no PATH (got "${ctx.args.positionals[1]}"); to load files use 'nompd import PATH...'.`);
  const upstream = upstreamFromConfig(ctx.config);
  if (!upstream) throw new UsageError("nompd sync needs --upstream-url (or NOMPD_UPSTREAM_URL); to load files use 'nompd import PATH...'.");
  return syncWith(ctx, fhirSource(upstream), "cli");
}
