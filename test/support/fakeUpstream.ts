/**
 * A fake of the national FHIR APIs on a real HTTP server at 127.0.0.1:<free port>, or an HTTPS
 * one when given a certificate (test/support/pki.ts makes them).
 *
 * Serves the three searchset listings page by page with opaque `_getpages` tokens, checks the API key on
 * every request, records every request, and injects faults (HTTP errors, 429 with Retry-After, slow
 * answers, truncated or wrong bodies, dropped connections) on chosen collections and pages.
 */

export type Collection = "PlanDefinition" | "ActivityDefinition" | "RegulatedAuthorization";

export const PATHS: Record<Collection, string> = {
  PlanDefinition: "/HreseptGuidelines/PlanDefinition",
  ActivityDefinition: "/HreseptGuidelines/ActivityDefinition",
  RegulatedAuthorization: "/HreseptReimbursement/RegulatedAuthorization",
};

export type FaultKind =
  | "401" // 401 with an OperationOutcome body
  | "500" // 500 with an OperationOutcome body
  | "503" // 503 with an OperationOutcome body
  | "429" // 429 with `Retry-After: <retryAfter ?? 1>` (seconds)
  | "slow" // wait `delayMs` (default 5000), then answer normally; cancelled by stop() or a client abort
  | "truncated" // 200, application/fhir+json, the normal body cut in half (invalid JSON)
  | "wrongType" // 200 with an OperationOutcome instead of a Bundle
  | "empty" // 200 with a searchset Bundle with total 0, no entry and no next link
  | "reset" // the connection is dropped without an answer: a network error for the client
  | "dropNext" // 200 with the normal page, but without its next link (the listing ends early; total says more)
  | "redirect" // 302 to `target` (default: the same URL)
  | "foreignNext" // 200 with the normal page, its next link pointing to `target` instead
  | "raw"; // 200, application/fhir+json, with `body` as the bytes of the answer

export interface Fault {
  /** Default: any collection. */
  collection?: Collection;
  /** 1-based page number within a listing (page 1 = the request without `_getpages`). Default: any page. */
  page?: number;
  kind: FaultKind;
  /** How many matching requests get the fault. Default: Infinity. */
  times?: number;
  /** Seconds, for "429". Default 1. */
  retryAfter?: number;
  /** Milliseconds, for "slow". Default 5000. */
  delayMs?: number;
  /** An absolute URL, for "redirect" and "foreignNext". */
  target?: string;
  /** The answer's bytes, for "raw". */
  body?: string | Uint8Array;
}

export interface FakeUpstreamOptions {
  /** Resources served per collection (replaceable later with setData). */
  data: Record<Collection, unknown[]>;
  /** Resources per page; default 50. A client's `_count` is ignored: the server decides. */
  pageSize?: number;
  /** Default "upstream-secret". */
  apiKey?: string;
  /** Default "X-API-KEY"; matched case-insensitively. */
  keyHeader?: string;
  /**
   * Form of the `next` links; default "absolute".
   * - absolute: `http://127.0.0.1:PORT/<base>/<Type>?_getpages=<token>`
   * - relative-query: `?_getpages=<token>` (resolve against the page URL)
   * - relative-base: `<Type>?_getpages=<token>` (resolve against the service base plus "/",
   *   e.g. `RegulatedAuthorization?_getpages=tok` against `http://…/HreseptReimbursement/`)
   */
  nextLinks?: "absolute" | "relative-query" | "relative-base";
  /** Serve HTTPS with this certificate (PEM; the chain may follow it) and key; the URL is then https://. */
  tls?: { cert: string; key: string };
}

export interface RecordedRequest {
  method: string;
  /** URL path, e.g. "/HreseptGuidelines/PlanDefinition". */
  path: string;
  /** Full request URL. */
  url: string;
  /** Request headers, names lower-cased. */
  headers: Record<string, string>;
  /** null when the path is not a collection. */
  collection: Collection | null;
  /** 1-based page within its listing; null for unknown paths or unknown page tokens. */
  page: number | null;
  /** Status answered; 0 while the answer is pending and for "reset" (no answer at all). */
  status: number;
  /** Date.now() when the request arrived. */
  time: number;
}

export interface FakeUpstream {
  /** Base URL without trailing slash, e.g. "http://127.0.0.1:40123" (https:// with `tls`). */
  url: string;
  requests: RecordedRequest[];
  addFault(f: Fault): void;
  clearFaults(): void;
  setData(data: Record<Collection, unknown[]>): void;
  stop(): Promise<void>;
}

interface PageToken {
  collection: Collection;
  offset: number;
  page: number;
  snapshot: readonly unknown[];
}

interface ActiveFault extends Fault {
  left: number;
}

const COLLECTIONS = Object.keys(PATHS) as Collection[];
const FHIR_JSON = "application/fhir+json; charset=utf-8";

function outcome(code: string, diagnostics: string, severity = "error") {
  return { resourceType: "OperationOutcome", issue: [{ severity, code, diagnostics }] };
}

/**
 * Every answer closes its connection. Bun's fetch silently resends a request once when a kept-alive
 * connection it reused is dropped before any answer, which would hide a "reset" fault (and consume a
 * second matching fault) whenever the client happens to reuse a connection. Fresh connections keep
 * faults deterministic: each one is seen by the client exactly as configured.
 */
function fhirResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(typeof body === "string" ? body : JSON.stringify(body), {
    status,
    headers: { "content-type": FHIR_JSON, connection: "close", ...headers },
  });
}

function copyData(data: Record<Collection, unknown[]>): Record<Collection, readonly unknown[]> {
  return {
    PlanDefinition: [...(data.PlanDefinition ?? [])],
    ActivityDefinition: [...(data.ActivityDefinition ?? [])],
    RegulatedAuthorization: [...(data.RegulatedAuthorization ?? [])],
  };
}

function collectionOf(pathname: string): Collection | null {
  const path = pathname.length > 1 && pathname.endsWith("/") ? pathname.slice(0, -1) : pathname;
  return COLLECTIONS.find((c) => PATHS[c] === path) ?? null;
}

/** Starts the fake on 127.0.0.1 at a free port. Call `stop()` when done (e.g. in afterAll). */
export function startFakeUpstream(opts: FakeUpstreamOptions): FakeUpstream {
  const pageSize = Math.max(1, opts.pageSize ?? 50);
  const apiKey = opts.apiKey ?? "upstream-secret";
  const keyHeader = opts.keyHeader ?? "X-API-KEY";
  const nextLinks = opts.nextLinks ?? "absolute";

  let data = copyData(opts.data);
  let faults: ActiveFault[] = [];
  const tokens = new Map<string, PageToken>();
  const requests: RecordedRequest[] = [];
  /** Requests answered with a dropped connection ("reset"). */
  const dropped = new WeakSet<RecordedRequest>();
  /** Cancels pending "slow" waits; aborted by stop(). */
  const stopping = new AbortController();

  function takeFault(collection: Collection, page: number | null): ActiveFault | null {
    for (const f of faults) {
      if (f.left <= 0) continue;
      if (f.collection !== undefined && f.collection !== collection) continue;
      if (f.page !== undefined && f.page !== page) continue;
      f.left--;
      return f;
    }
    return null;
  }

  function nextLink(collection: Collection, token: string): string {
    const path = PATHS[collection];
    switch (nextLinks) {
      case "relative-query":
        return `?_getpages=${token}`;
      case "relative-base":
        return `${path.slice(path.lastIndexOf("/") + 1)}?_getpages=${token}`;
      default:
        return `${base}${path}?_getpages=${token}`;
    }
  }

  /** The normal answer for a page: a searchset Bundle, with a fresh opaque token for the next page. */
  function pageBody(selfUrl: string, at: PageToken): string {
    const { collection, offset, page, snapshot } = at;
    const slice = snapshot.slice(offset, offset + pageSize);
    const link: { relation: string; url: string }[] = [{ relation: "self", url: selfUrl }];
    if (offset + pageSize < snapshot.length) {
      const token = crypto.randomUUID();
      tokens.set(token, { collection, offset: offset + pageSize, page: page + 1, snapshot });
      link.push({ relation: "next", url: nextLink(collection, token) });
    }
    const entry = slice.map((resource) => {
      const id = (resource as { id?: unknown } | null)?.id;
      const fullUrl = typeof id === "string" && id ? `${base}${PATHS[collection]}/${id}` : `urn:uuid:${crypto.randomUUID()}`;
      return { fullUrl, resource, search: { mode: "match" } };
    });
    return JSON.stringify({ resourceType: "Bundle", type: "searchset", total: snapshot.length, link, entry });
  }

  /** Waits `ms`, or less if the server stops or the client goes away. */
  function cancellableSleep(ms: number, clientSignal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        stopping.signal.removeEventListener("abort", done);
        clientSignal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      if (stopping.signal.aborted || clientSignal.aborted) return done();
      stopping.signal.addEventListener("abort", done, { once: true });
      clientSignal.addEventListener("abort", done, { once: true });
    });
  }

  async function answer(req: Request, rec: RecordedRequest): Promise<Response> {
    const url = new URL(req.url);
    const collection = rec.collection;
    if (!collection) return fhirResponse(404, outcome("not-found", `Unknown resource path ${url.pathname}`));
    if (req.method !== "GET") return fhirResponse(405, outcome("not-supported", `Method ${req.method} not allowed`), { allow: "GET" });

    const tokenParam = url.searchParams.get("_getpages");
    let at: PageToken | null;
    if (tokenParam === null) {
      at = { collection, offset: 0, page: 1, snapshot: data[collection] };
    } else {
      const known = tokens.get(tokenParam);
      at = known && known.collection === collection ? known : null;
    }
    rec.page = at?.page ?? null;

    if (req.headers.get(keyHeader) !== apiKey) {
      return fhirResponse(401, outcome("login", "Missing or invalid API key"), { "www-authenticate": `ApiKey header="${keyHeader}"` });
    }

    const fault = takeFault(collection, rec.page);
    if (fault) {
      switch (fault.kind) {
        case "401":
          return fhirResponse(401, outcome("login", "Unauthorized"));
        case "500":
          return fhirResponse(500, outcome("exception", "Internal server error"));
        case "503":
          return fhirResponse(503, outcome("transient", "Service unavailable"));
        case "429":
          return fhirResponse(429, outcome("throttled", "Too many requests"), { "retry-after": String(fault.retryAfter ?? 1) });
        case "wrongType":
          return fhirResponse(200, outcome("processing", "Search failed", "information"));
        case "empty":
          return fhirResponse(200, { resourceType: "Bundle", type: "searchset", total: 0, link: [{ relation: "self", url: req.url }] });
        case "reset":
          // An erroring body before the first byte makes Bun drop the connection without writing a status
          // line. `error(undefined)` (rather than an Error) keeps Bun from printing a stack trace for it.
          dropped.add(rec);
          return new Response(new ReadableStream({ start: (c) => c.error(undefined) }));
        case "truncated": {
          if (!at) break; // nothing to truncate: fall through to the 410
          const body = pageBody(req.url, at);
          return fhirResponse(200, body.slice(0, Math.floor(body.length / 2)));
        }
        case "dropNext":
        case "foreignNext": {
          if (!at) break;
          const body = JSON.parse(pageBody(req.url, at)) as { link: Array<{ relation: string; url: string }> };
          body.link = body.link.filter((l) => l.relation !== "next");
          if (fault.kind === "foreignNext") body.link.push({ relation: "next", url: fault.target ?? req.url });
          return fhirResponse(200, JSON.stringify(body));
        }
        case "redirect":
          return new Response(null, { status: 302, headers: { location: fault.target ?? req.url, connection: "close" } });
        case "raw":
          return new Response(fault.body ?? "", { status: 200, headers: { "content-type": "application/fhir+json" } });
        case "slow":
          await cancellableSleep(fault.delayMs ?? 5000, req.signal);
          if (stopping.signal.aborted) return fhirResponse(503, outcome("transient", "Server stopping"));
          break;
      }
    }

    if (!at) return fhirResponse(410, outcome("not-found", "Unknown or expired page token"));
    return fhirResponse(200, pageBody(req.url, at));
  }

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    // No per-connection idle timeout (Bun's default is 10 s): a long "slow" answer must only end by its
    // own timer, a client abort or stop().
    idleTimeout: 0,
    ...(opts.tls ? { tls: opts.tls } : {}),
    async fetch(req) {
      const url = new URL(req.url);
      const headers: Record<string, string> = {};
      req.headers.forEach((value, name) => {
        headers[name.toLowerCase()] = value;
      });
      const rec: RecordedRequest = {
        method: req.method,
        path: url.pathname,
        url: req.url,
        headers,
        collection: collectionOf(url.pathname),
        page: null,
        status: 0,
        time: Date.now(),
      };
      requests.push(rec);
      const res = await answer(req, rec);
      // A "reset" answer has no status line on the wire; it stays recorded as 0.
      if (!dropped.has(rec)) rec.status = res.status;
      return res;
    },
    error(err) {
      return fhirResponse(500, outcome("exception", String(err)));
    },
  });

  const base = `${opts.tls ? "https" : "http"}://127.0.0.1:${server.port}`;
  let stopped: Promise<void> | null = null;

  return {
    url: base,
    requests,
    addFault(f) {
      faults.push({ ...f, left: f.times ?? Infinity });
    },
    clearFaults() {
      faults = [];
    },
    setData(next) {
      data = copyData(next);
    },
    stop() {
      if (!stopped) {
        stopping.abort();
        stopped = Promise.resolve(server.stop(true)).then(() => undefined);
      }
      return stopped;
    },
  };
}
