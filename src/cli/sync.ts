import { UsageError } from "../errors";
import { runSync } from "../sync/run";
import { fileSource } from "../upstream/files";
import { fhirSource } from "../upstream/fhirSource";
import { upstreamFromConfig } from "../upstream/fromSettings";
import type { FetchProgress, Source } from "../upstream/source";
import { EXIT, OPTIONS, type CliContext, type Command } from "./context";
import { runSummary } from "./summary";

/** A progress line per collection on a terminal, rewritten in place; nothing when not a terminal. */
function progressPrinter(ctx: CliContext): ((p: FetchProgress) => void) | undefined {
  if (!ctx.stderrIsTty || ctx.args.options.has("--json")) return undefined;
  const state = new Map<string, FetchProgress>();
  return (p) => {
    state.set(p.collection, p);
    const line = [...state.values()].map((s) => `${s.collection}: ${s.resources} in ${s.pages} page${s.pages === 1 ? "" : "s"}${s.done ? " ✓" : ""}`).join("  ");
    ctx.err(`\r\x1b[2K${line}`);
  };
}

async function syncWith(ctx: CliContext, source: Source, trigger: "cli" | "import"): Promise<(typeof EXIT)[keyof typeof EXIT]> {
  const { settings } = ctx.config;
  const store = ctx.openStore();
  try {
    const onProgress = progressPrinter(ctx);
    const outcome = await runSync(store, source, {
      trigger,
      force: ctx.args.options.has("--force"),
      maxDeleteShare: settings.maxDeleteShare,
      keepVersions: settings.historyKeepVersions,
      onProgress,
      signal: ctx.stop,
    });
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

const SYNC_OPTIONS = { "--force": OPTIONS["--force"], "--json": OPTIONS["--json"] };

export const importCommand: Command = {
  name: "import",
  usage: [
    ["import PATH... [--force] [--json]", "sync from FHIR Bundle files (JSON, or NDJSON of resources; a folder means its *.json and *.ndjson files)"],
  ],
  options: SYNC_OPTIONS,
  run(ctx) {
    const paths = ctx.args.positionals.slice(1);
    if (paths.length === 0) throw new UsageError("nompd import needs at least one PATH: a Bundle file (JSON or NDJSON) or a folder of them.");
    return syncWith(ctx, fileSource(paths, { maxBytes: ctx.config.settings.maxPageMib * 1024 * 1024 }), "import");
  },
};

export const syncCommand: Command = {
  name: "sync",
  usage: [["sync [--force] [--json]", "sync from the national FHIR APIs now, then exit"]],
  options: SYNC_OPTIONS,
  run(ctx) {
    if (ctx.args.positionals.length > 1) throw new UsageError(`nompd sync takes no PATH (got "${ctx.args.positionals[1]}"); to load files use 'nompd import PATH...'.`);
    const upstream = upstreamFromConfig(ctx.config);
    if (!upstream) throw new UsageError("nompd sync needs --upstream-url (or NOMPD_UPSTREAM_URL); to load files use 'nompd import PATH...'.");
    return syncWith(ctx, fhirSource(upstream), "cli");
  },
};
