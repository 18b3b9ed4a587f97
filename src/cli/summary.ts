import { ALL_COLLECTIONS } from "../collections";
import type { SyncRun } from "../store/runs";

const STATUS_TEXT: Record<SyncRun["status"], string> = {
  running: "running",
  succeeded: "succeeded",
  no_changes: "succeeded with no changes",
  failed: "FAILED",
  aborted_by_guard: "STOPPED by the mass-deletion guard",
  aborted: "ABORTED",
};

/** The printed end of a sync or import: outcome, version and a table of counts per collection. */
export function runSummary(run: SyncRun, ignored: Record<string, number>): string {
  const lines: string[] = [];
  const head = `Sync ${run.id} (${run.trigger}) ${STATUS_TEXT[run.status]}`;
  if (run.status === "succeeded") lines.push(`${head}: dataset version ${run.version}.`);
  else if (run.status === "no_changes") lines.push(`${head}: dataset version stays ${run.version}.`);
  else lines.push(`${head}. Dataset version stays ${run.version}; nothing was written.`);
  if (run.error) lines.push(`  ${run.error}`);
  const cols = ["fetched", "added", "changed", "deleted", "revived", "unchanged", "skipped"] as const;
  const hasCounts = ALL_COLLECTIONS.some((c) => (run.counts[c]?.fetched ?? 0) > 0 || (run.counts[c]?.deleted ?? 0) > 0);
  if (hasCounts) {
    lines.push("", `  ${"collection".padEnd(24)}${cols.map((c) => c.padStart(10)).join("")}`);
    for (const c of ALL_COLLECTIONS) {
      const n = run.counts[c];
      if (!n) continue;
      lines.push(`  ${c.padEnd(24)}${cols.map((k) => String(n[k]).padStart(10)).join("")}`);
    }
    for (const c of ALL_COLLECTIONS) {
      for (const [reason, count] of Object.entries(run.counts[c]?.skippedReasons ?? {})) {
        lines.push(`  skipped ${count} ${c}: ${reason}`);
      }
    }
  }
  for (const [type, count] of Object.entries(ignored)) lines.push(`  ignored ${count} resource(s) of type ${type}`);
  return lines.join("\n");
}
