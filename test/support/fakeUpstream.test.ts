import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { activity, authorization, plan } from "./fhir";
import { type Collection, type FakeUpstream, PATHS, startFakeUpstream } from "./fakeUpstream";

const KEY = "upstream-secret";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

type Data = Record<Collection, unknown[]>;

function dataset(n: number, prefix = "r"): Data {
  const id = (i: number) => `${prefix}-${String(i).padStart(3, "0")}`;
  return {
    PlanDefinition: Array.from({ length: n }, (_, i) => plan(id(i), `Gruppe ${i}`)),
    ActivityDefinition: Array.from({ length: n }, (_, i) => activity(id(i), `Legemiddel ${i}`)),
    RegulatedAuthorization: Array.from({ length: n }, (_, i) => authorization(id(i))),
  };
}

interface Page {
  resourceType: string;
  type?: string;
  total?: number;
  link?: { relation: string; url: string }[];
  entry?: { fullUrl: string; resource: { identifier: { value: string }[] }; search: { mode: string } }[];
}

const ids = (p: Page) => (p.entry ?? []).map((e) => e.resource.identifier[0]!.value);
const next = (p: Page) => p.link?.find((l) => l.relation === "next")?.url;

function get(url: string, key: string | null = KEY, headerName = "X-API-KEY"): Promise<Response> {
  const headers: Record<string, string> = { Accept: "application/fhir+json" };
  if (key !== null) headers[headerName] = key;
  return fetch(url, { headers });
}

async function getPage(url: string): Promise<Page> {
  const res = await get(url);
  expect(res.status).toBe(200);
  return (await res.json()) as Page;
}

/** Follows next links from page 1, resolving each with `resolve(next, pageUrl)`. */
async function walk(start: string, resolve: (next: string, pageUrl: string) => string): Promise<{ pages: Page[]; urls: string[] }> {
  const pages: Page[] = [];
  const urls: string[] = [];
  let url: string | undefined = start;
  while (url) {
    urls.push(url);
    const page = await getPage(url);
    pages.push(page);
    const n = next(page);
    url = n === undefined ? undefined : resolve(n, url);
    if (pages.length > 20) throw new Error("too many pages");
  }
  return { pages, urls };
}

const absolute = (n: string) => n;

describe("fake upstream", () => {
  const up: FakeUpstream = startFakeUpstream({ data: dataset(120), pageSize: 50 });
  afterAll(() => up.stop());
  const pd = up.url + PATHS.PlanDefinition;
  const ra = up.url + PATHS.RegulatedAuthorization;

  beforeEach(() => {
    up.clearFaults();
    up.setData(dataset(120));
    up.requests.length = 0;
  });

  test("url is a base without trailing slash", () => {
    expect(up.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  test("pages 120 resources at 50 a page, in order, with opaque next links", async () => {
    const first = await get(pd + "?_count=1000");
    expect(first.status).toBe(200);
    expect(first.headers.get("content-type")).toBe("application/fhir+json; charset=utf-8");
    const page1 = (await first.json()) as Page;
    expect(page1.resourceType).toBe("Bundle");
    expect(page1.type).toBe("searchset");
    expect(page1.total).toBe(120);
    expect(page1.link?.[0]).toEqual({ relation: "self", url: pd + "?_count=1000" });
    expect(page1.entry?.[0]?.search).toEqual({ mode: "match" });
    expect(typeof page1.entry?.[0]?.fullUrl).toBe("string");

    const { pages, urls } = await walk(pd, absolute);
    expect(pages.map((p) => ids(p).length)).toEqual([50, 50, 20]);
    expect(pages.flatMap(ids)).toEqual(Array.from({ length: 120 }, (_, i) => `r-${String(i).padStart(3, "0")}`));
    expect(pages.every((p) => p.total === 120)).toBe(true);
    expect(next(pages[2]!)).toBeUndefined();
    for (const u of urls.slice(1)) {
      const parsed = new URL(u);
      expect(parsed.origin + parsed.pathname).toBe(pd);
      expect([...parsed.searchParams.keys()]).toEqual(["_getpages"]);
      expect(parsed.searchParams.get("_getpages")).toMatch(UUID);
    }
    // Every page hands out a fresh token.
    expect(new Set(urls).size).toBe(3);

    const recs = up.requests.slice(1);
    expect(recs.map((r) => [r.collection, r.page, r.status, r.method])).toEqual([
      ["PlanDefinition", 1, 200, "GET"],
      ["PlanDefinition", 2, 200, "GET"],
      ["PlanDefinition", 3, 200, "GET"],
    ]);
    expect(recs[0]!.path).toBe(PATHS.PlanDefinition);
    expect(recs[1]!.url).toBe(urls[1]!);
    expect(recs[0]!.headers["x-api-key"]).toBe(KEY);
    expect(recs[0]!.headers.accept).toBe("application/fhir+json");
    expect(recs[0]!.time).toBeGreaterThan(Date.now() - 60_000);
  });

  test("a page token can be fetched again (retries) and still names the same page", async () => {
    const p1 = await getPage(ra);
    const url2 = next(p1)!;
    const a = await getPage(url2);
    const b = await getPage(url2);
    expect(ids(a)).toEqual(ids(b));
    expect(up.requests.map((r) => r.page)).toEqual([1, 2, 2]);
  });

  test("each collection is served from its own path", async () => {
    for (const c of ["PlanDefinition", "ActivityDefinition", "RegulatedAuthorization"] as Collection[]) {
      const p = await getPage(up.url + PATHS[c]);
      expect(p.entry?.[0]?.resource).toMatchObject({ resourceType: c });
    }
  });

  test("unknown page token: 410 with an OperationOutcome", async () => {
    const res = await get(pd + "?_getpages=" + crypto.randomUUID());
    expect(res.status).toBe(410);
    expect(((await res.json()) as Page).resourceType).toBe("OperationOutcome");
    expect(up.requests[0]).toMatchObject({ collection: "PlanDefinition", page: null, status: 410 });
  });

  test("a token from another collection is unknown there", async () => {
    const token = new URL(next(await getPage(pd))!).searchParams.get("_getpages");
    expect((await get(ra + "?_getpages=" + token)).status).toBe(410);
  });

  test("unknown path: 404 with an OperationOutcome", async () => {
    const res = await get(up.url + "/HreseptGuidelines/Nothing");
    expect(res.status).toBe(404);
    expect(((await res.json()) as Page).resourceType).toBe("OperationOutcome");
    expect(up.requests[0]).toMatchObject({ collection: null, page: null, status: 404 });
  });

  test("missing or wrong key: 401 on page 1 and on later pages", async () => {
    for (const key of [null, "wrong"]) {
      const res = await get(pd, key);
      expect(res.status).toBe(401);
      expect(((await res.json()) as Page).resourceType).toBe("OperationOutcome");
    }
    const url2 = next(await getPage(pd))!;
    const res2 = await get(url2, null);
    expect(res2.status).toBe(401);
    expect(((await res2.json()) as Page).resourceType).toBe("OperationOutcome");
    expect((await get(url2, "wrong")).status).toBe(401);
    // The header name is matched case-insensitively.
    expect((await get(url2, KEY, "x-api-key")).status).toBe(200);
    expect(up.requests.map((r) => [r.page, r.status])).toEqual([
      [1, 401],
      [1, 401],
      [1, 200],
      [2, 401],
      [2, 401],
      [2, 200],
    ]);
    expect(up.requests[0]!.headers["x-api-key"]).toBeUndefined();
  });

  describe("faults", () => {
    async function outcomeStatus(kind: "401" | "500" | "503") {
      up.addFault({ kind });
      const res = await get(pd);
      expect(res.status).toBe(Number(kind));
      expect(((await res.json()) as Page).resourceType).toBe("OperationOutcome");
    }
    test("401", () => outcomeStatus("401"));
    test("500", () => outcomeStatus("500"));
    test("503", () => outcomeStatus("503"));

    test("429 with Retry-After, default 1 second", async () => {
      up.addFault({ kind: "429", times: 1 });
      up.addFault({ kind: "429", times: 1, retryAfter: 7 });
      const a = await get(pd);
      expect(a.status).toBe(429);
      expect(a.headers.get("retry-after")).toBe("1");
      const b = await get(pd);
      expect(b.status).toBe(429);
      expect(b.headers.get("Retry-After")).toBe("7");
      expect((await get(pd)).status).toBe(200);
    });

    test("slow answers normally after delayMs", async () => {
      up.addFault({ kind: "slow", delayMs: 300, times: 1 });
      const t0 = performance.now();
      const p = await getPage(pd);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(280);
      expect(ids(p)).toHaveLength(50);
      expect(up.requests[0]!.status).toBe(200);
    });

    test("slow lets a client time out", async () => {
      up.addFault({ kind: "slow", delayMs: 3000, times: 1 });
      const t0 = performance.now();
      const err = await fetch(pd, { headers: { "X-API-KEY": KEY }, signal: AbortSignal.timeout(150) }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect(performance.now() - t0).toBeLessThan(1500);
      // The server keeps answering others meanwhile.
      expect(ids(await getPage(pd))).toHaveLength(50);
    });

    test("truncated: 200, fhir+json, half of the normal body", async () => {
      up.addFault({ kind: "truncated", times: 1 });
      const res = await get(pd);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toStartWith("application/fhir+json");
      const text = await res.text();
      expect(() => JSON.parse(text)).toThrow();
      const whole = JSON.stringify(await getPage(pd));
      expect(text.length).toBeGreaterThan(whole.length / 2 - 200);
      expect(text.length).toBeLessThan(whole.length / 2 + 200);
      expect(text.startsWith('{"resourceType":"Bundle","type":"searchset","total":120')).toBe(true);
    });

    test("wrongType: 200 with an OperationOutcome", async () => {
      up.addFault({ kind: "wrongType" });
      const res = await get(pd);
      expect(res.status).toBe(200);
      expect(((await res.json()) as Page).resourceType).toBe("OperationOutcome");
    });

    test("empty: 200 with an empty searchset and no next link", async () => {
      up.addFault({ kind: "empty" });
      const p = await getPage(pd);
      expect(p).toMatchObject({ resourceType: "Bundle", type: "searchset", total: 0 });
      expect(p.entry).toBeUndefined();
      expect(next(p)).toBeUndefined();
    });

    test("reset: a network error, recorded with status 0, seen by the client exactly `times` times", async () => {
      // Earlier requests have run; a client that pooled connections would silently resend a request
      // whose reused connection was dropped. Every answer closes its connection, so it cannot.
      expect((await get(pd)).status).toBe(200);
      up.requests.length = 0;
      up.addFault({ kind: "reset", times: 1 });
      const err = await get(pd).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect(up.requests).toHaveLength(1);
      expect(up.requests[0]).toMatchObject({ collection: "PlanDefinition", page: 1, status: 0 });
      // The server is fine afterwards.
      expect(ids(await getPage(pd))).toHaveLength(50);
    });

    test("times is honoured; faults are consumed only by matching requests", async () => {
      up.addFault({ kind: "500", times: 2, collection: "ActivityDefinition" });
      expect((await get(pd)).status).toBe(200);
      expect((await get(up.url + PATHS.ActivityDefinition)).status).toBe(500);
      expect((await get(up.url + PATHS.ActivityDefinition)).status).toBe(500);
      expect((await get(up.url + PATHS.ActivityDefinition)).status).toBe(200);
    });

    test("faults are matched in the order added", async () => {
      up.addFault({ kind: "503", times: 1 });
      up.addFault({ kind: "500", times: 1 });
      expect((await get(pd)).status).toBe(503);
      expect((await get(pd)).status).toBe(500);
      expect((await get(pd)).status).toBe(200);
    });

    test("page targets that page of that collection only", async () => {
      up.addFault({ kind: "503", collection: "RegulatedAuthorization", page: 2, times: 1 });
      const { pages } = await walk(pd, absolute); // other collection: untouched
      expect(pages).toHaveLength(3);
      const p1 = await getPage(ra);
      const url2 = next(p1)!;
      expect((await get(url2)).status).toBe(503);
      const p2 = await getPage(url2); // the retry gets the page
      const p3 = await getPage(next(p2)!);
      expect([...ids(p1), ...ids(p2), ...ids(p3)]).toHaveLength(120);
      expect(up.requests.filter((r) => r.collection === "RegulatedAuthorization").map((r) => [r.page, r.status])).toEqual([
        [1, 200],
        [2, 503],
        [2, 200],
        [3, 200],
      ]);
    });

    test("page 3 fault hits page 3 of every listing", async () => {
      up.addFault({ kind: "500", page: 3 });
      for (const c of ["PlanDefinition", "ActivityDefinition"] as Collection[]) {
        const p1 = await getPage(up.url + PATHS[c]);
        const p2 = await getPage(next(p1)!);
        expect((await get(next(p2)!)).status).toBe(500);
      }
    });

    test("a bad key is answered 401 without consuming a fault", async () => {
      up.addFault({ kind: "500", times: 1 });
      expect((await get(pd, null)).status).toBe(401);
      expect((await get(pd)).status).toBe(500);
    });

    test("clearFaults removes pending faults", async () => {
      up.addFault({ kind: "500" });
      expect((await get(pd)).status).toBe(500);
      up.clearFaults();
      expect((await get(pd)).status).toBe(200);
    });
  });

  test("snapshot: a listing keeps its dataset across setData; a new listing sees the new one", async () => {
    const p1 = await getPage(pd);
    up.setData(dataset(30, "new"));
    const p2 = await getPage(next(p1)!);
    const p3 = await getPage(next(p2)!);
    expect([...ids(p1), ...ids(p2), ...ids(p3)]).toEqual(Array.from({ length: 120 }, (_, i) => `r-${String(i).padStart(3, "0")}`));
    expect(p3.total).toBe(120);
    const fresh = await getPage(pd);
    expect(fresh.total).toBe(30);
    expect(ids(fresh)[0]).toBe("new-000");
    expect(next(fresh)).toBeUndefined();
  });

  test("setData copies the arrays it is given", async () => {
    const d = dataset(3);
    up.setData(d);
    d.PlanDefinition.length = 0;
    expect((await getPage(pd)).total).toBe(3);
  });
});

describe("next link modes", () => {
  const ups = {
    absolute: startFakeUpstream({ data: dataset(120), nextLinks: "absolute" }),
    "relative-query": startFakeUpstream({ data: dataset(120), nextLinks: "relative-query" }),
    "relative-base": startFakeUpstream({ data: dataset(120), nextLinks: "relative-base" }),
  };
  afterAll(() => Promise.all(Object.values(ups).map((u) => u.stop())));

  for (const c of ["PlanDefinition", "RegulatedAuthorization"] as Collection[]) {
    const type = PATHS[c].split("/")[2]!;
    const serviceBase = PATHS[c].split("/")[1]!;

    test(`absolute (${c})`, async () => {
      const up = ups.absolute;
      const { pages } = await walk(up.url + PATHS[c], absolute);
      expect(pages.flatMap(ids)).toHaveLength(120);
      expect(next(pages[0]!)).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/${serviceBase}/${type}\\?_getpages=[0-9a-f-]{36}$`));
    });

    test(`relative-query (${c})`, async () => {
      const up = ups["relative-query"];
      const { pages, urls } = await walk(up.url + PATHS[c], (n, pageUrl) => new URL(n, pageUrl).href);
      expect(pages.flatMap(ids)).toHaveLength(120);
      expect(next(pages[0]!)).toMatch(/^\?_getpages=[0-9a-f-]{36}$/);
      expect(urls.every((u) => new URL(u).pathname === PATHS[c])).toBe(true);
    });

    test(`relative-base (${c})`, async () => {
      const up = ups["relative-base"];
      const base = `${up.url}/${serviceBase}`;
      const { pages, urls } = await walk(up.url + PATHS[c], (n) => new URL(n, base + "/").href);
      expect(pages.flatMap(ids)).toHaveLength(120);
      expect(next(pages[0]!)).toMatch(new RegExp(`^${type}\\?_getpages=[0-9a-f-]{36}$`));
      expect(urls.every((u) => new URL(u).pathname === PATHS[c])).toBe(true);
    });
  }
});

describe("options and stop", () => {
  test("custom key, header name (any case) and page size", async () => {
    const up = startFakeUpstream({ data: dataset(7), pageSize: 3, apiKey: "k2", keyHeader: "x-Custom-Key" });
    try {
      const url = up.url + PATHS.ActivityDefinition;
      expect((await get(url, "k2")).status).toBe(401); // sent as X-API-KEY: wrong header
      expect((await get(url, "k2", "X-CUSTOM-KEY")).status).toBe(200);
      let n = 0;
      const sizes: number[] = [];
      let u: string | undefined = url;
      while (u) {
        const res = await get(u, "k2", "x-custom-key");
        const p = (await res.json()) as Page;
        sizes.push(ids(p).length);
        u = next(p);
        if (++n > 10) break;
      }
      expect(sizes).toEqual([3, 3, 1]);
    } finally {
      await up.stop();
    }
  });

  test("empty collection: one page, total 0, no next link", async () => {
    const up = startFakeUpstream({ data: { PlanDefinition: [], ActivityDefinition: [], RegulatedAuthorization: [] } });
    try {
      const p = await getPage(up.url + PATHS.PlanDefinition);
      expect(p.total).toBe(0);
      expect(p.entry).toEqual([]);
      expect(next(p)).toBeUndefined();
    } finally {
      await up.stop();
    }
  });

  test("stop() returns promptly while a slow request is pending", async () => {
    const up = startFakeUpstream({ data: dataset(5) });
    up.addFault({ kind: "slow", delayMs: 60_000 });
    const pending = get(up.url + PATHS.PlanDefinition).then(
      (r) => r.status,
      () => "network error",
    );
    for (let i = 0; i < 100 && up.requests.length === 0; i++) await Bun.sleep(5);
    expect(up.requests).toHaveLength(1);
    const t0 = performance.now();
    await up.stop();
    expect(performance.now() - t0).toBeLessThan(1000);
    const outcome = await Promise.race([pending, Bun.sleep(2000).then(() => "still pending")]);
    expect(outcome).not.toBe("still pending");
    // Stopping twice is harmless; the port no longer answers.
    await up.stop();
    expect(await fetch(up.url + PATHS.PlanDefinition).then(() => "answered", () => "refused")).toBe("refused");
  });
});
