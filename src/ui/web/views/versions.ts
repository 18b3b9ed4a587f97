import { html } from "htm/preact";
import { useState } from "preact/hooks";
import { api, ApiError, enc, type ListOf, type VersionChanges, type VersionList } from "../api";
import { changesOf } from "../diff";
import { changeSummary, collectionTitle, OUTPUT_COLLECTIONS, RAW_COLLECTIONS as RAW, Time } from "../format";
import { ErrorMessage, Loading, useLoad } from "../load";

const PAGE = 50;

/** The upstream collections' counts added up: one column for the raw FHIR resources. */
function rawTotal(counts: Record<string, { added: number; changed: number; deleted: number; revived: number }> | null) {
  if (!counts) return undefined;
  const t = { added: 0, changed: 0, deleted: 0, revived: 0 };
  for (const c of RAW) for (const k of ["added", "changed", "deleted", "revived"] as const) t[k] += counts[c]?.[k] ?? 0;
  return t;
}

export function VersionsView() {
  const [older, setOlder] = useState<VersionList["versions"]>([]);
  const [more, setMore] = useState<{ loading: boolean; error: string | null; done: boolean }>({ loading: false, error: null, done: false });
  const first = useLoad((signal) => api<VersionList>(`/api/v1/versions?limit=${PAGE}`, { signal }), []);
  const versions = [...(first.data?.versions ?? []), ...older];
  const canLoadMore = first.data !== null && !more.done && versions.length > 0 && versions.length % PAGE === 0 && versions[versions.length - 1]!.version > 1;

  const loadMore = async () => {
    setMore({ loading: true, error: null, done: false });
    try {
      const next = await api<VersionList>(`/api/v1/versions?limit=${PAGE}&before=${versions[versions.length - 1]!.version}`);
      setOlder([...older, ...next.versions]);
      setMore({ loading: false, error: null, done: next.versions.length < PAGE });
    } catch (err) {
      setMore({ loading: false, error: (err as Error).message, done: false });
    }
  };

  return html`
    <h1 tabindex="-1">Versions</h1>
    <p>Every sync that changed something made a dataset version. Open one to see which items it changed.</p>
    <${ErrorMessage} message=${first.error} />
    ${first.loading && !first.data ? html`<${Loading} what="the versions" />` : null}
    ${first.data && versions.length === 0 ? html`<p>No dataset version yet: the database is empty.</p>` : null}
    ${versions.length > 0
      ? html`<div class="scroll">
          <table data-testid="versions">
            <caption class="visually-hidden">Dataset versions, newest first, with their changes per collection</caption>
            <thead>
              <tr>
                <th scope="col">Version</th><th scope="col">Time</th>
                ${OUTPUT_COLLECTIONS.map((c) => html`<th scope="col" key=${c}>${collectionTitle(c)}</th>`)}
                <th scope="col">Upstream resources</th>
              </tr>
            </thead>
            <tbody>
              ${versions.map(
                (v) => html`<tr key=${v.version}>
                  <th scope="row"><a href=${`#/versions/${v.version}`}>Version ${v.version}</a>${v.version === first.data!.currentVersion ? html` <span class="badge info">current</span>` : null}</th>
                  <td><${Time} iso=${v.createdAt} /></td>
                  ${OUTPUT_COLLECTIONS.map((c) => html`<td key=${c}>${changeSummary(v.counts?.[c])}</td>`)}
                  <td>${changeSummary(rawTotal(v.counts))}</td>
                </tr>`,
              )}
            </tbody>
          </table>
        </div>`
      : null}
    <${ErrorMessage} message=${more.error} />
    ${canLoadMore ? html`<p><button type="button" class="secondary" disabled=${more.loading} onClick=${loadMore}>${more.loading ? "Loading…" : "Older versions"}</button></p>` : null}
  `;
}

const KIND_TEXT = { added: "Added", changed: "Changed", deleted: "Deleted", revived: "Revived" } as const;
const KIND_TONE = { added: "ok", changed: "info", deleted: "bad", revived: "info" } as const;

export function VersionView({ version }: { version: number }) {
  const loaded = useLoad((signal) => api<VersionChanges>(`/api/v1/versions/${version}`, { signal }), [version]);
  const v = loaded.data;
  const byCollection = new Map<string, VersionChanges["changes"]>();
  for (const c of v?.changes ?? []) byCollection.set(c.collection, [...(byCollection.get(c.collection) ?? []), c]);
  const section = (c: string, items: VersionChanges["changes"]) => html`
    <ul class="changes">
      ${items.map(
        (i) => html`<li key=${i.id}>
          <span class=${`badge ${KIND_TONE[i.change]}`}>${KIND_TEXT[i.change]}</span>
          ${OUTPUT_COLLECTIONS.includes(c)
            ? html`<a href=${`#/versions/${version}/${c}/${enc(i.id)}`} lang="nb">${i.label ?? i.id}</a>`
            : html`<span lang="nb">${i.label ?? i.id}</span>`}
          ${i.label ? html` <span class="muted id">${i.id}</span>` : null}
        </li>`,
      )}
    </ul>
  `;
  return html`
    <p class="crumbs"><a href="#/versions">Versions</a> › Version ${version}</p>
    <h1 tabindex="-1">Version ${version}</h1>
    <${ErrorMessage} message=${loaded.error} />
    ${loaded.loading && !v ? html`<${Loading} what="the changes" />` : null}
    ${v
      ? html`
          <p>Made <${Time} iso=${v.version.createdAt} />${v.version.runId !== null ? ` by sync run #${v.version.runId}` : ""}. Open an item to see what changed in it.</p>
          ${OUTPUT_COLLECTIONS.map((c) => {
            const items = byCollection.get(c) ?? [];
            return html`<section key=${c} aria-labelledby=${`h-${c}`}>
              <h2 id=${`h-${c}`}>${collectionTitle(c)}: ${changeSummary(v.version.counts?.[c]) }</h2>
              ${items.length ? section(c, items) : html`<p class="muted">No changes.</p>`}
            </section>`;
          })}
          <section aria-labelledby="h-raw">
            <h2 id="h-raw">Upstream resources</h2>
            ${RAW.map((c) => {
              const items = byCollection.get(c) ?? [];
              return html`<details key=${c}>
                <summary>${c}: ${changeSummary(v.version.counts?.[c])}</summary>
                ${items.length ? section(c, items) : html`<p class="muted">No changes.</p>`}
              </details>`;
            })}
          </section>
        `
      : null}
  `;
}

interface ItemChange {
  kind: "added" | "changed" | "deleted" | "revived";
  label: string;
  lines: string[];
}

/** The item's name as the version's list of changes gives it (the label rule of src/collections.ts), else its id. */
const labelOf = (collection: string, data: unknown): string => {
  const d = data as { id: string; name?: string | null; diseaseGroup?: string | null; indications?: Array<{ coding: Array<{ display: string | null; code: string | null }> }> };
  if (collection === "treatmentGroup") return d.name ?? d.diseaseGroup ?? d.id;
  const first = d.indications?.[0]?.coding[0];
  return first?.display ?? first?.code ?? d.id;
};

/** One item at one version, against the item's version before: read from its history. */
async function itemChange(collection: string, id: string, version: number, signal: AbortSignal): Promise<ItemChange> {
  const history = await api<ListOf<unknown>>(`/api/v1/${collection}/${enc(id)}/history`, { signal });
  const at = history.items.find((i) => i.version === version);
  if (!at) throw new ApiError(404, `The history of ${id} has no entry at version ${version}: the item did not change then, or that history was pruned.`);
  const before = history.items.find((i) => i.version < version) ?? null;
  const label = labelOf(collection, at.data);
  if (at.isDeleted) return { kind: "deleted", label, lines: [] };
  if (before === null) return { kind: "added", label, lines: [] };
  if (before.isDeleted) return { kind: "revived", label, lines: changesOf(collection, before.data, at.data) };
  return { kind: "changed", label, lines: changesOf(collection, before.data, at.data) };
}

export function ItemChangeView({ version, collection, id }: { version: number; collection: string; id: string }) {
  const loaded = useLoad((signal) => itemChange(collection, id, version, signal), [version, collection, id]);
  const c = loaded.data;
  return html`
    <p class="crumbs"><a href="#/versions">Versions</a> › <a href=${`#/versions/${version}`}>Version ${version}</a> › ${collectionTitle(collection)}</p>
    <h1 tabindex="-1" lang="nb">${c?.label ?? id}</h1>
    <${ErrorMessage} message=${loaded.error} />
    ${loaded.loading && !c ? html`<${Loading} what="the item's history" />` : null}
    ${c
      ? html`
          <p><span class=${`badge ${KIND_TONE[c.kind]}`}>${KIND_TEXT[c.kind]}</span> in version ${version}. <span class="muted id">${id}</span></p>
          ${c.kind === "added" ? html`<p>The item is new in this version.</p>` : null}
          ${c.kind === "deleted" ? html`<p>The item was deleted in this version.</p>` : null}
          ${c.lines.length
            ? html`<h2>What changed</h2>
                <ul class="diff" data-testid="diff" lang="nb">${c.lines.map((l, i) => html`<li key=${i}>${l}</li>`)}</ul>`
            : null}
          ${collection === "treatmentGroup" && c.kind !== "deleted"
            ? html`<p><a href=${`#/treatment-groups/${enc(id)}`}>Open the treatment group as it is now</a></p>`
            : null}
        `
      : null}
  `;
}
