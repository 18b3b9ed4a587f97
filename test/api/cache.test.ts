import { beforeAll, describe, expect, test } from "bun:test";
import { AnswerCache } from "../../src/api/cache";
import { PreparedBody } from "../../src/api/http";
import { Store } from "../../src/store/db";
import { runSync } from "../../src/sync/run";
import { smallDataset } from "../support/fhir";
import { startServer } from "../support/server";
import { datasetSource } from "../support/source";
import { tempDbPath, tempDir } from "../support/tmp";

const body = (bytes: number) => new PreparedBody(new Uint8Array(bytes));

describe("the answer cache", () => {
  test("keeps answers up to its cap, evicting the least recently used", () => {
    const cache = new AnswerCache<PreparedBody>(1000);
    cache.put("v1", "a", body(250));
    cache.put("v1", "b", body(250));
    cache.put("v1", "c", body(250));
    expect(cache.get("v1", "a")).toBeDefined(); // a is now the most recently used
    cache.put("v1", "d", body(250));
    cache.put("v1", "e", body(250));
    expect(cache.bytes).toBeLessThanOrEqual(1000);
    expect(cache.get("v1", "b")).toBeUndefined();
    expect(cache.get("v1", "a")).toBeDefined();
    expect(cache.get("v1", "e")).toBeDefined();
  });

  test("an answer over a quarter of the cap is not kept; a pinned one always is, and others make room", () => {
    const cache = new AnswerCache<PreparedBody>(1000);
    cache.put("v1", "big", body(300));
    expect(cache.get("v1", "big")).toBeUndefined();
    cache.put("v1", "list", body(900), true);
    cache.put("v1", "x", body(200));
    cache.put("v1", "y", body(200));
    expect(cache.get("v1", "list")).toBeDefined();
    expect(cache.count).toBe(2); // the pinned list and the newest answer
  });

  test("compressed forms count, and a form made later can evict others", () => {
    const cache = new AnswerCache<PreparedBody>(200_000);
    const text = new TextEncoder().encode(JSON.stringify(Array.from({ length: 500 }, (_, i) => ({ i, random: Math.random() }))));
    const a = cache.put("v1", "a", new PreparedBody(text));
    const before = cache.bytes;
    a.form("gzip");
    expect(cache.bytes).toBeGreaterThan(before);
    expect(cache.bytes).toBe(a.size);
  });

  test("another dataset version empties it", () => {
    const cache = new AnswerCache<PreparedBody>(1000);
    cache.put("v1", "a", body(10));
    expect(cache.get("v2", "a")).toBeUndefined();
    expect(cache.count).toBe(0);
    expect(cache.bytes).toBe(0);
  });
});

describe("answers are kept under what they mean, not how they were spelled", () => {
  const dir = tempDir();
  const store = Store.open(tempDbPath(dir));
  const server = startServer(store);
  let key = "";
  beforeAll(async () => {
    key = store.keys.create("k", "read");
    await runSync(store, datasetSource(dir, smallDataset()), { trigger: "import", force: false, maxDeleteShare: 0.5 });
  });
  const entries = async () => Number(/^nompd_answer_cache_entries (\d+)/m.exec(await (await server.get("/metrics")).text())![1]);

  test("spaces and letter case of a filter value, and the order of filters, make no new entry", async () => {
    const get = (q: string) => server.get(`/api/v1/treatmentGroup?${q}`, { "X-API-KEY": key });
    const first = await get("diseaseGroup=MS&jurisdiction=100022");
    const n = await entries();
    for (const q of ["diseaseGroup=%20ms&jurisdiction=100022", "jurisdiction=100022%20&diseaseGroup=Ms", "diseaseGroup=MS%20%20&jurisdiction=%20%20100022"]) {
      const res = await get(q);
      expect(await res.text()).toBe(await first.clone().text());
    }
    expect(await entries()).toBe(n);
    await get("diseaseGroup=Revmatologi");
    expect(await entries()).toBe(n + 1);
  });
});
