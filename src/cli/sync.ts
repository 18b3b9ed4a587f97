import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { UsageError } from "../errors";
import { Store } from "../store/db";
import { dryRunSync, runSync } from "../sync/run";
import { fileSource } from "../upstream/files";
import { fhirSource } from "../upstream/fhirSource";
import { upstreamFromConfig } from "../upstream/fromSettings";
import { maxPageBytes } from "../upstream/pageLimit";
import type { FetchProgress, Source } from "../upstream/source";
import { EXIT, OPTIONS, type CliContext, type Command } from "./context";
import { dryRunSummary, runSummary } from "./summary";

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

/**
 * A dry run writes nothing, so it never creates or upgrades a database either: it reads the one named
 * by --db when it exists, and compares with an empty one (in a temp folder, removed after) when not.
 */
async function dryRun(ctx: CliContext, source: Source): Promise<(typeof EXIT)[keyof typeof EXIT]> {
  const { settings } = ctx.config;
  const exists = existsSync(resolve(settings.db));
  const scratch = exists ? null : mkdtempSync(join(tmpdir(), "nompd-dry-run-"));
  const store = scratch ? Store.open(join(scratch, "empty.db")) : ctx.openStore({ readOnly: true });
  try {
    const onProgress = progressPrinter(ctx);
    const report = await dryRunSync(store, source, { force: ctx.args.options.has("--force"), maxDeleteShare: settings.maxDeleteShare, onProgress, signal: ctx.stop, collectGarbage: true });
    if (onProgress) ctx.err("\n");
    ctx.out(ctx.args.options.has("--json") ? JSON.stringify(report, null, 2) : dryRunSummary(report));
    return report.outcome === "stopped_by_guard" ? EXIT.guard : EXIT.ok;
  } finally {
    store.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

async function syncWith(ctx: CliContext, source: Source, trigger: "cli" | "import"): Promise<(typeof EXIT)[keyof typeof EXIT]> {
  if (ctx.args.options.has("--dry-run")) return dryRun(ctx, source);
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
      collectGarbage: true,
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

const SYNC_OPTIONS = { "--force": OPTIONS["--force"], "--json": OPTIONS["--json"], "--dry-run": OPTIONS["--dry-run"] };

export const importCommand: Command = {
  name: "import",
  usage: [
    ["import PATH... [--force] [--dry-run] [--json]", "sync from FHIR Bundle files (JSON, or NDJSON of resources; a folder means its *.json and *.ndjson files)"],
  ],
  options: SYNC_OPTIONS,
  run(ctx) {
    const paths = ctx.args.positionals.slice(1);
    if (paths.length === 0) throw new UsageError("nompd import needs at least one PATH: a Bundle file (JSON or NDJSON) or a folder of them.");
    return syncWith(ctx, fileSource(paths, { maxBytes: maxPageBytes(ctx.config.settings) }), "import");
  },
};

export const syncCommand: Command = {
  name: "sync",
  usage: [["sync [--force] [--dry-run] [--json]", "sync from the national FHIR APIs now, then exit"]],
  options: SYNC_OPTIONS,
  run(ctx) {
    if (ctx.args.positionals.length > 1) throw new UsageError(`nompd sync takes no PATH (got "${ctx.args.positionals[1]}"); to load files use 'nompd import PATH...'.`);
    const upstream = upstreamFromConfig(ctx.config);
    if (!upstream) throw new UsageError("nompd sync needs --upstream-url (or NOMPD_UPSTREAM_URL); to load files use 'nompd import PATH...'.");
    return syncWith(ctx, fhirSource(upstream), "cli");
  },
};
