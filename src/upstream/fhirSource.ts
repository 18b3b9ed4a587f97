import createDebug from "debug";
import type { Client } from "fhir-kit-client";
import { RAW, RAW_COLLECTIONS, type RawCollection } from "../collections";
import { asArray, isObj } from "../fhir/read";
import { SourceError } from "../errors";
import { backoffMs, sleepUnlessAborted } from "../retry";
import type { ProxyChoice } from "./proxy";
import { shown } from "./shown";
import type { FetchProgress, ResourceSink, Source, SourceResult } from "./source";
import { BodyRefused, tlsProblem, upstreamSession, withSession, type ExtraCa, type TlsProblem } from "./transport";

// fhir-kit-client can log request headers (our upstream key among them) through `debug` when DEBUG is
// set in the environment. The key must never reach a log: switch that logging off.
createDebug.disable();

export interface UpstreamOptions {
  baseUrl: string;
  apiKey: string | null;
  keyHeader: string;
  timeoutMs: number;
  retries: number;
  /** First retry delay; doubles each retry (with jitter), capped at 30 s. */
  backoffMs: number;
  /** The longest Retry-After honoured; a longer one is waited for only this long. */
  maxRetryAfterMs?: number;
  /** Safety stop against a next link that never ends. */
  maxPages?: number;
  /** The largest page read (--max-page-mib). */
  maxPageBytes: number;
  /** Where the key came from ("NOMPD_UPSTREAM_API_KEY", say), named when the upstream refuses it. */
  keySource?: string | null;
  /** The proxy the requests go through; null or absent: directly (the proxy environment was read already). */
  proxy?: ProxyChoice | null;
  /** CA certificates (PEM) trusted for upstream TLS on top of the system's, and the file they came from. */
  ca?: ExtraCa | null;
}

/** An upstream HTTP failure as fhir-kit-client reports it. */
interface HttpFailure {
  response?: { status?: number };
  config?: { headers?: Headers };
}

/**
 * A `next` link as an absolute URL. FHIR servers send absolute links; tolerated besides: "?query"
 * (relative to the page just read), "/path" (relative to the host), and "Type?query" (relative to the
 * service base, as FHIR references are).
 */
export function resolveNext(next: string, pageUrl: string, serviceBase: string): string {
  if (/^https?:\/\//i.test(next)) return next;
  if (next.startsWith("?") || next.startsWith("/")) return new URL(next, pageUrl).toString();
  return new URL(next, serviceBase.endsWith("/") ? serviceBase : serviceBase + "/").toString();
}

function retryAfterMs(headers: Headers | undefined): number | null {
  const value = headers?.get("retry-after");
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - Date.now());
}

class Transient extends Error {
  constructor(
    message: string,
    readonly waitMs: number | null,
  ) {
    super(message);
  }
}

/**
 * The national FHIR APIs as a sync source, through fhir-kit-client: the three searches run at once,
 * each follows its `next` links to the end; every request carries the key header and a timeout;
 * network errors, timeouts, 429 and 5xx (and a cut-off body) are retried with backoff, honouring
 * Retry-After. Any final failure aborts the whole fetch with one message naming the collection, the
 * URL and the status — never the key.
 */
export function fhirSource(options: UpstreamOptions): Source {
  const base = options.baseUrl.replace(/\/+$/, "");
  const headers: Record<string, string> = { accept: "application/fhir+json" };
  if (options.apiKey) headers[options.keyHeader] = options.apiKey;
  const clients = new Map<string, Client>();
  // The client library is loaded by the first fetch (see fetch below), not when Nompd starts.
  let ClientClass: typeof Client | null = null;
  const clientFor = (service: string) => {
    let client = clients.get(service);
    if (!client) {
      // Redirects are not followed: the key header would go wherever a redirect points.
      client = new ClientClass!({ baseUrl: `${base}/${service}`, customHeaders: headers, requestOptions: { redirect: "manual" } });
      clients.set(service, client);
    }
    return client;
  };
  const maxRetryAfter = options.maxRetryAfterMs ?? 120_000;
  const baseOrigin = new URL(base).origin;
  const maxPages = options.maxPages ?? 100_000;
  const proxy = options.proxy ?? null;
  const via = proxy ? ` (through the proxy ${new URL(proxy.url).origin}, from ${proxy.from})` : "";

  async function attempt(collection: RawCollection, url: string, request: (signal: AbortSignal) => Promise<unknown>, abort: AbortSignal): Promise<Record<string, unknown>> {
    for (let tryNo = 0; ; tryNo++) {
      if (abort.aborted) throw new SourceError(`${collection}: stopped because another collection failed.`);
      const signal = AbortSignal.any([abort, AbortSignal.timeout(options.timeoutMs)]);
      try {
        const body = await request(signal);
        if (!isObj(body) || body.resourceType !== "Bundle") {
          const type = isObj(body) && typeof body.resourceType === "string" ? body.resourceType : typeof body;
          throw new SourceError(`${collection}: upstream answered a ${type} instead of a Bundle at ${shown(url)}. Check --upstream-url.`);
        }
        return body;
      } catch (err) {
        if (err instanceof SourceError) throw err;
        const failure = classify(collection, url, err, abort);
        if (failure instanceof SourceError) throw failure;
        if (tryNo >= options.retries) {
          throw new SourceError(`${failure.message}; gave up after ${tryNo + 1} attempts. Nothing was written; the served data is unchanged.`);
        }
        // `abort` fires when a sibling collection failed: the wait ends at once.
        await sleepUnlessAborted(failure.waitMs !== null ? Math.min(failure.waitMs, maxRetryAfter) : backoffMs(options.backoffMs, tryNo, 30_000), abort);
      }
    }
  }

  function classify(collection: RawCollection, url: string, err: unknown, abort: AbortSignal): SourceError | Transient {
    const where = `${collection} at ${shown(url)}`;
    if (abort.aborted) return new SourceError(`${collection}: stopped because another collection failed.`);
    const name = (err as Error)?.name;
    if (name === "TimeoutError" || name === "AbortError") return new Transient(`${where}: no answer within ${options.timeoutMs} ms${via}`, null);
    if (err instanceof BodyRefused) return new SourceError(`${where}: ${err.message}. Nothing was written.${err.problem === "too-large" ? " Raise --max-page-mib if the upstream really sends pages this large." : ""}`);
    const tls = tlsProblem(err);
    // A certificate does not mend itself between retries: say so at once.
    if (tls) return new SourceError(`${where}: ${certificateAdvice(tls, url)} Nothing was written.`);
    if ((err as { code?: unknown })?.code === "ERR_PROXY_TUNNEL") return proxyRefused(where, (err as { status?: number }).status ?? 0);
    const status = (err as HttpFailure)?.response?.status;
    if (typeof status !== "number") return new Transient(`${where}: network error (${(err as Error)?.message ?? String(err)})${via}`, null);
    if (status >= 200 && status < 300) return new Transient(`${where}: the answer was not valid JSON (cut off?)`, null);
    if (status === 429) return new Transient(`${where}: HTTP 429 Too Many Requests`, retryAfterMs((err as HttpFailure).config?.headers));
    if (status === 408) return new Transient(`${where}: HTTP 408 Request Timeout`, null);
    if (status >= 300 && status < 400) {
      const location = (err as HttpFailure).config?.headers?.get("location");
      let to = "elsewhere";
      try {
        if (location) to = shown(new URL(location, url).toString());
      } catch {
        to = "an address that is not a valid URL";
      }
      return new SourceError(
        `${where}: HTTP ${status}, a redirect to ${to}. Redirects are not followed (the API key would go with them): set --upstream-url to the address the API really answers at. Nothing was written.`,
      );
    }
    if (status >= 500) return new Transient(`${where}: HTTP ${status}`, retryAfterMs((err as HttpFailure).config?.headers));
    if (status === 401 || status === 403) {
      const check = options.apiKey
        ? `Check ${options.keySource ?? "the upstream API key"} and --upstream-key-header`
        : "No upstream API key is set: set NOMPD_UPSTREAM_API_KEY, --upstream-api-key-file or the credential upstream-api-key";
      return new SourceError(`${where}: HTTP ${status}, the upstream refused the API key. ${check}. Nothing was written.`);
    }
    if (status === 404) return new SourceError(`${where}: HTTP 404 Not Found. Check --upstream-url. Nothing was written.`);
    return new SourceError(`${where}: HTTP ${status}. Nothing was written; the served data is unchanged.`);
  }

  /** What a certificate problem means and the way out; `url` is the address asked for. */
  function certificateAdvice(tls: TlsProblem, url: string): string {
    const what = `${tls.reason}, ${tls.code}`;
    switch (tls.kind) {
      case "untrusted":
        return options.ca
          ? `the TLS certificate is not trusted (${what})${via}, also with the CA certificates of --upstream-ca-file ${options.ca.file}. Check that the file holds the CA that signed the certificate the server (or a proxy that inspects TLS) sends: openssl s_client -showcerts shows that chain.`
          : `the TLS certificate is not trusted (${what})${via}. If the upstream, or a proxy that inspects TLS, uses a private CA, trust that CA with --upstream-ca-file FILE (PEM); otherwise check --upstream-url.`;
      case "expired":
      case "not-yet-valid":
        return `the TLS certificate ${tls.kind === "expired" ? "has expired" : "is not valid yet"} (${what})${via}. Check this machine's clock, and that --upstream-url names the right server.`;
      case "wrong-host":
        return `the TLS certificate is not for ${new URL(url).hostname} (${what})${via}. Set --upstream-url to a host name the certificate names (openssl s_client shows them).`;
    }
  }

  /** The proxy answered the tunnel request (CONNECT) with something other than 2xx. */
  function proxyRefused(where: string, status: number): SourceError | Transient {
    const message = `${where}: the proxy refused the tunnel with HTTP ${status}${via}`;
    if (status === 408 || status === 429 || status >= 500) return new Transient(message, null);
    const hint = status === 407 ? "it wants credentials: put them in the proxy URL (http://user:password@host:port)" : "check the proxy setting and the proxy's rules for this host and port";
    return new SourceError(`${message}; ${hint}. Nothing was written.`);
  }

  async function fetchCollection(collection: RawCollection, sink: ResourceSink, abort: AbortSignal, onProgress?: (p: FetchProgress) => void): Promise<void> {
    const { service } = RAW[collection];
    const type = collection;
    const client = clientFor(service);
    const serviceBase = `${base}/${service}`;
    let url = `${serviceBase}/${type}`;
    const nextPage = (next: string) =>
      attempt(collection, next, (signal) => client.nextPage({ bundle: { resourceType: "Bundle", link: [{ relation: "next", url: next }] } as never, options: { signal } }) as Promise<unknown>, abort);
    let bundle = await attempt(collection, url, (signal) => client.resourceSearch({ resourceType: type, searchParams: {}, options: { signal } }), abort);
    const seen = new Set<string>([url]);
    let received = 0;
    let total: number | null = null;
    for (let pages = 1; ; pages++) {
      const page: unknown[] = [];
      for (const entry of asArray(bundle.entry)) {
        if (!isObj(entry)) continue;
        const search = entry.search;
        // OperationOutcome entries (search.mode "outcome") carry warnings, not data.
        if (isObj(search) && search.mode === "outcome") continue;
        page.push(entry.resource);
      }
      if (pages === 1 && typeof bundle.total === "number") total = bundle.total;
      received += page.length;
      const nextLink = asArray(bundle.link).find((l) => isObj(l) && l.relation === "next" && typeof l.url === "string") as { url: string } | undefined;
      // The next page is asked for before this one is handed on, so that the upstream prepares it while
      // the sink works; one page ahead at most. A next link that must not be followed is refused only
      // after this page is handed on, as it would be without asking ahead.
      let next: string | null = null;
      let refusal: unknown = null;
      if (nextLink) {
        try {
          next = checkedNext(collection, nextLink.url, url, serviceBase, pages, seen);
        } catch (err) {
          refusal = err;
        }
      }
      let following: Promise<Record<string, unknown>> | null = null;
      if (next !== null) {
        following = nextPage(next);
        // Settled by the await below, or abandoned when the sink throws (the abort then ends it).
        following.catch(() => {});
        // fhir-kit-client sends the request a few promise steps later: let it go out before the sink runs.
        await new Promise((resolve) => setImmediate(resolve));
      }
      sink(collection, page);
      onProgress?.({ collection, pages, resources: received, done: !nextLink });
      if (!nextLink) {
        // A listing that ends before the count it announced would soft-delete the rest: refuse it.
        if (total !== null && received < total) {
          throw new SourceError(
            `${collection}: the listing ended after ${received} of the ${total} resources its first page announced (page ${pages} had no next link). Nothing was written; try again later.`,
          );
        }
        return;
      }
      if (following === null) throw refusal;
      url = next!;
      bundle = await following;
    }
  }

  /** The next page's URL, once it is known to be safe to follow: on the upstream's origin, not seen before, within maxPages. */
  function checkedNext(collection: RawCollection, link: string, pageUrl: string, serviceBase: string, pages: number, seen: Set<string>): string {
    if (pages >= maxPages) throw new SourceError(`${collection}: more than ${maxPages} pages; stopped. Nothing was written.`);
    const next = resolveNext(link, pageUrl, serviceBase);
    if (new URL(next).origin !== baseOrigin) {
      throw new SourceError(
        `${collection}: the next link at page ${pages} points to another server (${shown(next)}); not followed, since the API key would go with it. Nothing was written.`,
      );
    }
    if (seen.has(next)) throw new SourceError(`${collection}: the next link at page ${pages} points back to a page already read (${shown(next)}); stopped to avoid a loop. Nothing was written.`);
    seen.add(next);
    return next;
  }

  return {
    async fetch(sink, onProgress, signal): Promise<SourceResult> {
      ClientClass ??= (await import("fhir-kit-client")).Client;
      const controller = new AbortController();
      // A stop from outside ends every collection's requests and retry waits at once.
      signal?.addEventListener("abort", () => controller.abort(), { once: true });
      const session = upstreamSession({ proxy: proxy?.url ?? null, extraCa: options.ca?.certificates ?? null });
      const settled = await withSession(session, { maxBytes: options.maxPageBytes }, () =>
        Promise.allSettled(
          RAW_COLLECTIONS.map((c) =>
            fetchCollection(c, sink, controller.signal, onProgress).catch((err) => {
              controller.abort();
              throw err;
            }),
          ),
        ),
      ).finally(() => session.close());
      // Report the first real failure, not the "stopped because another failed" of its siblings.
      const failures = settled.filter((s): s is PromiseRejectedResult => s.status === "rejected").map((s) => s.reason as Error);
      const primary = failures.find((e) => !/stopped because another collection failed/.test(e.message)) ?? failures[0];
      // Errors of our own (a failing sink: staging, conversion) keep their type: they are no upstream failure.
      if (primary) throw primary;
      return { ignored: {} };
    },
  };
}
