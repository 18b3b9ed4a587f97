import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { LongPolls } from "../../src/api/longPoll";
import { Store } from "../../src/store/db";
import { runSync } from "../../src/sync/run";
import { ensureBinary, serve, stopServersAfterAll } from "../support/binary";
import { authorization, smallDataset } from "../support/fhir";
import { startServer } from "../support/server";
import { datasetSource } from "../support/source";
import { tempDbPath, tempDir } from "../support/tmp";

/**
 * The long poll (?sinceVersion=N&wait=S) that every Nompd answers, and a replica's hold of a diff from a
 * version it has not applied yet. New versions are committed through another connection to the file, as
 * the sync's thread, a replica's follower or another process would.
 */
const dir = tempDir("nompd-long-poll-");
const dbPath = tempDbPath(dir);
const store = Store.open(dbPath);
const writer = Store.open(dbPath);
afterAll(() => writer.close());
const KEY = "long-poll-test-key-0123456789abcdefghij";
const server = startServer(store, { envKeys: [KEY] });
stopServersAfterAll();
let data = smallDataset(3, 4);

/** A new version, committed by another connection. */
async function newVersion(): Promise<number> {
  data = { ...data, RegulatedAuthorization: [...data.RegulatedAuthorization, authorization(`ra-new-${data.RegulatedAuthorization.length}`, ["G35"], ["299999"])] };
  const { run } = await runSync(writer, datasetSource(dir, data), { trigger: "import", force: false, maxDeleteShare: 0.5 });
  return run.version!;
}

const get = (path: string) => server.get(path, { "X-API-KEY": KEY });
/** The time `promise` takes, and its answer as text. */
async function timed(promise: Promise<Response>): Promise<{ ms: number; status: number; body: string; at: number }> {
  const start = performance.now();
  const res = await promise;
  const body = await res.text();
  return { ms: performance.now() - start, status: res.status, body, at: performance.now() };
}

beforeAll(async () => {
  expect(await newVersion()).toBe(1);
});

describe("?sinceVersion=N&wait=S", () => {
  test("nothing newer: the normal empty answer after S seconds", async () => {
    const r = await timed(get("/api/v1/reimbursementGroup?sinceVersion=1&wait=1"));
    expect(r.status).toBe(200);
    expect(r.body).toBe('{"currentVersion":1,"items":[]}');
    expect(r.ms).toBeGreaterThanOrEqual(950);
  });

  test("a new version committed meanwhile by another connection is answered at once, as the normal diff", async () => {
    const waiting = timed(get("/api/v1/fhir/RegulatedAuthorization?sinceVersion=1&wait=60"));
    await Bun.sleep(300);
    const version = await newVersion();
    const committed = performance.now();
    const r = await waiting;
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ currentVersion: version, items: [{ version, data: { identifier: [{ value: "ra-new-5" }] } }] });
    // Answered on the new version, not when the wait ran out (the tick is 100 ms; a wide margin here).
    expect(r.ms).toBeGreaterThanOrEqual(300);
    expect(r.at - committed).toBeLessThan(5000);
    expect(r.body).toBe(await (await get(`/api/v1/fhir/RegulatedAuthorization?sinceVersion=1`)).text());
  }, 20_000);

  test("a version already newer than N: answered at once, without waiting", async () => {
    const r = await timed(get("/api/v1/treatmentGroup?sinceVersion=0&wait=60"));
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).items.length).toBe(3);
    expect(r.ms).toBeLessThan(30_000);
  });

  test("wait is 1..60 and needs sinceVersion: else 400 naming the problem", async () => {
    for (const [query, says] of [
      ["wait=5", "together with sinceVersion"],
      ["sinceVersion=1&wait=0", "wait must be a whole number ≥ 1 and ≤ 60"],
      ["sinceVersion=1&wait=61", "≤ 60"],
      ["sinceVersion=1&wait=x", "wait must be"],
      ["asOfVersion=1&wait=5", "together with sinceVersion"],
      ["diseaseGroup=MS&wait=5", "together with sinceVersion"],
    ] as const) {
      const res = await get(`/api/v1/treatmentGroup?${query}`);
      expect({ query, status: res.status }).toEqual({ query, status: 400 });
      expect(((await res.json()) as any).error).toContain(says);
    }
  });

  test("a wait longer than the server's idle timeout (10 s) still gets its answer", async () => {
    const r = await timed(get("/api/v1/reimbursementGroup?sinceVersion=" + store.currentVersion() + "&wait=12"));
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).items).toEqual([]);
    expect(r.ms).toBeGreaterThanOrEqual(11_900);
  }, 30_000);
});

describe("the waiting requests", () => {
  test("thousands wait on one shared timer, and one commit answers them all", async () => {
    const polls = new LongPolls(store);
    const state = store.state();
    const waiting = Array.from({ length: 5000 }, () => polls.until(state.version + 1, state, 60));
    expect(polls.waiting).toBe(5000);
    const version = await newVersion();
    const answered = await Promise.all(waiting);
    expect(new Set(answered.map((s) => s.version))).toEqual(new Set([version]));
    expect(polls.waiting).toBe(0);
  });

  test("close() answers every waiting request at once, and later ones do not wait", async () => {
    const polls = new LongPolls(store);
    const state = store.state();
    const waiting = Promise.all(Array.from({ length: 10 }, () => polls.until(state.version + 1, state, 60)));
    polls.close();
    expect((await waiting).every((s) => s.version === state.version)).toBe(true);
    expect(polls.waiting).toBe(0);
    expect(await polls.until(state.version + 1, state, 60)).toMatchObject({ version: state.version });
  });

  test("stopping the server (SIGTERM) answers a waiting long poll at once", async () => {
    ensureBinary();
    const running = await serve(["--db", tempDbPath(dir)], { NOMPD_API_KEYS: KEY });
    const start = performance.now();
    const waiting = fetch(`${running.url}/api/v1/treatmentGroup?sinceVersion=0&wait=60`, { headers: { "X-API-KEY": KEY } });
    await Bun.sleep(300);
    running.proc.kill("SIGTERM");
    const res = await waiting;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ currentVersion: 0, items: [] });
    expect(await running.proc.exited).toBe(0);
    expect(performance.now() - start).toBeLessThan(30_000);
  }, 40_000);
});

describe("a replica asked for a version it has not applied yet", () => {
  const replicaPath = tempDbPath(dir);
  const replica = Store.open(replicaPath);
  const replicaWriter = Store.open(replicaPath);
  afterAll(() => replicaWriter.close());
  const replicaServer = startServer(replica, { envKeys: [KEY] });
  const rget = (path: string) => replicaServer.get(path, { "X-API-KEY": KEY });
  const item = (id: string, version: number) => ({ id, version, lastChanged: "2025-04-10T08:30:00Z", isDeleted: false, content: JSON.stringify({ resourceType: "PlanDefinition", identifier: [{ value: id }] }) });
  const apply = (base: number | null, version: number) => {
    const staging = replicaWriter.replica.staging();
    staging.put("PlanDefinition", [item(`pd-${version}`, version)]);
    const applied = replicaWriter.replica.apply({ base, target: { datasetId: "a0000000-0000-4000-8000-000000000001", version, diffFloor: 0, sample: false } });
    staging.clear();
    expect(applied.applied).toBe(true);
  };

  beforeAll(() => {
    replica.replica.follow("http://primary.example/");
    apply(null, 1);
  });

  test("/health and /health/ready say whom it follows, in the documented shape", async () => {
    replica.replica.noteContact(1, true);
    const health = (await (await replicaServer.get("/health")).json()) as any;
    expect(health).toMatchObject({ currentVersion: 1, ready: true, reason: null, lastRunStatus: null, follow: { primary: "http://primary.example/", primaryVersion: 1, maxLagSeconds: 172800, unreachableSince: null } });
    expect(health.follow.lagSeconds).toBeGreaterThanOrEqual(0);
    expect((await replicaServer.get("/health/ready")).status).toBe(200);
    replica.replica.noteFailure("the primary is away");
    expect(((await (await replicaServer.get("/health")).json()) as any).follow).toMatchObject({ unreachableSince: expect.any(String), lastError: "the primary is away" });
  });

  test("a version its primary has: held until applied, then the diff", async () => {
    replica.replica.noteContact(2, false);
    const waiting = timed(rget("/api/v1/fhir/PlanDefinition?sinceVersion=2"));
    await Bun.sleep(300);
    apply(1, 2);
    apply(2, 3);
    const r = await waiting;
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ currentVersion: 3, items: [{ version: 3 }] });
  });

  test("not applied within 5 s though the primary has it: 503 with Retry-After, not 409", async () => {
    replica.replica.noteContact(4, false);
    const res = await rget("/api/v1/fhir/PlanDefinition?sinceVersion=4");
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(((await res.json()) as any).error).toContain("still applying its primary's version 4");
  }, 20_000);

  test("a version its primary is not known to have: 409 after the short hold, as any server answers", async () => {
    const res = await rget("/api/v1/fhir/PlanDefinition?sinceVersion=9");
    expect(res.status).toBe(409);
  }, 20_000);

  test("asOfVersion of a version it holds is answered; of one it took together with a later one, 410", async () => {
    const staging = replicaWriter.replica.staging();
    staging.put("PlanDefinition", [item("pd-5", 5), item("pd-6", 6)]);
    // Versions 5 and 6 of the primary arrive as one step to 6.
    expect(replicaWriter.replica.apply({ base: 3, target: { datasetId: "a0000000-0000-4000-8000-000000000001", version: 6, diffFloor: 0, sample: false } }).applied).toBe(true);
    staging.clear();
    expect((await rget("/api/v1/fhir/PlanDefinition?asOfVersion=6")).status).toBe(200);
    expect((await rget("/api/v1/fhir/PlanDefinition?asOfVersion=3")).status).toBe(200);
    const skipped = await rget("/api/v1/fhir/PlanDefinition?asOfVersion=5");
    expect(skipped.status).toBe(410);
    expect(((await skipped.json()) as any).error).toContain("http://primary.example/");
    // Asked again (and after an answer for a version it holds was kept): still refused, never kept.
    expect((await rget("/api/v1/fhir/PlanDefinition?asOfVersion=5")).status).toBe(410);
    // The first version it took is where its history starts.
    expect((await rget("/api/v1/fhir/PlanDefinition?asOfVersion=0")).status).toBe(410);
  });

  test("the dataset replaced while a long poll waits: the 409 it ends with names the new dataset", async () => {
    const before = replica.state();
    // Newer than the version the reset brings: the diff cannot be answered, 409.
    expect(before.version).toBeGreaterThan(1);
    const waiting = rget(`/api/v1/fhir/PlanDefinition?sinceVersion=${before.version}&wait=30`);
    await Bun.sleep(300);
    // The primary was reset: its new dataset is applied whole, at a lower version.
    const staging = replicaWriter.replica.staging();
    staging.put("PlanDefinition", [item("pd-1", 1)]);
    expect(replicaWriter.replica.apply({ base: null, target: { datasetId: "a0000000-0000-4000-8000-000000000002", version: 1, diffFloor: 0, sample: false } }).applied).toBe(true);
    staging.clear();
    const res = await waiting;
    expect(res.status).toBe(409);
    expect(res.headers.get("x-nompd-dataset")).toBe("a0000000-0000-4000-8000-000000000002");
    expect(before.datasetId).not.toBe("a0000000-0000-4000-8000-000000000002");
  }, 20_000);
});
