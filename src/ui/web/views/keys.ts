import { html } from "htm/preact";
import { useRef, useState } from "preact/hooks";
import { api, ApiError, enc, type ApiKey, type NewApiKey } from "../api";
import { Confirm } from "../dialog";
import { Time } from "../format";
import { ErrorMessage, Loading, useLoad } from "../load";

/** Copies text: the Clipboard API where the browser allows it (HTTPS, localhost), else the selection. */
async function copy(text: string, input: HTMLInputElement | null): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (!input) return false;
    input.select();
    return document.execCommand("copy");
  }
}

function NewKey({ created, onDone }: { created: NewApiKey; onDone: () => void }) {
  const input = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<boolean | null>(null);
  return html`<section class="notice ok" aria-labelledby="h-new-key" data-testid="new-key">
    <h2 id="h-new-key">Key “${created.name}” created (${created.scope})</h2>
    <p><strong>Copy it now: it is shown only this once.</strong> Only a hash of it is stored.</p>
    <div class="copy">
      <label for="new-key-value">New key</label>
      <input id="new-key-value" ref=${input} readonly value=${created.key} onFocus=${(e: Event) => (e.target as HTMLInputElement).select()} />
      <button type="button" onClick=${async () => setCopied(await copy(created.key, input.current))}>Copy</button>
    </div>
    <p role="status" aria-live="polite">${copied === true ? "Copied to the clipboard." : copied === false ? "Copying failed: select the key and copy it by hand." : ""}</p>
    <button type="button" class="secondary" onClick=${onDone}>Done</button>
  </section>`;
}

export function KeysView({ me }: { me: string }) {
  const keys = useLoad((signal) => api<{ keys: ApiKey[] }>("/api/internal/keys", { signal }), []);
  const [name, setName] = useState("");
  const [scope, setScope] = useState<"read" | "admin">("read");
  const [created, setCreated] = useState<NewApiKey | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [revoking, setRevoking] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const create = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setNotice(null);
    setBusy(true);
    try {
      setCreated(await api<NewApiKey>("/api/internal/keys", { method: "POST", body: { name: name.trim(), scope } }));
      setName("");
      keys.reload();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  const revoke = async (key: string) => {
    setRevoking(null);
    setError(null);
    try {
      await api<ApiKey>(`/api/internal/keys/${enc(key)}`, { method: "DELETE" });
      setNotice(`The key “${key}” is revoked: requests with it get 401 from now on.`);
      keys.reload();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  };

  return html`
    <h1 tabindex="-1">API keys</h1>
    <section aria-labelledby="h-create">
      <h2 id="h-create">Create a key</h2>
      <form class="filters" onSubmit=${create}>
        <div class="field">
          <label for="key-name">Name</label>
          <input id="key-name" required value=${name} aria-describedby="key-name-help" autocomplete="off"
            onInput=${(e: Event) => setName((e.target as HTMLInputElement).value)} />
          <span id="key-name-help" class="help">The system that will use it, e.g. pharmacy-system: letters, digits, '.', '_' or '-'.</span>
        </div>
        <div class="field">
          <label for="key-scope">Scope</label>
          <select id="key-scope" value=${scope} onChange=${(e: Event) => setScope((e.target as HTMLSelectElement).value as "read" | "admin")}>
            <option value="read">read: the data</option>
            <option value="admin">admin: also keys and sync</option>
          </select>
        </div>
        <div class="field actions"><button type="submit" disabled=${busy}>${busy ? "Creating…" : "Create key"}</button></div>
      </form>
    </section>
    <${ErrorMessage} message=${error} />
    ${created ? html`<${NewKey} created=${created} onDone=${() => setCreated(null)} />` : null}
    ${notice ? html`<p class="notice ok" role="status">${notice}</p>` : null}
    <section aria-labelledby="h-keys">
      <h2 id="h-keys">Keys</h2>
      <${ErrorMessage} message=${keys.error} />
      ${keys.loading && !keys.data ? html`<${Loading} what="the keys" />` : null}
      ${keys.data
        ? html`<div class="scroll"><table data-testid="keys">
            <caption class="visually-hidden">API keys by name; revoked ones included</caption>
            <thead><tr><th scope="col">Name</th><th scope="col">Scope</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">State</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>
              ${keys.data.keys.map(
                (k, i) => html`<tr key=${`${k.name}-${i}`} class=${k.revokedAt ? "revoked" : ""}>
                  <th scope="row">${k.name}${k.name === me && !k.revokedAt ? html` <span class="muted">(your key)</span>` : null}</th>
                  <td>${k.scope}</td>
                  <td><${Time} iso=${k.createdAt} /></td>
                  <td><${Time} iso=${k.lastUsedAt} /></td>
                  <td>${k.revokedAt ? html`Revoked <${Time} iso=${k.revokedAt} />` : "Active"}</td>
                  <td>${!k.revokedAt && k.name !== me
                    ? html`<button type="button" class="danger small" aria-label=${`Revoke the key ${k.name}`} onClick=${() => setRevoking(k.name)}>Revoke</button>`
                    : null}</td>
                </tr>`,
              )}
            </tbody>
          </table></div>
          <p class="help">Last use is noted at most once a minute.</p>`
        : null}
    </section>
    ${revoking
      ? html`<${Confirm} title=${`Revoke the key “${revoking}”?`} confirmLabel="Revoke" onCancel=${() => setRevoking(null)} onConfirm=${() => revoke(revoking)}>
          <p>Every system that uses this key gets 401 at once. This cannot be undone; a new key can be created instead.</p>
        </${Confirm}>`
      : null}
  `;
}
