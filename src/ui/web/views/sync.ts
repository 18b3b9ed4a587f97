import { html } from "htm/preact";
import { useEffect, useState } from "preact/hooks";
import { api, ApiError, type DryRunReport, type SyncProgress, type SyncRun } from "../api";
import { Confirm } from "../dialog";
import { byCollection, collectionTitle, duration, RAW_COLLECTIONS, StatusBadge } from "../format";
import { ErrorMessage } from "../load";

type Counts = SyncRun["counts"];
const COLUMNS = ["fetched", "added", "changed", "deleted", "revived", "unchanged", "skipped"] as const;

function CountsTable({ counts, caption }: { counts: Counts; caption: string }) {
  return html`<div class="scroll"><table class="counts-table">
    <caption>${caption}</caption>
    <thead><tr><th scope="col">Collection</th>${COLUMNS.map((c) => html`<th scope="col" class="num" key=${c}>${c}</th>`)}</tr></thead>
    <tbody>
      ${byCollection(counts).map(
        ([c, n]) => html`<tr key=${c}><th scope="row">${collectionTitle(c)}</th>${COLUMNS.map((k) => html`<td class="num" key=${k}>${n[k]}</td>`)}</tr>`,
      )}
    </tbody>
  </table></div>`;
}

function Progress({ sync }: { sync: SyncProgress["sync"] }) {
  const entries = Object.entries(sync?.collections ?? {});
  const allDone = entries.length === RAW_COLLECTIONS.length && entries.every(([, p]) => p.done);
  return html`<div class="progress" role="status" aria-live="polite" data-testid="progress">
    ${entries.length === 0 ? html`<p>Asking the upstream…</p>` : null}
    ${entries.length > 0
      ? html`<ul class="plain">
          ${entries.map(
            ([c, p]) => html`<li key=${c}>${c}: ${p.resources} resources in ${p.pages} ${p.pages === 1 ? "page" : "pages"}${p.done ? " ✓ complete" : " …"}</li>`,
          )}
        </ul>`
      : null}
    ${allDone ? html`<p>Everything read; converting, comparing and ${sync?.dryRun ? "deciding (nothing is written)" : "writing"}…</p>` : null}
  </div>`;
}

const OUTCOME_TEXT: Record<DryRunReport["outcome"], string> = {
  would_succeed: "The sync would succeed",
  no_changes: "The sync would change nothing",
  stopped_by_guard: "The mass-deletion guard would stop the sync",
};

export function SyncView({ upstream, onSynced }: { upstream: boolean; onSynced: () => void }) {
  const [running, setRunning] = useState<{ dryRun: boolean; force: boolean } | null>(null);
  const [progress, setProgress] = useState<SyncProgress["sync"]>(null);
  const [report, setReport] = useState<DryRunReport | null>(null);
  const [outcome, setOutcome] = useState<{ run: SyncRun; error: string | null } | null>(null);
  const [guard, setGuard] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [sure, setSure] = useState(false);

  // While a sync runs, its progress is read every half second.
  useEffect(() => {
    if (!running) return;
    let stopped = false;
    const timer = setInterval(async () => {
      try {
        const p = await api<SyncProgress>("/api/internal/sync/progress");
        if (!stopped && p.sync) setProgress(p.sync);
      } catch {
        // The next poll tries again; the sync's own answer reports any real problem.
      }
    }, 500);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [running]);

  const start = async (dryRun: boolean, force: boolean) => {
    setRunning({ dryRun, force });
    setProgress(null);
    setError(null);
    setOutcome(null);
    if (!dryRun) setGuard(null);
    try {
      const query = [...(dryRun ? ["dryRun=true"] : []), ...(force ? ["force=true"] : [])].join("&");
      const answer = await api<DryRunReport | SyncRun>(`/api/internal/sync${query ? `?${query}` : ""}`, { method: "POST" });
      if ("dryRun" in answer) {
        setReport(answer);
        setGuard(answer.guard);
      } else {
        setOutcome({ run: answer, error: null });
        setReport(null);
        onSynced();
      }
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      const body = err.body as { error?: string; run?: SyncRun } | null;
      if (body?.run) {
        setOutcome({ run: body.run, error: err.message });
        if (err.status === 422) setGuard(err.message);
        onSynced();
      } else {
        setError(err.message);
      }
    } finally {
      setRunning(null);
    }
  };

  const busy = running !== null;
  const dryRunFirst = report === null;
  const guardStops = guard !== null;
  return html`
    <h1 tabindex="-1">Sync now</h1>
    ${!upstream
      ? html`<p class="notice warn" role="note">No upstream is set, so there is nothing to sync from. Start nompd with --upstream-url (and NOMPD_UPSTREAM_API_KEY), or load files with 'nompd import PATH'.</p>`
      : null}
    <ol class="steps">
      <li>
        <strong>Dry run</strong>: read everything from the upstream and compare, writing nothing.
        <div><button type="button" disabled=${busy || !upstream} onClick=${() => start(true, false)}>${running?.dryRun ? "Dry run running…" : "Dry run"}</button></div>
      </li>
      <li>
        <strong>Sync</strong>: the same, and write the new version.
        <div>
          <button type="button" disabled=${busy || !upstream || dryRunFirst || guardStops} onClick=${() => start(false, false)}>
            ${running && !running.dryRun && !running.force ? "Sync running…" : "Run the sync"}
          </button>
          ${dryRunFirst && !busy && upstream ? html` <span class="help">Run a dry run first.</span>` : null}
        </div>
      </li>
    </ol>
    ${busy ? html`<${Progress} sync=${progress} />` : null}
    <${ErrorMessage} message=${error} />
    ${report
      ? html`<section aria-labelledby="h-report" data-testid="dry-run">
          <h2 id="h-report">Dry run: ${OUTCOME_TEXT[report.outcome]}</h2>
          <p>${report.wouldBeVersion !== null ? `It would make version ${report.wouldBeVersion} (now ${report.currentVersion}).` : `The version would stay ${report.currentVersion}.`} Nothing was written.</p>
          <${CountsTable} counts=${report.counts} caption="What the sync would do, per collection" />
        </section>`
      : null}
    ${outcome
      ? html`<section aria-labelledby="h-outcome" data-testid="outcome">
          <h2 id="h-outcome">Sync run #${outcome.run.id}: <${StatusBadge} status=${outcome.run.status} /></h2>
          <p>
            ${outcome.run.status === "succeeded" ? `Dataset version ${outcome.run.version} is served now. ` : ""}
            ${outcome.run.status === "no_changes" ? `Nothing changed; version ${outcome.run.version} stays. ` : ""}
            Took ${duration(outcome.run.startedAt, outcome.run.finishedAt)}. <a href="#/status">See it in the runs on the status page</a>.
          </p>
          ${outcome.error && outcome.run.status !== "aborted_by_guard" ? html`<p class="error" role="alert">${outcome.error}</p>` : null}
          <${CountsTable} counts=${outcome.run.counts} caption="What the sync did, per collection" />
        </section>`
      : null}
    ${guard
      ? html`<section class="notice warn" aria-labelledby="h-guard" data-testid="guard">
          <h2 id="h-guard">The mass-deletion guard's verdict</h2>
          <p role="alert">${guard}</p>
          <p>If the upstream really removed these documents, the sync can be forced.</p>
          <button type="button" class="danger" disabled=${busy} onClick=${() => {
            setSure(false);
            setConfirming(true);
          }}>Force the sync…</button>
        </section>`
      : null}
    ${confirming
      ? html`<${Confirm} title="Force the sync past the guard?" confirmLabel="Force the sync" canConfirm=${sure}
          onCancel=${() => setConfirming(false)} onConfirm=${() => {
            setConfirming(false);
            void start(false, true);
          }}>
          <p>${guard}</p>
          <p>A forced sync deletes these documents from the served data (they stay in the history).</p>
          <p class="check"><input type="checkbox" id="force-sure" checked=${sure} onChange=${(e: Event) => setSure((e.target as HTMLInputElement).checked)} />
            <label for="force-sure">I have checked the upstream: these deletions are real.</label></p>
        </${Confirm}>`
      : null}
  `;
}
