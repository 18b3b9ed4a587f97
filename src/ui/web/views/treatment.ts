import { html } from "htm/preact";
import { useMemo, useState } from "preact/hooks";
import { api, enc, type ListOf, type TreatmentGroup, type Versioned } from "../api";
import { conceptText, periodText } from "../diff";
import { Time } from "../format";
import { ErrorMessage, Loading, useLoad } from "../load";

const norm = (s: string) => s.trim().toLocaleLowerCase("nb");

/** ICD-10 codes of a group's indications. */
const codes = (g: TreatmentGroup) => g.indications.flatMap((cc) => cc.coding.map((c) => c.code ?? "")).filter((c) => c !== "");

function Medicines({ list }: { list: TreatmentGroup["treatmentAlternatives"][number]["medicines"] }) {
  if (list.length === 0) return html`<span class="muted">none listed</span>`;
  return html`<ul class="inline">${list.map((m) => html`<li key=${m.identifier.value}><code>${m.identifier.value}</code></li>`)}</ul>`;
}

// The whole list is read once (it is small, and answered with an ETag): searching then filters it here,
// instantly, on any mix of the four criteria.
export function TreatmentGroupsView() {
  const list = useLoad((signal) => api<ListOf<TreatmentGroup>>("/api/v1/treatmentGroup", { signal }), []);
  const [name, setName] = useState("");
  const [disease, setDisease] = useState("");
  const [region, setRegion] = useState("");
  const [icd, setIcd] = useState("");
  const groups = list.data?.items.map((i) => i.data) ?? [];
  const diseases = useMemo(() => [...new Set(groups.map((g) => g.diseaseGroup).filter((d): d is string => d !== null))].sort((a, b) => a.localeCompare(b, "nb")), [list.data]);
  const regions = useMemo(() => {
    const m = new Map<string, string>();
    for (const g of groups) for (const j of g.jurisdictions) if (j.code) m.set(j.code, j.display ?? j.code);
    return [...m].sort((a, b) => a[0].localeCompare(b[0]));
  }, [list.data]);
  const found = groups.filter(
    (g) =>
      (name === "" || norm(g.name ?? "").includes(norm(name))) &&
      (disease === "" || g.diseaseGroup === disease) &&
      (region === "" || g.jurisdictions.some((j) => j.code === region)) &&
      (icd === "" || codes(g).some((c) => norm(c).startsWith(norm(icd)))),
  );
  return html`
    <h1 tabindex="-1">Treatment groups</h1>
    <form role="search" aria-label="Treatment groups" class="filters" onSubmit=${(e: Event) => e.preventDefault()}>
      <div class="field">
        <label for="tg-name">Name</label>
        <input id="tg-name" type="search" value=${name} onInput=${(e: Event) => setName((e.target as HTMLInputElement).value)} autocomplete="off" />
      </div>
      <div class="field">
        <label for="tg-disease">Disease group</label>
        <select id="tg-disease" value=${disease} onChange=${(e: Event) => setDisease((e.target as HTMLSelectElement).value)}>
          <option value="">Any</option>
          ${diseases.map((d) => html`<option key=${d} value=${d} lang="nb">${d}</option>`)}
        </select>
      </div>
      <div class="field">
        <label for="tg-region">Region (RHF)</label>
        <select id="tg-region" value=${region} onChange=${(e: Event) => setRegion((e.target as HTMLSelectElement).value)}>
          <option value="">Any</option>
          ${regions.map(([code, display]) => html`<option key=${code} value=${code} lang="nb">${display} (${code})</option>`)}
        </select>
      </div>
      <div class="field">
        <label for="tg-icd">ICD-10 code</label>
        <input id="tg-icd" type="search" value=${icd} placeholder="e.g. G35" onInput=${(e: Event) => setIcd((e.target as HTMLInputElement).value)} autocomplete="off" />
      </div>
    </form>
    <${ErrorMessage} message=${list.error} />
    ${list.loading && !list.data ? html`<${Loading} what="the treatment groups" />` : null}
    ${list.data
      ? html`
          <p role="status" aria-live="polite" class="count">${found.length} of ${groups.length} treatment groups</p>
          <div class="scroll">
            <table data-testid="treatment-groups">
              <caption class="visually-hidden">Treatment groups found</caption>
              <thead><tr><th scope="col">Name</th><th scope="col">Disease group</th><th scope="col">Regions</th><th scope="col">Valid</th><th scope="col">Rank 1</th></tr></thead>
              <tbody lang="nb">
                ${found.map(
                  (g) => html`<tr key=${g.id}>
                    <th scope="row"><a href=${`#/treatment-groups/${enc(g.id)}`}>${g.name ?? g.id}</a></th>
                    <td>${g.diseaseGroup ?? ""}</td>
                    <td>${g.jurisdictions.map((j) => j.display ?? j.code).join(", ")}</td>
                    <td class="nowrap">${periodText(g.validityPeriod)}</td>
                    <td>${g.treatmentAlternatives.filter((a) => a.rank === 1).map((a) => a.name).join(", ")}</td>
                  </tr>`,
                )}
              </tbody>
            </table>
          </div>
        `
      : null}
  `;
}

export function TreatmentGroupView({ id }: { id: string }) {
  const item = useLoad((signal) => api<Versioned<TreatmentGroup>>(`/api/v1/treatmentGroup/${enc(id)}`, { signal }), [id]);
  const g = item.data?.data;
  return html`
    <p class="crumbs"><a href="#/treatment-groups">Treatment groups</a> › ${g?.name ?? id}</p>
    <h1 tabindex="-1" lang="nb">${g?.name ?? "Treatment group"}</h1>
    <${ErrorMessage} message=${item.error} />
    ${item.loading && !g ? html`<${Loading} what="the treatment group" />` : null}
    ${g
      ? html`
          ${g.description ? html`<p lang="nb">${g.description}</p>` : null}
          <dl class="facts">
            <dt>Disease group</dt><dd lang="nb">${g.diseaseGroup ?? html`<span class="muted">none</span>`}</dd>
            <dt>Valid</dt><dd>${periodText(g.validityPeriod)}</dd>
            <dt>Review date</dt><dd>${g.reviewDate ?? html`<span class="muted">none</span>`}</dd>
            <dt>Regions</dt>
            <dd><ul class="plain" lang="nb">${g.jurisdictions.map((j) => html`<li key=${j.code}>${j.display ?? j.code} <span class="muted">(${j.code})</span></li>`)}</ul></dd>
            <dt>Indications</dt>
            <dd><ul class="plain" lang="nb">${g.indications.map((cc, i) => html`<li key=${i}>${conceptText(cc)}</li>`)}</ul></dd>
            <dt>Last changed</dt><dd>version ${item.data!.version}, <${Time} iso=${item.data!.lastChanged} /></dd>
            <dt>Id</dt><dd><code>${g.id}</code></dd>
          </dl>
          <h2>Ranked alternatives</h2>
          <table class="ranking" data-testid="ranking">
            <caption class="visually-hidden">Treatment alternatives by rank</caption>
            <thead><tr><th scope="col" class="num">Rank</th><th scope="col">Alternative</th><th scope="col">Medicines (varenummer)</th></tr></thead>
            <tbody lang="nb">
              ${g.treatmentAlternatives.map(
                (a, i) => html`<tr key=${a.treatmentId ?? i} class=${a.rank === 1 ? "first" : ""}>
                  <td class="num rank">${a.rank}</td>
                  <th scope="row">${a.name ?? html`<span class="muted">unnamed</span>`}${a.description ? html`<div class="muted small">${a.description}</div>` : null}</th>
                  <td><${Medicines} list=${a.medicines} /></td>
                </tr>`,
              )}
            </tbody>
          </table>
        `
      : null}
  `;
}
