import { html, render } from "htm/preact";
import { useEffect, useState } from "preact/hooks";
import { api, ApiError, INVALID_KEY, session, whenUnauthorized, type Status } from "./api";
import { focusHeading } from "./format";
import { KeysView } from "./views/keys";
import { ReimbursementGroupsView } from "./views/reimbursement";
import { StatusView } from "./views/status";
import { SyncView } from "./views/sync";
import { TreatmentGroupsView, TreatmentGroupView } from "./views/treatment";
import { ItemChangeView, VersionsView, VersionView } from "./views/versions";

/** Who is signed in, as the status answer told: the page shows admin parts to admin keys only. */
interface Signed {
  name: string;
  scope: "read" | "admin";
  sample: boolean;
  upstream: boolean;
}

const signedOf = (s: Status): Signed => ({ name: s.caller.name, scope: s.caller.scope, sample: s.sample, upstream: s.upstream });

/** The part of the page after #: routes live there, so that nothing (least of all the key) goes to the server. */
function useRoute(): string[] {
  const read = () => location.hash.replace(/^#\/?/, "").split("/").filter((p) => p !== "").map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const changed = () => {
      setRoute(read());
      focusHeading();
    };
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  return route;
}

function SignIn({ message, onSignedIn }: { message: string | null; onSignedIn: (s: Status) => void }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState<string | null>(message);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const presented = key.trim();
    if (presented === "") {
      setError("Enter an API key.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const status = await api<Status>("/api/v1/status", { key: presented });
      session.save(presented);
      onSignedIn(status);
    } catch (err) {
      setError(err instanceof ApiError ? (err.status === 401 ? INVALID_KEY : err.message) : String(err));
    } finally {
      setBusy(false);
    }
  };
  return html`<main id="main" class="signin">
    <h1 tabindex="-1">Sign in to Nompd</h1>
    <form onSubmit=${submit} class="card">
      <div class="field">
        <label for="api-key">API key</label>
        <input id="api-key" type="password" autocomplete="off" spellcheck="false" value=${key} aria-describedby="api-key-help"
          aria-invalid=${error ? "true" : "false"} onInput=${(e: Event) => setKey((e.target as HTMLInputElement).value)} />
        <span id="api-key-help" class="help">Kept in this browser tab only, and sent in the X-API-KEY header. A read key shows the data; an admin key also the keys and the sync.</span>
      </div>
      ${error ? html`<p class="error" role="alert" data-testid="signin-error">${error}</p>` : null}
      <button type="submit" disabled=${busy}>${busy ? "Signing in…" : "Sign in"}</button>
    </form>
  </main>`;
}

/** The pages in the navigation, by the first part of their route (#/page). */
const NAV: Array<{ page: string; label: string; admin?: boolean }> = [
  { page: "status", label: "Status" },
  { page: "versions", label: "Versions" },
  { page: "treatment-groups", label: "Treatment groups" },
  { page: "reimbursement-groups", label: "Reimbursement groups" },
  { page: "keys", label: "Keys", admin: true },
  { page: "sync", label: "Sync now", admin: true },
];

const TITLES: Record<string, string> = {
  status: "Status",
  versions: "Versions",
  "treatment-groups": "Treatment groups",
  "reimbursement-groups": "Reimbursement groups",
  keys: "API keys",
  sync: "Sync now",
};

function App() {
  const route = useRoute();
  const [signed, setSigned] = useState<Signed | null>(null);
  const [checking, setChecking] = useState(session.key() !== null);
  const [message, setMessage] = useState<string | null>(null);
  // The status fetched to check the key: the status view shows it rather than asking again at once.
  // Kept for the first view only: a later visit to the status asks for a new one.
  const [fresh, setFresh] = useState<Status | null>(null);
  useEffect(() => setFresh(null), [signed]);

  const signOut = (why: string | null) => {
    session.clear();
    setSigned(null);
    setMessage(why);
  };

  useEffect(() => {
    whenUnauthorized((why) => signOut(why));
    // A key kept from earlier in this tab: check it is still good.
    if (session.key() === null) return;
    api<Status>("/api/v1/status").then(
      (s) => {
        setSigned(signedOf(s));
        setFresh(s);
        setChecking(false);
      },
      (err) => {
        setChecking(false);
        if (!(err instanceof ApiError && err.status === 401)) setMessage(err instanceof ApiError ? err.message : String(err));
        session.clear();
      },
    );
  }, []);

  const page = route[0] ?? "status";
  useEffect(() => {
    document.title = signed ? `${TITLES[page] ?? "Nompd"} · Nompd` : "Sign in · Nompd";
  }, [page, signed]);

  if (checking) return html`<main id="main"><p role="status">Checking the key…</p></main>`;
  if (!signed) {
    return html`<${SignIn} message=${message} onSignedIn=${(s: Status) => {
      setMessage(null);
      setSigned(signedOf(s));
      setFresh(s);
      focusHeading();
    }} />`;
  }

  // After a sync the dataset may have changed from the sample to real data: the banner follows.
  const refresh = () => void api<Status>("/api/v1/status").then((s) => setSigned(signedOf(s)), () => undefined);
  const admin = signed.scope === "admin";
  const adminOnly = (view: unknown) => (admin ? view : html`<h1 tabindex="-1">Admin key needed</h1><p>This page needs a key with admin scope; you are signed in with a read key.</p>`);
  let view: unknown;
  if (page === "status") view = html`<${StatusView} initial=${fresh} onStatus=${(s: Status) => setSigned(signedOf(s))} />`;
  else if (page === "versions" && route.length === 1) view = html`<${VersionsView} />`;
  else if (page === "versions" && route.length === 2 && /^\d+$/.test(route[1]!)) view = html`<${VersionView} version=${Number(route[1])} />`;
  else if (page === "versions" && route.length === 4 && /^\d+$/.test(route[1]!)) view = html`<${ItemChangeView} version=${Number(route[1])} collection=${route[2]} id=${route[3]} />`;
  else if (page === "treatment-groups" && route.length === 1) view = html`<${TreatmentGroupsView} />`;
  else if (page === "treatment-groups" && route.length === 2) view = html`<${TreatmentGroupView} id=${route[1]} />`;
  else if (page === "reimbursement-groups") view = html`<${ReimbursementGroupsView} />`;
  else if (page === "keys") view = adminOnly(html`<${KeysView} me=${signed.name} />`);
  else if (page === "sync") view = adminOnly(html`<${SyncView} upstream=${signed.upstream} onSynced=${refresh} />`);
  else view = html`<h1 tabindex="-1">Not found</h1><p>There is no such page. <a href="#/status">Go to the status</a>.</p>`;

  return html`
    <a class="skip" href="#main" onClick=${(e: Event) => {
      e.preventDefault();
      focusHeading();
    }}>Skip to the content</a>
    <header class="top">
      <div class="brand">Nompd</div>
      <nav aria-label="Pages">
        <ul>
          ${NAV.filter((n) => !n.admin || admin).map(
            (n) => html`<li key=${n.page}><a href=${`#/${n.page}`} aria-current=${page === n.page ? "page" : undefined}>${n.label}</a></li>`,
          )}
        </ul>
      </nav>
      <div class="who">
        <span>Signed in as <strong>${signed.name}</strong> (${signed.scope})</span>
        <button type="button" class="secondary small" onClick=${() => signOut(null)}>Sign out</button>
      </div>
    </header>
    ${signed.sample
      ? html`<p class="sample-banner" role="note" data-testid="sample-banner"><strong>Sample dataset:</strong> invented data, shipped for trying Nompd. Not for use with patients.</p>`
      : null}
    <main id="main">${view}</main>
  `;
}

render(html`<${App} />`, document.getElementById("app")!);
