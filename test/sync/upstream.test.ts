import { afterAll, describe, expect, test } from "bun:test";
import { Store } from "../../src/store/db";
import { ITS_HISTORY_ROW } from "../../src/store/documents";
import { runSync } from "../../src/sync/run";
import { fhirSource, resolveNext, type UpstreamOptions } from "../../src/upstream/fhirSource";
import type { FetchProgress } from "../../src/upstream/source";
import { authorization, deepResource, smallDataset, type Dataset } from "../support/fhir";
import { startFakeUpstream, type FakeUpstream, type FaultKind } from "../support/fakeUpstream";
import { sqlite } from "../support/db";
import { datasetSource } from "../support/source";
import { tempDbPath, tempDir } from "../support/tmp";

const dir = tempDir();
const KEY = "upstream-secret-7f3a";
const upstreams: FakeUpstream[] = [];
afterAll(async () => {
  for (const u of upstreams) await u.stop();
});

function fake(data: Dataset, opts: { pageSize?: number; nextLinks?: "absolute" | "relative-query" | "relative-base" } = {}) {
  const u = startFakeUpstream({ data, apiKey: KEY, pageSize: opts.pageSize ?? 50, ...(opts.nextLinks ? { nextLinks: opts.nextLinks } : {}) });
  upstreams.push(u);
  return u;
}

function source(u: FakeUpstream, extra: Partial<UpstreamOptions> = {}) {
  return fhirSource({ baseUrl: u.url, apiKey: KEY, keyHeader: "X-API-KEY", timeoutMs: 2000, retries: 2, backoffMs: 10, maxPageBytes: 1 << 26, ...extra });
}

function bigDataset(auths: number): Dataset {
  const base = smallDataset(30, 0);
  base.RegulatedAuthorization = Array.from({ length: auths }, (_, i) => authorization(`ra-${String(i).padStart(5, "0")}`, ["G35", "M05"], [String(100000 + i), String(200000 + i)]));
  return base;
}

const opts = { trigger: "cli" as const, force: false, maxDeleteShare: 0.5 };
const documentsOf = (store: Store) =>
  sqlite(store.path)
    .query(
      `SELECT d.collection, d.id, d.version, d.is_deleted, d.hash, h.content FROM document d
       JOIN document_history h ON ${ITS_HISTORY_ROW} ORDER BY d.collection, d.id`,
    )
    .all();

describe("paging", () => {
  test("≥2,000 RegulatedAuthorizations at 50 a page give the same dataset as importing the same resources from files", async () => {
    const data = bigDataset(2050);
    const u = fake(data);
    const viaHttp = Store.open(tempDbPath(dir));
    const progress: FetchProgress[] = [];
    const { run } = await runSync(viaHttp, source(u), { ...opts, onProgress: (p) => progress.push(p) });
    expect(run.status).toBe("succeeded");
    expect(run.counts.RegulatedAuthorization!.fetched).toBe(2050);
    const raPages = u.requests.filter((r) => r.collection === "RegulatedAuthorization");
    expect(raPages).toHaveLength(41);
    expect(progress.filter((p) => p.collection === "RegulatedAuthorization").at(-1)).toEqual({ collection: "RegulatedAuthorization", pages: 41, resources: 2050, done: true });

    const viaFiles = Store.open(tempDbPath(dir));
    await runSync(viaFiles, datasetSource(dir, data), { ...opts, trigger: "import" });
    expect(documentsOf(viaHttp)).toEqual(documentsOf(viaFiles));
    viaHttp.close();
    viaFiles.close();
  });

  for (const mode of ["relative-query", "relative-base"] as const) {
    test(`relative next links (${mode}) are followed`, async () => {
      const u = fake(bigDataset(120), { nextLinks: mode });
      const store = Store.open(tempDbPath(dir));
      const { run } = await runSync(store, source(u), opts);
      expect(run.counts.RegulatedAuthorization!.fetched).toBe(120);
      expect(u.requests.every((r) => r.status === 200)).toBe(true);
      store.close();
    });
  }

  test("resolveNext: absolute as is, ?query against the page, /path against the host, Type?query against the service base", () => {
    const page = "http://h:1/api/HreseptReimbursement/RegulatedAuthorization?_count=50";
    const base = "http://h:1/api/HreseptReimbursement";
    expect(resolveNext("https://x/y?z=1", page, base)).toBe("https://x/y?z=1");
    expect(resolveNext("?_getpages=abc", page, base)).toBe("http://h:1/api/HreseptReimbursement/RegulatedAuthorization?_getpages=abc");
    expect(resolveNext("/other?p=2", page, base)).toBe("http://h:1/other?p=2");
    expect(resolveNext("RegulatedAuthorization?p=2", page, base)).toBe("http://h:1/api/HreseptReimbursement/RegulatedAuthorization?p=2");
  });
});

describe("the upstream key", () => {
  test("arrives on every request, next pages included, with Accept: application/fhir+json; never in records or messages", async () => {
    const u = fake(bigDataset(160));
    const store = Store.open(tempDbPath(dir));
    const { run } = await runSync(store, source(u), opts);
    expect(run.status).toBe("succeeded");
    expect(u.requests.length).toBeGreaterThanOrEqual(5);
    expect(u.requests.some((r) => r.page !== null && r.page > 1)).toBe(true);
    for (const r of u.requests) {
      expect(r.headers["x-api-key"]).toBe(KEY);
      expect(r.headers["accept"]).toContain("application/fhir+json");
    }
    // A failing sync too: the message names collection, URL and status, never the key.
    u.addFault({ kind: "500" });
    const failed = await runSync(store, source(u, { retries: 0 }), opts);
    expect(failed.run.error).toMatch(/HTTP 500/);
    const everything = JSON.stringify(sqlite(store.path).query("SELECT * FROM sync_run").all());
    expect(everything).not.toContain(KEY);
    store.close();
  });

  test("the header name is configurable", async () => {
    const u = startFakeUpstream({ data: smallDataset(), apiKey: KEY, keyHeader: "Ocp-Apim-Subscription-Key" });
    upstreams.push(u);
    const store = Store.open(tempDbPath(dir));
    const { run } = await runSync(store, source(u, { keyHeader: "Ocp-Apim-Subscription-Key" }), opts);
    expect(run.status).toBe("succeeded");
    store.close();
  });
});

describe("the key stays with the upstream", () => {
  /** A second server on another port that records any key sent to it. */
  function thief() {
    const seen: Array<string | null> = [];
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (r) => (seen.push(r.headers.get("x-api-key")), new Response("{}")) });
    return { url: `http://127.0.0.1:${server.port}/steal`, seen, stop: () => server.stop(true) };
  }

  test("a next link to another server is not followed: the sync fails and the key is never sent there", async () => {
    const t = thief();
    const u = fake(bigDataset(120));
    u.addFault({ collection: "RegulatedAuthorization", page: 1, kind: "foreignNext", target: t.url });
    const store = Store.open(tempDbPath(dir));
    const { run } = await runSync(store, source(u), opts);
    expect(run.status).toBe("failed");
    expect(run.error).toContain("points to another server");
    expect(t.seen).toEqual([]);
    t.stop();
    store.close();
  });

  test("a redirect to an address that is no URL is a clear upstream failure too", async () => {
    const u = fake(smallDataset());
    u.addFault({ collection: "ActivityDefinition", kind: "redirect", target: "http://[::1" });
    const store = Store.open(tempDbPath(dir));
    const { run, failure } = await runSync(store, source(u), opts);
    expect(failure).toBe("source");
    expect(run.error).toContain("HTTP 302, a redirect to an address that is not a valid URL");
    store.close();
  });

  test("a redirect is not followed, with a message saying where it pointed and what to set", async () => {
    const t = thief();
    const u = fake(smallDataset());
    u.addFault({ collection: "PlanDefinition", kind: "redirect", target: t.url });
    const store = Store.open(tempDbPath(dir));
    const { run } = await runSync(store, source(u), opts);
    expect(run.status).toBe("failed");
    expect(run.error).toMatch(/PlanDefinition at .*: HTTP 302, a redirect to http:\/\/127\.0\.0\.1:\d+\/steal\. Redirects are not followed.*--upstream-url/);
    expect(t.seen).toEqual([]);
    t.stop();
    store.close();
  });
});

describe("faults", () => {
  const cases: Array<{ kind: FaultKind; page?: number; expectError: RegExp; extra?: Partial<UpstreamOptions> }> = [
    { kind: "401", expectError: /RegulatedAuthorization at http:\/\/127\.0\.0\.1:\d+\/HreseptReimbursement\/RegulatedAuthorization: HTTP 401, the upstream refused the API key/ },
    { kind: "500", page: 3, expectError: /RegulatedAuthorization at .*: HTTP 500; gave up after 3 attempts/ },
    { kind: "503", page: 2, expectError: /HTTP 503; gave up after 3 attempts/ },
    { kind: "429", expectError: /HTTP 429 Too Many Requests; gave up after 3 attempts/ },
    { kind: "slow", page: 2, expectError: /no answer within 300 ms; gave up/, extra: { timeoutMs: 300 } },
    { kind: "truncated", page: 2, expectError: /not valid JSON \(cut off\?\); gave up/ },
    { kind: "reset", page: 2, expectError: /network error .*; gave up/ },
    { kind: "wrongType", expectError: /upstream answered a OperationOutcome instead of a Bundle/ },
  ];
  for (const c of cases) {
    test(`${c.kind}${c.page ? ` on page ${c.page}` : ""}: the served dataset and version stay, a failed run is recorded with a clear message`, async () => {
      const data = bigDataset(200);
      const u = fake(data);
      const store = Store.open(tempDbPath(dir));
      await runSync(store, source(u), opts);
      const before = documentsOf(store);
      // Change upstream so that a successful sync would write a new version.
      data.RegulatedAuthorization.pop();
      u.setData(data);
      u.addFault({ collection: "RegulatedAuthorization", kind: c.kind, ...(c.page ? { page: c.page } : {}), retryAfter: 0, delayMs: 2000 });
      const { run, failure } = await runSync(store, source(u, c.extra), opts);
      expect(failure).toBe("source");
      expect(run.status).toBe("failed");
      expect(run.error).toMatch(c.expectError);
      expect(run.error).not.toContain(KEY);
      expect(store.currentVersion()).toBe(1);
      expect(documentsOf(store)).toEqual(before);
      store.close();
    });
  }

  test("an empty Bundle from upstream is stopped by the mass-deletion guard and goes through with force", async () => {
    const u = fake(smallDataset());
    const store = Store.open(tempDbPath(dir));
    await runSync(store, source(u), opts);
    u.addFault({ kind: "empty" });
    const stopped = await runSync(store, source(u), opts);
    expect(stopped.run.status).toBe("aborted_by_guard");
    expect(store.documents.live("treatmentGroup")).toHaveLength(4);
    const forced = await runSync(store, source(u), { ...opts, force: true });
    expect(forced.run.status).toBe("succeeded");
    expect(store.documents.live("treatmentGroup")).toHaveLength(0);
    store.close();
  });

  test("a single 500 and a single 429 (Retry-After honoured) are retried to success", async () => {
    const u = fake(bigDataset(150));
    u.addFault({ collection: "RegulatedAuthorization", page: 2, kind: "500", times: 1 });
    u.addFault({ collection: "PlanDefinition", page: 1, kind: "429", times: 1, retryAfter: 1 });
    const store = Store.open(tempDbPath(dir));
    const started = Date.now();
    const { run } = await runSync(store, source(u, { backoffMs: 10 }), opts);
    expect(run.status).toBe("succeeded");
    expect(run.counts.RegulatedAuthorization!.fetched).toBe(150);
    // Retry-After: 1 was waited for, not the 10 ms backoff.
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(u.requests.filter((r) => r.status === 500 || r.status === 429)).toHaveLength(2);
    store.close();
  });

  test("a listing that ends before the total its first page announced fails instead of deleting the rest", async () => {
    const data = bigDataset(200);
    const u = fake(data);
    const store = Store.open(tempDbPath(dir));
    await runSync(store, source(u), opts);
    u.addFault({ collection: "RegulatedAuthorization", page: 3, kind: "dropNext" });
    const { run } = await runSync(store, source(u), opts);
    expect(run.status).toBe("failed");
    expect(run.error).toContain("the listing ended after 150 of the 200 resources");
    expect(store.documents.live("reimbursementGroup")).toHaveLength(200);
    store.close();
  });

  test("when one collection fails, the others stop at once, even while waiting out a long Retry-After", async () => {
    const u = fake(smallDataset());
    // ActivityDefinition is told to come back in 30 s; meanwhile PlanDefinition fails for good.
    u.addFault({ collection: "ActivityDefinition", kind: "429", retryAfter: 30 });
    u.addFault({ collection: "PlanDefinition", kind: "503", times: 1 });
    u.addFault({ collection: "PlanDefinition", kind: "401" });
    const store = Store.open(tempDbPath(dir));
    const started = Date.now();
    const { run } = await runSync(store, source(u, { backoffMs: 10, retries: 3 }), opts);
    expect(run.status).toBe("failed");
    expect(run.error).toContain("PlanDefinition");
    expect(run.error).toContain("HTTP 401");
    expect(Date.now() - started).toBeLessThan(5000);
    store.close();
  });

  test("a response slower than the timeout once is retried to success", async () => {
    const u = fake(smallDataset());
    u.addFault({ collection: "ActivityDefinition", kind: "slow", delayMs: 1500, times: 1 });
    const store = Store.open(tempDbPath(dir));
    const { run } = await runSync(store, source(u, { timeoutMs: 200 }), opts);
    expect(run.status).toBe("succeeded");
    store.close();
  });
});

describe("hostile or broken pages", () => {
  const page = (entries: string[]) => `{"resourceType":"Bundle","type":"searchset","total":${entries.length},"entry":[${entries.map((r) => `{"resource":${r}}`).join(",")}]}`;

  test("a page that is not UTF-8 fails the sync naming the URL; nothing is written, nothing is repaired", async () => {
    const u = fake(smallDataset());
    const store = Store.open(tempDbPath(dir));
    await runSync(store, source(u), opts);
    const bytes = new TextEncoder().encode(page([JSON.stringify(authorization("ra-x", ["G35"], ["1"])).replace("ra-x", "ra-\u00e5")]));
    const at = bytes.indexOf(0xc3);
    bytes[at + 1] = 0x41; // the second byte of "å" made ASCII: not UTF-8
    u.addFault({ collection: "RegulatedAuthorization", kind: "raw", body: bytes });
    const { run } = await runSync(store, source(u), opts);
    expect(run.status).toBe("failed");
    expect(run.error).toContain(`RegulatedAuthorization at ${u.url}/HreseptReimbursement/RegulatedAuthorization: the answer is not valid UTF-8`);
    expect(store.currentVersion()).toBe(1);
    expect(JSON.stringify(store.documents.live("reimbursementGroup"))).not.toContain("\ufffd");
  });

  test("a page larger than the cap fails at once, without retries", async () => {
    const u = fake(smallDataset());
    const store = Store.open(tempDbPath(dir));
    const big = page(Array.from({ length: 3000 }, (_, i) => JSON.stringify(authorization(`ra-${i}`, ["G35"], [String(i)]))));
    expect(big.length).toBeGreaterThan(1024 * 1024);
    u.addFault({ collection: "RegulatedAuthorization", kind: "raw", body: big });
    const { run } = await runSync(store, source(u, { maxPageBytes: 1024 * 1024, retries: 3 }), opts);
    expect(run.status).toBe("failed");
    expect(run.error).toContain("larger than the 1 MiB allowed for one page (--max-page-mib)");
    expect(u.requests.filter((r) => r.collection === "RegulatedAuthorization")).toHaveLength(1);
  });

  test("a resource nested deeper than any FHIR resource is skipped and counted; the rest is synced", async () => {
    const u = fake(smallDataset());
    const store = Store.open(tempDbPath(dir));
    const deep = deepResource("RegulatedAuthorization");
    const normal = smallDataset().RegulatedAuthorization.map((r) => JSON.stringify(r));
    u.addFault({ collection: "RegulatedAuthorization", kind: "raw", body: page([...normal, deep]) });
    const { run } = await runSync(store, source(u), opts);
    expect(run.status).toBe("succeeded");
    expect(run.counts.RegulatedAuthorization!.skippedReasons).toEqual({ "nested deeper than 100 levels": 1 });
    expect(store.documents.live("reimbursementGroup")).toHaveLength(normal.length);
  });
});
