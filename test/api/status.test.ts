import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { hostname } from "node:os";
import { Store } from "../../src/store/db";
import { runSync } from "../../src/sync/run";
import { commitDocs, sqlite } from "../support/db";
import { startFakeUpstream, type FakeUpstream } from "../support/fakeUpstream";
import { authorization, plan, smallDataset } from "../support/fhir";
import { startServer } from "../support/server";
import { datasetSource } from "../support/source";
import { tempDbPath, tempDir } from "../support/tmp";

/**
 * The endpoints the status page reads: status, versions and their changes (any key), keys and sync
 * progress (admin). Every answer is checked against the served OpenAPI document (startServer).
 */
const dir = tempDir();
const dbPath = tempDbPath(dir);
const store = Store.open(dbPath);
const UPSTREAM_KEY = "upstream-key-status-41";
let reader = "";
let admin = "";

const sync = (dataset: ReturnType<typeof smallDataset>) => runSync(store, datasetSource(dir, dataset), { trigger: "import", force: true, maxDeleteShare: 0.5 });

// v1: 4 groups, 6 authorizations. v2: group 000 renamed, 003 removed, 004 added. v3: 003 back.
const v1 = smallDataset(4, 6);
const v2 = smallDataset(4, 6);
(v2.PlanDefinition[0] as { name: string }).name = "Gruppe 0 – endret";
const removed = v2.PlanDefinition.splice(3, 1)[0]!;
v2.PlanDefinition.push(plan("pd-004", "Gruppe 4", { diseaseGroup: "HIV", icd: ["B20"], actions: ["ad-4"] }));
const v3 = structuredClone(v2);
v3.PlanDefinition.push(removed);

const upstream: FakeUpstream = startFakeUpstream({ data: v3, apiKey: UPSTREAM_KEY, pageSize: 2 });
afterAll(() => upstream.stop());
const server = startServer(store, {
  upstream: { baseUrl: upstream.url, apiKey: UPSTREAM_KEY, keyHeader: "X-API-KEY", timeoutMs: 10_000, retries: 0, backoffMs: 10, maxPageBytes: 1 << 26 },
});
// Its own server (started at the top level, stopped after the file): the oldest kept version is 2.
const pruned = Store.open(tempDbPath(dir));
const prunedServer = startServer(pruned);

beforeAll(async () => {
  reader = store.keys.create("pharmacy", "read");
  admin = store.keys.create("ops", "admin");
  for (const v of [v1, v2, v3]) expect((await sync(v)).run.status).toBe("succeeded");
  for (const v of [v1, v2, v3]) await runSync(pruned, datasetSource(dir, v), { trigger: "import", force: true, maxDeleteShare: 0.5, keepVersions: 2 });
});

const as = (key: string) => ({ "X-API-KEY": key });
const json = async (res: Response): Promise<any> => JSON.parse(await res.text());

describe("GET /api/v1/status", () => {
  test("the dataset, the schedule, the lock, the documents and the last runs, for a read key", async () => {
    const res = await server.get("/api/v1/status", as(reader));
    expect(res.status).toBe(200);
    expect(res.headers.get("x-nompd-dataset")).toBe(store.datasetId);
    const s = await json(res);
    expect(s).toMatchObject({ currentVersion: 3, datasetId: store.datasetId, sample: false, upstream: true, schedule: null, nextScheduledSync: null });
    expect(s.caller).toEqual({ name: "pharmacy", scope: "read" });
    expect(s.lock).toEqual({ state: "free", trigger: null, pid: null, host: null, startedAt: null });
    expect(s.runs.map((r: { version: number }) => r.version)).toEqual([3, 2, 1]);
    expect(s.lastSuccessfulSync).toBe(s.runs[0].finishedAt);
    expect(s.collections.treatmentGroup).toEqual({ live: 5, deleted: 0 });
    expect((await server.get("/api/v1/status")).status).toBe(401);
  });

  test("the lock: held by this live process, then a leftover of a process that is gone", async () => {
    const held = store.lock.acquire("cli");
    try {
      const s = await json(await server.get("/api/v1/status", as(reader)));
      expect(s.lock).toMatchObject({ state: "held", trigger: "cli", pid: process.pid, host: hostname() });
    } finally {
      held.release();
    }
    // A process that ran and ended: its pid names nobody now.
    const gone = Bun.spawnSync(["true"]).pid;
    sqlite(dbPath)
      .query("INSERT INTO sync_lock (id, pid, host, trigger, started_at, renewed_at, token) VALUES (1, ?, ?, 'schedule', '2026-01-01T02:00:00Z', '2026-01-01T02:00:00Z', 'left')")
      .run(gone, hostname());
    const s = await json(await server.get("/api/v1/status", as(reader)));
    expect(s.lock).toEqual({ state: "leftover", trigger: "schedule", pid: gone, host: hostname(), startedAt: "2026-01-01T02:00:00Z" });
    sqlite(dbPath).exec("DELETE FROM sync_lock");
  });

  test("an ETag, and 304 for the same state", async () => {
    const first = await server.get("/api/v1/status", as(reader));
    const again = await server.get("/api/v1/status", { ...as(reader), "If-None-Match": first.headers.get("etag")! });
    expect(again.status).toBe(304);
  });
});

describe("GET /api/v1/versions", () => {
  test("newest first, with what each version changed per collection; limit and before page through them", async () => {
    const body = await json(await server.get("/api/v1/versions", as(reader)));
    expect(body.currentVersion).toBe(3);
    expect(body.versions.map((v: { version: number }) => v.version)).toEqual([3, 2, 1]);
    const [three, two, one] = body.versions;
    expect(one.counts.treatmentGroup).toEqual({ added: 4, changed: 0, deleted: 0, revived: 0 });
    expect(two.counts.treatmentGroup).toEqual({ added: 1, changed: 1, deleted: 1, revived: 0 });
    expect(three.counts.treatmentGroup).toEqual({ added: 0, changed: 0, deleted: 0, revived: 1 });
    expect(two.runId).toBe(store.runs.recent(3)[1]!.id);
    const page = await json(await server.get("/api/v1/versions?limit=1&before=3", as(reader)));
    expect(page.versions.map((v: { version: number }) => v.version)).toEqual([2]);
    for (const bad of ["limit=0", "limit=x", "before=-1", "since=1"]) expect((await server.get(`/api/v1/versions?${bad}`, as(reader))).status).toBe(400);
  });

  test("one version's changes: each item with its collection, a name and the kind of change", async () => {
    const two = await json(await server.get("/api/v1/versions/2", as(reader)));
    expect(two.version.version).toBe(2);
    const groups = two.changes.filter((c: { collection: string }) => c.collection === "treatmentGroup");
    expect(groups).toEqual([
      { collection: "treatmentGroup", id: "pd-000", label: "Gruppe 0 – endret", change: "changed" },
      { collection: "treatmentGroup", id: "pd-003", label: "Gruppe 3", change: "deleted" },
      { collection: "treatmentGroup", id: "pd-004", label: "Gruppe 4", change: "added" },
    ]);
    expect(two.changes.filter((c: { collection: string }) => c.collection === "PlanDefinition").map((c: { label: string }) => c.label)).toEqual(["Gruppe 0 – endret", "Gruppe 3", "Gruppe 4"]);
    const three = await json(await server.get("/api/v1/versions/3", as(reader)));
    expect(three.changes.filter((c: { collection: string }) => c.collection === "treatmentGroup")).toEqual([
      { collection: "treatmentGroup", id: "pd-003", label: "Gruppe 3", change: "revived" },
    ]);
    // The counts recorded with the version agree with the changes listed.
    const one = await json(await server.get("/api/v1/versions/1", as(reader)));
    for (const [collection, n] of Object.entries(one.version.counts as Record<string, { added: number }>)) {
      expect(one.changes.filter((c: { collection: string; change: string }) => c.collection === collection && c.change === "added").length).toBe(n.added);
    }
  });

  test("unknown versions are 404, malformed ones 400 (0 too: versions start at 1), versions older than the kept history 410", async () => {
    for (const v of ["4", "999999999999999"]) {
      const res = await server.get(`/api/v1/versions/${v}`, as(reader));
      expect(res.status).toBe(404);
      expect((await json(res)).error).toContain("the current version is 3");
    }
    for (const v of ["x", "1.5", "-1", "0"]) {
      const res = await server.get(`/api/v1/versions/${v}`, as(reader));
      expect(res.status).toBe(400);
      expect((await json(res)).error).toBe(`version must be a whole number ≥ 1, got "${v}".`);
    }
    const key = pruned.keys.create("r", "read");
    expect((await prunedServer.get("/api/v1/versions/1", as(key))).status).toBe(410);
    expect((await prunedServer.get("/api/v1/versions/2", as(key))).status).toBe(200);
  });
});

describe("GET /api/v1/status on a replica", () => {
  test("its last successful sync is the last version it applied (a replica runs no syncs), and whom it follows", async () => {
    const replica = Store.open(tempDbPath(dir));
    const primaryDataset = crypto.randomUUID();
    replica.replica.follow("http://primary.example/");
    const staging = replica.replica.staging();
    staging.put("treatmentGroup", [{ id: "tg-1", version: 4, lastChanged: "2025-04-10T08:30:00Z", isDeleted: false, content: JSON.stringify({ id: "tg-1" }) }]);
    replica.replica.apply({ base: null, target: { datasetId: primaryDataset, version: 4, diffFloor: 0, sample: false }, at: new Date("2025-05-01T00:00:00Z") });
    staging.clear();
    const key = replica.keys.create("r", "read");
    const s = await json(await startServer(replica).get("/api/v1/status", as(key)));
    expect(s).toMatchObject({ currentVersion: 4, datasetId: primaryDataset, runs: [], lastSuccessfulSync: "2025-05-01T00:00:00Z" });
    expect(s.follow).toMatchObject({ primary: "http://primary.example/" });
  });
});

describe("keys over HTTP (admin)", () => {
  const post = (body: unknown, key = admin, type = "application/json") =>
    server.request("/api/internal/keys", { method: "POST", headers: { ...as(key), "content-type": type }, body: typeof body === "string" ? body : JSON.stringify(body) });

  test("list, create (the key shown once, and it works), revoke (it stops working)", async () => {
    const list = await json(await server.get("/api/internal/keys", as(admin)));
    expect(list.keys.map((k: { name: string }) => k.name)).toEqual(["ops", "pharmacy"]);
    expect(JSON.stringify(list)).not.toContain(reader);

    const created = await post({ name: "ward-7", scope: "read" });
    expect(created.status).toBe(201);
    const key = await json(created);
    expect(key).toMatchObject({ name: "ward-7", scope: "read" });
    expect(key.key).toMatch(/^nompd_/);
    expect((await server.get("/api/v1/status", as(key.key))).status).toBe(200);
    expect((await json(await post({ name: "ward-8" }))).scope).toBe("read");

    const revoked = await server.request("/api/internal/keys/ward-7", { method: "DELETE", headers: as(admin) });
    expect(revoked.status).toBe(200);
    expect((await json(revoked)).revokedAt).not.toBeNull();
    expect((await server.get("/api/v1/status", as(key.key))).status).toBe(401);
    const again = await server.request("/api/internal/keys/ward-7", { method: "DELETE", headers: as(admin) });
    expect(again.status).toBe(404);
  });

  test("a key cannot revoke itself; read keys get 403", async () => {
    const own = await server.request("/api/internal/keys/ops", { method: "DELETE", headers: as(admin) });
    expect(own.status).toBe(409);
    expect((await json(own)).error).toContain("is the key you are signed in with");
    expect((await server.get("/api/internal/keys", as(reader))).status).toBe(403);
    expect((await post({ name: "x" }, reader)).status).toBe(403);
  });

  test("bad bodies get a clear 400, 413 or 415", async () => {
    const cases: Array<[unknown, string, number, string]> = [
      [{ name: "ops" }, "application/json", 409, "exists already"],
      [{ name: "bad name!" }, "application/json", 400, "Invalid key name"],
      [{ name: "x", scope: "root" }, "application/json", 400, 'field "scope"'],
      [{ name: "x", extra: 1 }, "application/json", 400, 'Unknown field "extra"'],
      [{}, "application/json", 400, 'lacks the field "name"'],
      [{ name: 5 }, "application/json", 400, 'field "name"'],
      ["[1]", "application/json", 400, "must be a JSON object"],
      ["{name:", "application/json", 400, "not valid JSON"],
      ['{"name":"x"}', "text/plain", 415, "Content-Type: application/json"],
      [JSON.stringify({ name: "x".repeat(20_000) }), "application/json", 413, "at most"],
    ];
    for (const [body, type, status, message] of cases) {
      const res = await post(body, admin, type);
      expect(res.status).toBe(status);
      expect((await json(res)).error).toContain(message);
    }
  });
});

describe("GET /api/internal/sync/progress", () => {
  test("idle: not running; during a sync: pages and resources per collection; after: not running", async () => {
    expect(await json(await server.get("/api/internal/sync/progress", as(admin)))).toEqual({ running: false, sync: null });
    upstream.setData({ ...v3, RegulatedAuthorization: [...v3.RegulatedAuthorization, authorization("ra-new", ["G35"], ["123456"])] });
    upstream.addFault({ collection: "RegulatedAuthorization", page: 2, kind: "slow", delayMs: 1500, times: 1 });
    const running = server.post("/api/internal/sync", as(admin));
    let seen: any = null;
    for (let i = 0; i < 200 && !seen?.sync?.collections?.RegulatedAuthorization; i++) {
      seen = await json(await server.get("/api/internal/sync/progress", as(admin)));
      await Bun.sleep(20);
    }
    expect(seen.running).toBe(true);
    expect(seen.sync).toMatchObject({ trigger: "http", dryRun: false, force: false });
    expect(seen.sync.collections.RegulatedAuthorization).toEqual({ pages: 1, resources: 2, done: false });
    const done = await running;
    expect(done.status).toBe(200);
    expect((await json(done)).status).toBe("succeeded");
    expect(await json(await server.get("/api/internal/sync/progress", as(admin)))).toEqual({ running: false, sync: null });
    expect((await server.get("/api/internal/sync/progress", as(reader))).status).toBe(403);
  });
});

describe("the status page, run from source", () => {
  test("is bundled on first use and served at / with its assets (the compiled binary: test/ui)", async () => {
    // Not through the contract check: the page is no API operation.
    const page = await fetch(server.url + "/");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    const assets = [...(await page.text()).matchAll(/(?:src|href)="(\/ui\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBe(3);
    for (const a of assets) {
      const res = await fetch(server.url + a, { headers: { "accept-encoding": "br" } });
      expect(res.status).toBe(200);
      expect(res.headers.get("cache-control")).toContain("immutable");
    }
  });
});

describe("the OpenAPI document", () => {
  test("documents the key's request body and its answers, and not the page", async () => {
    const doc = await json(await server.get("/swagger/json"));
    const create = doc.paths["/api/internal/keys"].post;
    expect(create.requestBody.content["application/json"].schema).toEqual({ $ref: "#/components/schemas/NewApiKeyRequest" });
    expect(Object.keys(create.responses)).toEqual(["201", "400", "401", "403", "409", "413", "415"]);
    // The page is no API operation.
    expect(doc.paths["/"]).toBeUndefined();
  });
});

describe("a dry run during which another process writes", () => {
  // Its own database, upstream and server (started at the top level, stopped after the file).
  const path = tempDbPath(dir);
  const own = Store.open(path);
  const ownUpstream = startFakeUpstream({ data: v3, apiKey: UPSTREAM_KEY, pageSize: 2 });
  afterAll(() => ownUpstream.stop());
  const ownServer = startServer(own, {
    upstream: { baseUrl: ownUpstream.url, apiKey: UPSTREAM_KEY, keyHeader: "X-API-KEY", timeoutMs: 10_000, retries: 0, backoffMs: 10, maxPageBytes: 1 << 26 },
  });

  test("a dry run or a sync answers 409 saying so, and nothing is written", async () => {
    expect((await runSync(own, datasetSource(dir, v3), { trigger: "import", force: false, maxDeleteShare: 0.5 })).run.version).toBe(1);
    const key = own.keys.create("ops", "admin");
    for (const [dryRun, from] of [[true, 1], [false, 2]] as const) {
      ownUpstream.addFault({ collection: "RegulatedAuthorization", page: 2, kind: "slow", delayMs: 1500, times: 1 });
      const running = ownServer.post(`/api/internal/sync?dryRun=${dryRun}`, as(key));
      let seen: any = null;
      for (let i = 0; i < 200 && !seen?.sync?.collections?.RegulatedAuthorization; i++) {
        seen = await json(await ownServer.get("/api/internal/sync/progress", as(key)));
        await Bun.sleep(20);
      }
      expect(seen?.sync?.collections?.RegulatedAuthorization).toMatchObject({ pages: 1 });
      // It has compared its first page; now a writer that takes no lock makes the next version.
      const other = Store.open(path);
      commitDocs(other, { treatmentGroup: [{ id: `intruder-${from}`, json: "{}" }] }, { maxDeleteShare: 1, force: true, runId: null });
      other.close();
      const res = await running;
      expect(res.status).toBe(409);
      const body = (await res.json()) as { error: string; run?: { status: string } };
      expect(body.error).toContain(`The database changed while this sync read its source: it compared with version ${from}, and version ${from + 1} was committed meanwhile`);
      expect(body.run?.status).toBe(dryRun ? undefined : "failed");
      expect(own.currentVersion()).toBe(from + 1);
    }
    // Two syncs held up 1.5 s each by the slow page: about 3.3 s alone, more beside other tests.
  }, 15_000);
});
