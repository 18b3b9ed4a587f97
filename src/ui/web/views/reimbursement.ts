import { html } from "htm/preact";
import { useState } from "preact/hooks";
import { api, ApiError, enc, type ListOf, type ReimbursementGroup } from "../api";
import { conceptText } from "../diff";
import { ErrorMessage } from "../load";

interface Search {
  varenummer: string;
  icd: string;
}

/** The server's filters do the search: varenummer and indication, combined with AND; none lists all. */
function searchPath(s: Search): string {
  const params = [...(s.varenummer.trim() ? [`varenummer=${enc(s.varenummer.trim())}`] : []), ...(s.icd.trim() ? [`indication=${enc(s.icd.trim().toUpperCase())}`] : [])];
  return `/api/v1/reimbursementGroup${params.length ? `?${params.join("&")}` : ""}`;
}

function Group({ g }: { g: ReimbursementGroup }) {
  const title = g.indications.length ? g.indications.map(conceptText).join("; ") : g.id;
  return html`<article class="card group" aria-labelledby=${`rg-${g.id}`}>
    <h2 id=${`rg-${g.id}`} lang="nb">${title}</h2>
    <dl class="facts">
      <dt>Legal basis</dt>
      <dd lang="nb">${g.legalBasis ? conceptText(g.legalBasis) : html`<span class="muted">none</span>`}</dd>
      <dt>Indications</dt>
      <dd><ul class="plain" lang="nb">${g.indications.map((cc, i) => html`<li key=${i}>${conceptText(cc)}</li>`)}</ul></dd>
      <dt>Medicines (varenummer)</dt>
      <dd>${g.medicines.length ? html`<ul class="inline">${g.medicines.map((m) => html`<li key=${m.identifier.value}><code>${m.identifier.value}</code></li>`)}</ul>` : html`<span class="muted">none listed</span>`}</dd>
      <dt>Id</dt>
      <dd><code>${g.id}</code></dd>
    </dl>
  </article>`;
}

export function ReimbursementGroupsView() {
  const [form, setForm] = useState<Search>({ varenummer: "", icd: "" });
  const [result, setResult] = useState<{ search: Search; groups: ReimbursementGroup[] } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    const search = { ...form };
    if (search.varenummer.trim() !== "" && !/^\d+$/.test(search.varenummer.trim())) {
      setError("A varenummer is digits only, e.g. 166028.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const list = await api<ListOf<ReimbursementGroup>>(searchPath(search));
      setResult({ search, groups: list.items.map((i) => i.data) });
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  const what = result ? [result.search.varenummer.trim() && `varenummer ${result.search.varenummer.trim()}`, result.search.icd.trim() && `ICD-10 ${result.search.icd.trim().toUpperCase()}`].filter(Boolean).join(" and ") : "";
  return html`
    <h1 tabindex="-1">Reimbursement groups</h1>
    <p>Search by varenummer or ICD-10 code (both: groups that match both). Leave both empty to list every group.</p>
    <form role="search" aria-label="Reimbursement groups" class="filters" onSubmit=${submit}>
      <div class="field">
        <label for="rg-varenummer">Varenummer</label>
        <input id="rg-varenummer" inputmode="numeric" value=${form.varenummer} placeholder="e.g. 166028" autocomplete="off"
          onInput=${(e: Event) => setForm({ ...form, varenummer: (e.target as HTMLInputElement).value })} />
      </div>
      <div class="field">
        <label for="rg-icd">ICD-10 code</label>
        <input id="rg-icd" value=${form.icd} placeholder="e.g. G35" autocomplete="off" onInput=${(e: Event) => setForm({ ...form, icd: (e.target as HTMLInputElement).value })} />
      </div>
      <div class="field actions"><button type="submit" disabled=${busy}>${busy ? "Searching…" : "Search"}</button></div>
    </form>
    <${ErrorMessage} message=${error} />
    ${result
      ? html`<p role="status" aria-live="polite" class="count">${result.groups.length} reimbursement ${result.groups.length === 1 ? "group" : "groups"}${what ? ` with ${what}` : ""}</p>
          <div class="groups" data-testid="reimbursement-groups">${result.groups.map((g) => html`<${Group} key=${g.id} g=${g} />`)}</div>`
      : null}
  `;
}
