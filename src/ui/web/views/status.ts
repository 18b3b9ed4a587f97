import { html } from "htm/preact";
import { useEffect } from "preact/hooks";
import { api, type Status } from "../api";
import { byCollection, collectionTitle, duration, RAW_COLLECTIONS, RunCounts, StatusBadge, Time } from "../format";
import { ErrorMessage, Loading, useLoad } from "../load";

function LockText({ lock }: { lock: Status["lock"] }) {
  if (lock.state === "free") return html`<span>Free: no sync runs now</span>`;
  const who = html`${lock.trigger} sync, process ${lock.pid} on ${lock.host}, started <${Time} iso=${lock.startedAt} />`;
  if (lock.state === "held") return html`<span><span class="badge info">Held</span> by a live process: ${who}</span>`;
  return html`<span><span class="badge warn">Leftover</span> from a sync that stopped (${who}); the next sync takes it over</span>`;
}

/** `initial`: the status the page fetched a moment ago (to check the key), shown until Refresh. */
export function StatusView({ initial, onStatus }: { initial: Status | null; onStatus: (s: Status) => void }) {
  const status = useLoad((signal) => api<Status>("/api/v1/status", { signal }), [], initial);
  useEffect(() => {
    if (status.data) onStatus(status.data);
  }, [status.data]);
  const s = status.data;
  return html`
    <h1 tabindex="-1">Status</h1>
    <p><button type="button" class="secondary" onClick=${status.reload}>Refresh</button></p>
    <${ErrorMessage} message=${status.error} />
    ${!s && !status.error ? html`<${Loading} what="the status" />` : null}
    ${s
      ? html`
          <div class="cards">
            <section class="card" aria-labelledby="h-dataset">
              <h2 id="h-dataset">Dataset</h2>
              <dl>
                <dt>Current version</dt>
                <dd data-testid="current-version">${s.currentVersion}</dd>
                <dt>Dataset id</dt>
                <dd><code>${s.datasetId}</code></dd>
                <dt>Data</dt>
                <dd>${s.sample ? html`<span class="badge warn">Sample dataset</span> invented data, not for patients` : "Real data from the upstream or an import"}</dd>
              </dl>
            </section>
            <section class="card" aria-labelledby="h-sync">
              <h2 id="h-sync">Sync</h2>
              <dl>
                <dt>Last successful sync</dt>
                <dd><${Time} iso=${s.lastSuccessfulSync} /></dd>
                <dt>Next scheduled sync</dt>
                <dd>
                  ${s.schedule
                    ? html`<${Time} iso=${s.nextScheduledSync} empty="none" /> <span class="muted">(${s.schedule.cron}, ${s.schedule.timeZone})</span>`
                    : html`<span class="muted">${s.upstream ? "no schedule (--no-sync-schedule)" : "no schedule: no upstream is set"}</span>`}
                </dd>
                <dt>Sync lock</dt>
                <dd data-testid="lock"><${LockText} lock=${s.lock} /></dd>
                ${s.follow
                  ? html`
                      <dt>Follows</dt>
                      <dd data-testid="follow">
                        <code>${s.follow.primary}</code>, at its version ${s.follow.primaryVersion ?? "(not seen yet)"};
                        ${s.follow.lagSeconds === null ? " not caught up yet" : ` ${s.follow.lagSeconds} s behind (at most ${s.follow.maxLagSeconds} s)`}
                        ${s.follow.unreachableSince ? html`<br /><span class="badge warn">Unreachable</span> since <${Time} iso=${s.follow.unreachableSince} />: ${s.follow.lastError}` : ""}
                      </dd>
                    `
                  : ""}
              </dl>
            </section>
            <section class="card" aria-labelledby="h-docs">
              <h2 id="h-docs">Documents</h2>
              <div class="scroll"><table class="compact">
                <caption class="visually-hidden">Documents per collection</caption>
                <thead><tr><th scope="col">Collection</th><th scope="col" class="num">Live</th><th scope="col" class="num">Deleted</th></tr></thead>
                <tbody>
                  ${byCollection(s.collections).map(
                    ([c, n]) => html`<tr key=${c}>
                      <th scope="row">${collectionTitle(c)}${RAW_COLLECTIONS.includes(c) ? html` <span class="muted small">upstream</span>` : null}</th>
                      <td class="num">${n.live}</td><td class="num">${n.deleted}</td>
                    </tr>`,
                  )}
                </tbody>
              </table></div>
            </section>
          </div>
          <section aria-labelledby="h-runs">
            <h2 id="h-runs">Last ${s.runs.length === 1 ? "run" : `${s.runs.length} runs`}</h2>
            ${s.runs.length === 0
              ? html`<p class="muted">No sync has run yet.</p>`
              : html`<div class="scroll">
                  <table class="runs" data-testid="runs">
                    <caption class="visually-hidden">Sync runs, newest first</caption>
                    <thead>
                      <tr>
                        <th scope="col">Run</th><th scope="col">Status</th><th scope="col">Trigger</th><th scope="col">Started</th>
                        <th scope="col">Duration</th><th scope="col" class="num">Version</th><th scope="col">Counts per collection</th><th scope="col">Error</th>
                      </tr>
                    </thead>
                    <tbody>
                      ${s.runs.map(
                        (r) => html`<tr key=${r.id}>
                          <th scope="row">#${r.id}</th>
                          <td><${StatusBadge} status=${r.status} /></td>
                          <td>${r.trigger}</td>
                          <td><${Time} iso=${r.startedAt} /></td>
                          <td>${duration(r.startedAt, r.finishedAt)}</td>
                          <td class="num">${r.version ?? "–"}</td>
                          <td><${RunCounts} counts=${r.counts} /></td>
                          <td class="error-text">${r.error ?? ""}</td>
                        </tr>`,
                      )}
                    </tbody>
                  </table>
                </div>`}
          </section>
        `
      : null}
  `;
}
