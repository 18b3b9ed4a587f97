import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { fetchFeed, ItemReader } from "../../src/follow/feed";
import { Follower } from "../../src/follow/follower";
import { followHealth } from "../../src/follow/health";
import { waitSecondsFor } from "../../src/follow/service";
import { createLogger } from "../../src/log";
import { Store } from "../../src/store/db";
import { runSync } from "../../src/sync/run";
import { smallDataset } from "../support/fhir";
import { startServer } from "../support/server";
import { datasetSource } from "../support/source";
import { tempDbPath, tempDir } from "../support/tmp";

/** The follower in-process, against a primary on a real socket and against things that are not one. */
const dir = tempDir("nompd-follower-");
const KEY = "primary-read-key-0123456789abcdefghijkl";
/** A fake primary's dataset id. */
const DATASET = "b0000000-0000-4000-8000-000000000001";
const primaryStore = Store.open(tempDbPath(dir));
const primary = startServer(primaryStore, { envKeys: [KEY] });

beforeAll(async () => {
  await runSync(primaryStore, datasetSource(dir, smallDataset(3, 5)), { trigger: "import", force: false, maxDeleteShare: 0.5 });
});

/** Runs a follower of `url` until `done` holds of its store (or 10 s); returns its store and log lines. */
async function follow(url: string, key: string | null, done: (store: Store) => boolean) {
  const store = Store.open(tempDbPath(dir));
  store.replica.follow(url);
  const logs: string[] = [];
  const stop = new AbortController();
  const running = new Follower(store, { url, apiKey: key, waitSeconds: 1, log: createLogger("json", (l) => logs.push(l)), signal: stop.signal, firstRetryMs: 20, maxRetryMs: 100 }).run();
  for (let i = 0; i < 200 && !done(store); i++) await Bun.sleep(50);
  stop.abort();
  await running;
  return { store, logs };
}

/** A server that answers every request with `answer`. */
function fakePrimary(answer: () => Response) {
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: answer });
  afterAll(() => server.stop(true));
  return `http://127.0.0.1:${server.port}/`;
}

/** --follow-max-lag, in seconds. */
const MAX_LAG = 3600;

const failed = (store: Store) => store.replica.status()?.lastError != null;

describe("the follower", () => {
  test("follows a primary: its version, dataset id and documents; caught up, nothing unreachable", async () => {
    const { store, logs } = await follow(primary.url, KEY, (s) => s.currentVersion() === 1 && s.replica.status()?.caughtUpAt != null);
    expect(store.state()).toMatchObject({ version: 1, datasetId: primaryStore.datasetId });
    for (const c of ["treatmentGroup", "reimbursementGroup", "PlanDefinition", "ActivityDefinition", "RegulatedAuthorization"] as const) {
      expect(store.documents.since(c, 0)).toEqual(primaryStore.documents.since(c, 0));
    }
    expect(store.replica.status()).toMatchObject({ primaryVersion: 1, unreachableSince: null, lastError: null });
    expect(followHealth(store, store.state(), MAX_LAG)).toMatchObject({ ready: true, reason: null, follow: { primaryVersion: 1 } });
    expect(logs.join("\n")).not.toContain(KEY);
    // The status page's endpoint on the replica says whom it follows (a primary has null there).
    const replica = startServer(store, { envKeys: [KEY] });
    const status = (await (await replica.get("/api/v1/status", { "X-API-KEY": KEY })).json()) as { follow: { primary: string; primaryVersion: number } | null };
    expect(status.follow).toMatchObject({ primary: primary.url.replace(/\/$/, ""), primaryVersion: 1, unreachableSince: null });
    const own = (await (await primary.get("/api/v1/status", { "X-API-KEY": KEY })).json()) as { follow: unknown };
    expect(own.follow).toBeNull();
  });

  test("a wrong key: noted as the primary refusing the key, retried, nothing applied; the key never logged", async () => {
    const { store, logs } = await follow(primary.url, "a-wrong-key-0123456789abcdefghijklmnop", failed);
    const status = store.replica.status()!;
    expect(status.lastError).toContain("HTTP 401, the primary refused the key");
    expect(status.unreachableSince).not.toBeNull();
    expect(store.currentVersion()).toBe(0);
    expect(followHealth(store, store.state(), MAX_LAG)).toMatchObject({ ready: false });
    expect(followHealth(store, store.state(), MAX_LAG).reason).toContain("not yet caught up");
    // One warning for a run of the same failure.
    expect(logs.filter((l) => l.includes("cannot follow the primary")).length).toBe(1);
    expect(logs.join("\n")).not.toContain("a-wrong-key");
  });

  test("nothing listening: a network error naming the URL", async () => {
    const gone = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
    const url = `http://127.0.0.1:${gone.port}/`;
    gone.stop(true);
    const { store } = await follow(url, KEY, failed);
    expect(store.replica.status()!.lastError).toContain(`at ${url}api/v1/fhir/PlanDefinition?…: network error`);
  });

  test("not a Nompd (no dataset header, a 404, a redirect, not a list): said so, nothing applied", async () => {
    const cases: Array<[() => Response, string]> = [
      [() => new Response("<html>hello</html>", { status: 200 }), "no X-Nompd-Dataset header"],
      [() => new Response('{"currentVersion":1,"items":[]}', { headers: { "x-nompd-dataset": "not-a-uuid" } }), 'X-Nompd-Dataset header that is not a dataset id (a UUID): "not-a-uuid"'],
      [() => new Response("{}", { status: 404 }), "HTTP 404, no Nompd answers there"],
      [() => new Response(null, { status: 302, headers: { location: "http://elsewhere.example/" } }), "Redirects are not followed"],
      [() => new Response('{"currentVersion":"x"}', { headers: { "x-nompd-dataset": DATASET } }), "is not a Nompd list"],
      [() => new Response('{"currentVersion":1,"items":[{"data":{"id":"a"},"version":1}]}', { headers: { "x-nompd-dataset": DATASET } }), "item 0 is not {\"data\":{…}"],
      [() => new Response('{"error":"busy"}', { status: 500 }), "HTTP 500: busy"],
    ];
    for (const [answer, says] of cases) {
      const { store } = await follow(fakePrimary(answer), KEY, failed);
      expect(store.replica.status()!.lastError).toContain(says);
      expect(store.currentVersion()).toBe(0);
    }
  });

  test("the long poll's wait is a quarter of --follow-max-lag, from 1 to 30 s", () => {
    expect([1, 4, 40, 120, 172800].map(waitSecondsFor)).toEqual([1, 1, 10, 30, 30]);
  });

  test("a list read as it arrives, in chunks of any size: the items' data as the very bytes sent, or a clear refusal", async () => {
    const res = await primary.get("/api/v1/treatmentGroup?sinceVersion=0", { "X-API-KEY": KEY, "accept-encoding": "identity" });
    const bytes = new TextEncoder().encode((await res.text()).replace('"name":"', '"name":"æ\\"ø\\\\å}]{'));
    const whole = JSON.parse(new TextDecoder().decode(bytes));
    for (const size of [1, 2, 3, 7, 64, 1000, bytes.length]) {
      const reader = new ItemReader("treatmentGroup", "test");
      const decoder = new TextDecoder();
      const items: Array<{ id: string; content: string; version: number }> = [];
      for (let i = 0; i < bytes.length; i += size) reader.push(decoder.decode(bytes.subarray(i, i + size), { stream: true }), (item) => items.push(item));
      reader.push(decoder.decode(), (item) => items.push(item));
      expect(reader.end()).toBe(whole.currentVersion);
      expect(items.map((i) => i.content)).toEqual(whole.items.map((i: any) => JSON.stringify(i.data)));
      expect(items.map((i) => i.id)).toEqual(whole.items.map((i: any) => i.data.id));
    }
    const cut = new ItemReader("treatmentGroup", "test");
    cut.push(new TextDecoder().decode(bytes.subarray(0, bytes.length - 5)), () => {});
    expect(() => cut.end()).toThrow(/ended before the list did/);
    expect(() => new ItemReader("treatmentGroup", "test").push('{"currentVersion": 1, "items": []}', () => {})).toThrow(/not a Nompd list/);
  });

  test("an error of the replica's own database while a feed is read is passed on as it is, not as the primary's", async () => {
    const items = Array.from({ length: 1500 }, (_, i) => `{"data":{"id":"g${i}"},"version":1,"lastChanged":"2026-01-01T00:00:00Z","isDeleted":false}`);
    const url = fakePrimary(() => new Response(`{"currentVersion":1,"items":[${items.join(",")}]}`, { headers: { "x-nompd-dataset": DATASET } }));
    const disk = new Error("disk I/O error");
    const batches: number[] = [];
    const read = fetchFeed({ url, apiKey: null }, "treatmentGroup", 0, null, new AbortController().signal, () => (batch) => {
      batches.push(batch.length);
      throw disk;
    });
    expect(await read.then(() => null, (err: unknown) => err)).toBe(disk);
    expect(batches).toEqual([1000]);
  });

  test("a primary that prunes its history: the replica follows its diff floor and forgets the same deleted items", async () => {
    const store = Store.open(tempDbPath(dir));
    store.replica.follow(primary.url);
    const stop = new AbortController();
    const running = new Follower(store, { url: primary.url, apiKey: KEY, waitSeconds: 1, log: createLogger("json", () => {}), signal: stop.signal, firstRetryMs: 20, maxRetryMs: 100 }).run();
    const caughtUp = async () => {
      for (let i = 0; i < 200 && store.currentVersion() !== primaryStore.currentVersion(); i++) await Bun.sleep(25);
      expect(store.currentVersion()).toBe(primaryStore.currentVersion());
    };
    await caughtUp();
    // Two syncs, each deleting a reimbursement group, keeping the history of the newest version only.
    for (const auths of [4, 3]) {
      await runSync(primaryStore, datasetSource(dir, smallDataset(3, auths)), { trigger: "import", force: true, maxDeleteShare: 0.5, keepVersions: 1 });
      await caughtUp();
    }
    stop.abort();
    await running;
    expect(primaryStore.state().diffFloor).toBeGreaterThan(1);
    expect(store.state().diffFloor).toBe(primaryStore.state().diffFloor);
    for (const c of ["treatmentGroup", "reimbursementGroup", "PlanDefinition", "ActivityDefinition", "RegulatedAuthorization"] as const) {
      expect(store.documents.since(c, 0)).toEqual(primaryStore.documents.since(c, 0));
    }
  });
});
