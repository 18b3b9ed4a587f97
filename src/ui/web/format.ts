import { html } from "htm/preact";
import type { SyncRun } from "./api";

const DATE_TIME = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "medium" });

/** A stored time (UTC, ISO 8601) in the reader's local time, with the exact value for machines. */
export function Time({ iso, empty = "never" }: { iso: string | null | undefined; empty?: string }) {
  if (!iso) return html`<span class="muted">${empty}</span>`;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return html`<span>${iso}</span>`;
  return html`<time datetime=${iso} title=${iso}>${DATE_TIME.format(d)}</time>`;
}

/** Seconds between two stored times, as "4 s" or "2 min 5 s"; "running" without an end. */
export function duration(start: string, end: string | null): string {
  if (end === null) return "running";
  const s = Math.max(0, Math.round((Date.parse(end) - Date.parse(start)) / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${s % 60} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** The output collections' titles; the upstream ones are shown by their FHIR names. */
const COLLECTION_TITLES: Record<string, string> = {
  treatmentGroup: "Treatment groups",
  reimbursementGroup: "Reimbursement groups",
};

export const OUTPUT_COLLECTIONS = ["treatmentGroup", "reimbursementGroup"];
/** The upstream FHIR collections, whose names are shown as they are. */
export const RAW_COLLECTIONS = ["PlanDefinition", "ActivityDefinition", "RegulatedAuthorization"];
const ORDER = [...OUTPUT_COLLECTIONS, ...RAW_COLLECTIONS];

export const collectionTitle = (c: string) => COLLECTION_TITLES[c] ?? c;

/** Entries of a per-collection record: output collections first, then the upstream ones. */
export function byCollection<T>(record: Record<string, T>): Array<[string, T]> {
  const rank = (c: string) => (ORDER.includes(c) ? ORDER.indexOf(c) : ORDER.length);
  return Object.entries(record).sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b));
}

/** "2 added, 1 changed" for the non-zero counts; "no changes" when all are zero. */
export function changeSummary(c: { added: number; changed: number; deleted: number; revived: number } | undefined): string {
  if (!c) return "–";
  const parts = (["added", "changed", "deleted", "revived"] as const).filter((k) => c[k] > 0).map((k) => `${c[k]} ${k}`);
  return parts.length ? parts.join(", ") : "no changes";
}

const RUN_STATUS_TEXT: Record<SyncRun["status"], string> = {
  running: "Running",
  succeeded: "Succeeded",
  no_changes: "No changes",
  failed: "Failed",
  aborted_by_guard: "Stopped by the mass-deletion guard",
  aborted: "Aborted (server stopping)",
};

const RUN_STATUS_TONE: Record<SyncRun["status"], string> = {
  running: "info",
  succeeded: "ok",
  no_changes: "ok",
  failed: "bad",
  aborted_by_guard: "warn",
  aborted: "warn",
};

export function StatusBadge({ status }: { status: SyncRun["status"] }) {
  return html`<span class=${`badge ${RUN_STATUS_TONE[status]}`}>${RUN_STATUS_TEXT[status]}</span>`;
}

/** Per collection: what a run did (fetched, changes, skipped with reasons). */
export function RunCounts({ counts }: { counts: SyncRun["counts"] }) {
  const rows = byCollection(counts).filter(([, n]) => n.fetched + n.added + n.changed + n.deleted + n.revived + n.skipped > 0);
  if (rows.length === 0) return html`<span class="muted">–</span>`;
  return html`<ul class="counts">
    ${rows.map(
      ([c, n]) => html`<li key=${c}>
        <span class="collection">${collectionTitle(c)}</span>: ${n.fetched} fetched, ${changeSummary(n)}${n.skipped > 0
          ? html`, <span class="skipped">${n.skipped} skipped (${Object.entries(n.skippedReasons).map(([r, k]) => `${r}: ${k}`).join("; ")})</span>`
          : null}
      </li>`,
    )}
  </ul>`;
}

/** Focus the page's heading after a navigation, so that a screen reader announces the new page. */
export function focusHeading(): void {
  requestAnimationFrame(() => document.querySelector<HTMLElement>("main h1")?.focus({ preventScroll: false }));
}
