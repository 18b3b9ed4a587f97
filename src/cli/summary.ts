import { ALL_COLLECTIONS } from "../collections";
import type { DryRunReport } from "../models";
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
  return [...lines, ...countLines(run.counts), ...ignoredLines(ignored)].join("\n");
}

const COLUMNS = ["fetched", "added", "changed", "deleted", "revived", "unchanged", "skipped"] as const;

function countLines(counts: SyncRun["counts"]): string[] {
  if (!ALL_COLLECTIONS.some((c) => (counts[c]?.fetched ?? 0) > 0 || (counts[c]?.deleted ?? 0) > 0)) return [];
  const lines = ["", `  ${"collection".padEnd(24)}${COLUMNS.map((c) => c.padStart(10)).join("")}`];
  for (const c of ALL_COLLECTIONS) {
    const n = counts[c];
    if (n) lines.push(`  ${c.padEnd(24)}${COLUMNS.map((k) => String(n[k]).padStart(10)).join("")}`);
  }
  for (const c of ALL_COLLECTIONS) {
    for (const [reason, count] of Object.entries(counts[c]?.skippedReasons ?? {})) lines.push(`  skipped ${count} ${c}: ${reason}`);
  }
  return lines;
}

function ignoredLines(ignored: Record<string, number>): string[] {
  return Object.entries(ignored).map(([type, count]) => `  ignored ${count} resource(s) of type ${type}`);
}

/** The printed report of a dry run: what the sync would do, and how the conversion found the data. */
export function dryRunSummary(report: DryRunReport): string {
  const f = report.fallbacks;
  const head =
    report.outcome === "would_succeed"
      ? `Dry run: the sync would make dataset version ${report.wouldBeVersion} (now ${report.currentVersion}).`
      : report.outcome === "no_changes"
        ? `Dry run: the sync would change nothing; dataset version stays ${report.currentVersion}.`
        : `Dry run: the sync would be STOPPED by the mass-deletion guard.\n  ${report.guard}`;
  return [
    head,
    "Nothing was written.",
    ...countLines(report.counts),
    ...ignoredLines(report.ignored),
    "",
    "  how the conversion found the data",
    `  disease group    from extension ${f.diseaseGroup.extension}, type.text ${f.diseaseGroup.typeText}, type.coding display ${f.diseaseGroup.typeCodingDisplay}, none ${f.diseaseGroup.none}`,
    `  rank             from extension ${f.rank.extension}, position ${f.rank.position}`,
    `  alternatives whose ActivityDefinition was not found   ${f.unresolvedCanonicals}`,
    `  reimbursement groups without article numbers          ${f.reimbursementWithoutArticleNumbers}`,
  ].join("\n");
}
