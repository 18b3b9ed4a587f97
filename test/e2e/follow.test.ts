import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { createKey, ensureBinary, nompd, serve, stopServersAfterAll, type RunningServer } from "../support/binary";
import { startFakeUpstream, type FakeUpstream } from "../support/fakeUpstream";
import { activity, authorization, plan, type Dataset } from "../support/fhir";
import { freePort } from "../support/ports";
import { tempDir } from "../support/tmp";

/**
 * Follow mode with the real binary: a primary syncing from the fake upstream, two replicas of it and a
 * replica of a replica. At every version every answer a replica gives is compared, byte for byte, with
 * the primary's; a client alternating between the two replicas keeps an unbroken diff chain; then the
 * primary is killed and restarted, its database replaced, and a replica killed in the middle of an apply.
 */
const dir = tempDir("nompd-follow-");
stopServersAfterAll();
const UPSTREAM_KEY = "upstream-key-follow-3c1d";
/** A read key on every server (NOMPD_API_KEYS), which is also each replica's key for whom it follows. */
const KEY = "read-key-of-every-server-0123456789abcdef";
const OUTPUT = ["treatmentGroup", "reimbursementGroup"] as const;
const LISTS = ["/api/v1/treatmentGroup", "/api/v1/reimbursementGroup", "/api/v1/fhir/PlanDefinition", "/api/v1/fhir/ActivityDefinition", "/api/v1/fhir/RegulatedAuthorization"];

let upstream: FakeUpstream;
let primary: RunningServer;
let primaryPort = 0;
let admin = "";
const primaryDb = join(dir, "primary.db");
const db = { r1: join(dir, "r1.db"), r2: join(dir, "r2.db"), r3: join(dir, "r3.db") };
const replicas: Record<"r1" | "r2" | "r3", RunningServer> = {} as never;

const upstreamEnv = () => ({ NOMPD_UPSTREAM_URL: upstream.url, NOMPD_UPSTREAM_API_KEY: UPSTREAM_KEY, NOMPD_UPSTREAM_BACKOFF_MS: "20", NOMPD_UPSTREAM_RETRIES: "1" });
const startPrimary = () => serve(["--db", primaryDb, "--port", String(primaryPort), "--no-sync-schedule"], { ...upstreamEnv(), NOMPD_API_KEYS: KEY });
const replicaArgs = {
  r1: () => ["--db", db.r1, "--follow", `http://127.0.0.1:${primaryPort}/`],
  // r2 may be at most 4 s behind: it long-polls for 1 s at a time.
  r2: () => ["--db", db.r2, "--follow", `http://127.0.0.1:${primaryPort}`, "--follow-max-lag", "4s"],
  r3: () => ["--db", db.r3, "--follow", replicas.r1.url],
};
const startReplica = (name: "r1" | "r2" | "r3") => serve(replicaArgs[name](), { NOMPD_API_KEYS: KEY, NOMPD_FOLLOW_API_KEY: KEY });

async function waitFor(what: string, check: () => Promise<boolean> | boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

interface Raw {
  status: number;
  dataset: string | null;
  floor: string | null;
  etag: string | null;
  body: Uint8Array;
}

async function get(base: string, path: string, headers: Record<string, string> = {}): Promise<Raw> {
  const res = await fetch(base + path, { headers: { "x-api-key": KEY, "accept-encoding": "identity", ...headers }, decompress: false } as RequestInit);
  return { status: res.status, dataset: res.headers.get("x-nompd-dataset"), floor: res.headers.get("x-nompd-diff-floor"), etag: res.headers.get("etag"), body: new Uint8Array(await res.arrayBuffer()) };
}
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const json = (r: Raw) => JSON.parse(text(r.body));

async function health(base: string) {
  return (await (await fetch(`${base}/health`)).json()) as any;
}

async function expectSameAnswer(p: string, r: string, path: string, server: string): Promise<Raw> {
  const [a, b] = await Promise.all([get(p, path), get(r, path)]);
  expect({ server, path, status: b.status, dataset: b.dataset, floor: b.floor, etag: b.etag }).toEqual({ server, path, status: a.status, dataset: a.dataset, floor: a.floor, etag: a.etag });
  expect(text(b.body)).toBe(text(a.body));
  expect(Buffer.from(b.body).equals(Buffer.from(a.body))).toBe(true);
  return a;
}

/** The ids of a collection (every one that ever existed); a spread of at most `most` of them. */
async function idsOf(base: string, collection: string, most: number): Promise<string[]> {
  const all = (json(await get(base, `/api/v1/${collection}?sinceVersion=0`)).items as any[]).map((i) => i.data.id as string).sort();
  if (all.length <= most) return all;
  return Array.from({ length: most }, (_, i) => all[Math.floor((i * all.length) / most)]!);
}

/**
 * Every answer the replica gives at `version` equals the primary's: lists, diffs from every N, two
 * filtered lists, every item (or a spread of them), the history entries it holds, asOfVersion where it
 * holds the version. The primary must stay at `version` meanwhile.
 */
async function expectSame(name: string, replica: string, version: number, opts: { most?: number } = {}): Promise<void> {
  const p = primary.url;
  for (const list of LISTS) {
    const full = await expectSameAnswer(p, replica, list, name);
    expect(json(full).currentVersion).toBe(version);
    for (let n = 0; n <= version; n++) await expectSameAnswer(p, replica, `${list}?sinceVersion=${n}`, name);
  }
  await expectSameAnswer(p, replica, "/api/v1/treatmentGroup?diseaseGroup=MS", name);
  await expectSameAnswer(p, replica, "/api/v1/reimbursementGroup?indication=G35", name);
  let heldAsOf = 0;
  for (let n = 0; n <= version; n++) {
    const path = `/api/v1/reimbursementGroup?asOfVersion=${n}`;
    const b = await get(replica, path);
    if (b.status === 410) continue;
    heldAsOf++;
    await expectSameAnswer(p, replica, path, name);
  }
  expect(heldAsOf).toBeGreaterThan(0);
  for (const c of OUTPUT) {
    for (const id of await idsOf(p, c, opts.most ?? 1000)) {
      const path = `/api/v1/${c}/${encodeURIComponent(id)}`;
      await expectSameAnswer(p, replica, path, name);
      const [a, b] = await Promise.all([get(p, `${path}/history`), get(replica, `${path}/history`)]);
      expect(b.status).toBe(200);
      expect(b.dataset).toBe(a.dataset);
      const mine = json(b);
      const theirs = new Map((json(a).items as any[]).map((e) => [e.version, JSON.stringify(e)]));
      expect(mine.currentVersion).toBe(version);
      for (const entry of mine.items) expect({ id, entry: JSON.stringify(entry) }).toEqual({ id, entry: theirs.get(entry.version)! });
      // Entries held are the primary's; with every version applied they are all of them.
      if (mine.items.length === theirs.size) expect(text(b.body)).toBe(text(a.body));
    }
  }
}

async function sync(expectVersion: number): Promise<void> {
  const res = await fetch(`${primary.url}/api/internal/sync`, { method: "POST", headers: { "X-API-KEY": admin } });
  const body = (await res.json()) as any;
  expect({ status: res.status, run: body.status, version: body.version }).toEqual({ status: 200, run: "succeeded", version: expectVersion });
}

async function atVersion(server: RunningServer, version: number): Promise<void> {
  await waitFor(`${server.url} at version ${version}`, async () => (await health(server.url)).currentVersion === version);
}

// The upstream's data at each version: changes, deletions, revivals, a raw-only change.
const ra = (i: number, subject = [`20${String(i).padStart(4, "0")}`]) => authorization(`ra-${String(i).padStart(3, "0")}`, ["G35"], subject);
const pd = (i: number, name = `Gruppe ${i}`) => plan(`pd-${i}`, name, { diseaseGroup: i % 2 ? "MS" : "Revmatologi", rhf: ["100022"], icd: ["G35"], actions: ["ad-0", `ad-${1 + (i % 5)}`] });
const STEPS: Array<(d: Dataset) => Dataset> = [
  // 2: changes (Norwegian letters included) and an addition
  (d) => ({
    ...d,
    PlanDefinition: d.PlanDefinition.map((p: any) => (p.identifier[0].value === "pd-1" ? pd(1, "Gruppe én – ærlig, øvre, åpen") : p)),
    RegulatedAuthorization: [...d.RegulatedAuthorization.map((r: any) => (r.identifier[0].value === "ra-003" ? ra(3, ["200003", "299999"]) : r)), ra(20)],
  }),
  // 3: deletions
  (d) => ({
    ...d,
    PlanDefinition: d.PlanDefinition.filter((p: any) => p.identifier[0].value !== "pd-2"),
    RegulatedAuthorization: d.RegulatedAuthorization.filter((r: any) => !["ra-005", "ra-006"].includes(r.identifier[0].value)),
  }),
  // 4: revivals (one as it was, one changed) and a changed activity
  (d) => ({
    ...d,
    PlanDefinition: [...d.PlanDefinition, pd(2, "Gruppe 2, tilbake")],
    ActivityDefinition: d.ActivityDefinition.map((a: any) => (a.identifier[0].value === "ad-5" ? activity("ad-5", "Legemiddel 5 (nytt merke)", ["100005"]) : a)),
    RegulatedAuthorization: [...d.RegulatedAuthorization, ra(5)],
  }),
  // 5: a change only the raw resource shows, and a deleted activity (its treatment groups change)
  (d) => ({
    ...d,
    ActivityDefinition: d.ActivityDefinition.filter((a: any) => a.identifier[0].value !== "ad-4"),
    RegulatedAuthorization: d.RegulatedAuthorization.map((r: any) => (r.identifier[0].value === "ra-010" ? { ...r, publisher: "Helsedirektoratet" } : r)),
  }),
  // 6: everything at once
  (d) => ({
    PlanDefinition: [...d.PlanDefinition, pd(8)],
    ActivityDefinition: d.ActivityDefinition,
    RegulatedAuthorization: [
      ...d.RegulatedAuthorization.filter((r: any) => r.identifier[0].value !== "ra-012").map((r: any) => (r.identifier[0].value === "ra-011" ? ra(11, ["211111"]) : r)),
      ra(6, ["266666"]),
    ],
  }),
];
let data: Dataset = {
  ActivityDefinition: Array.from({ length: 6 }, (_, i) => activity(`ad-${i}`, `Legemiddel ${i} (Merke ${i})`, [`10000${i}`])),
  PlanDefinition: Array.from({ length: 8 }, (_, i) => pd(i)),
  RegulatedAuthorization: Array.from({ length: 20 }, (_, i) => ra(i)),
};

beforeAll(async () => {
  ensureBinary();
  upstream = startFakeUpstream({ data, apiKey: UPSTREAM_KEY, pageSize: 1000 });
  primaryPort = freePort();
  admin = await createKey(primaryDb, "ops", { scope: "admin" });
  primary = await startPrimary();
  await waitFor("the primary's first sync", () => primary.stderr().includes("initial sync finished"));
  replicas.r1 = await startReplica("r1");
  replicas.r2 = await startReplica("r2");
  replicas.r3 = await startReplica("r3");
});
afterAll(() => upstream.stop());

/** A client's sinceVersion loop over one collection, alternating between the two replicas. */
function alternatingClient(path: string) {
  const problems: string[] = [];
  const items = new Map<string, any>();
  let version = 0;
  let requests = 0;
  let stopped = false;
  const idOf = (item: any) => (path.includes("/fhir/") ? item.data.identifier[0].value : item.data.id) as string;
  const loop = (async () => {
    const first = json(await get(replicas.r1.url, path));
    for (const item of first.items) items.set(idOf(item), item);
    version = first.currentVersion;
    for (let i = 0; !stopped; i++) {
      const server = i % 2 === 0 ? replicas.r2.url : replicas.r1.url;
      const res = await get(server, `${path}?sinceVersion=${version}&wait=1`);
      requests++;
      if (res.status !== 200) {
        problems.push(`${server}: HTTP ${res.status} for sinceVersion=${version}: ${text(res.body)}`);
        continue;
      }
      const body = json(res);
      if (body.currentVersion < version) problems.push(`${server}: currentVersion ${body.currentVersion} < ${version}`);
      const seen = new Set<string>();
      for (const item of body.items) {
        const id = idOf(item);
        if (seen.has(id)) problems.push(`${server}: ${id} twice in one diff`);
        seen.add(id);
        if (item.version <= version || item.version > body.currentVersion) problems.push(`${server}: ${id} at version ${item.version} in a diff from ${version} to ${body.currentVersion}`);
        items.set(id, item);
      }
      version = body.currentVersion;
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return { problems, requests, version, live: [...items.entries()].filter(([, i]) => !i.isDeleted).sort(([a], [b]) => (a < b ? -1 : 1)).map(([, i]) => i) };
    },
  };
}

describe("follow mode, end to end", () => {
  test("the replicas (and the replica's replica) start from the primary's whole dataset: same answers, same dataset id", async () => {
    for (const name of ["r1", "r2", "r3"] as const) await atVersion(replicas[name], 1);
    const id = (await get(primary.url, LISTS[0]!)).dataset;
    for (const name of ["r1", "r2", "r3"] as const) {
      expect((await get(replicas[name].url, LISTS[0]!)).dataset).toBe(id);
      await expectSame(name, replicas[name].url, 1);
    }
    const h = await health(replicas.r3.url);
    expect(h).toMatchObject({ currentVersion: 1, ready: true, reason: null, follow: { primary: `${replicas.r1.url}/`, primaryVersion: 1, unreachableSince: null } });
  });

  test("across five syncs with changes, deletions and revivals, every answer is the primary's at every version; a client alternating between two replicas never sees a gap, a duplicate or a 409", async () => {
    const clients = LISTS.filter((l) => l.includes("reimbursement") || l.includes("fhir/Plan")).map(alternatingClient);
    for (const [i, step] of STEPS.entries()) {
      const version = i + 2;
      data = step(data);
      upstream.setData(data);
      await sync(version);
      for (const name of ["r1", "r2", "r3"] as const) await atVersion(replicas[name], version);
      for (const name of ["r1", "r2", "r3"] as const) await expectSame(name, replicas[name].url, version);
    }
    for (const [n, client] of clients.entries()) {
      const { problems, requests, version, live } = await client.stop();
      expect(problems).toEqual([]);
      expect(requests).toBeGreaterThan(5);
      expect(version).toBe(6);
      // The diffs added up to the primary's list: nothing was missed.
      const list = json(await get(primary.url, LISTS.filter((l) => l.includes("reimbursement") || l.includes("fhir/Plan"))[n]!));
      expect(JSON.stringify(live)).toBe(JSON.stringify(list.items));
    }
  }, 120_000);

  test("sync and import refuse on a replica; POST /api/internal/sync answers 409 'this server follows URL'", async () => {
    const opsKey = await createKey(db.r1, "ops", { scope: "admin" });
    const res = await fetch(`${replicas.r1.url}/api/internal/sync`, { method: "POST", headers: { "X-API-KEY": opsKey } });
    expect(res.status).toBe(409);
    expect(((await res.json()) as any).error).toContain(`This server follows http://127.0.0.1:${primaryPort}/`);
    const syncRun = await nompd(["sync", "--db", db.r1], upstreamEnv());
    expect(syncRun.exitCode).toBe(1);
    expect(syncRun.stderr).toContain(`This database follows http://127.0.0.1:${primaryPort}/`);
    const importRun = await nompd(["import", "--db", db.r2, join(dir, "nothing.json")]);
    expect(importRun.exitCode).toBe(1);
    expect(importRun.stderr).toContain("read-only replica");
    // The database knows it is a replica without the flag: serving it without --follow is refused.
    const alone = await nompd(["serve", "--db", db.r3, "--port", "0"]);
    expect(alone.exitCode).toBe(2);
    expect(alone.stderr).toContain(`is a replica of ${replicas.r1.url}/`);
    expect((await health(replicas.r1.url)).currentVersion).toBe(6);
  });

  test("the primary killed: replicas keep serving, report it, stay ready until --follow-max-lag; restarted, they catch up", async () => {
    primary.proc.kill("SIGKILL");
    await primary.proc.exited;
    await waitFor("r1 to notice", async () => (await health(replicas.r1.url)).follow.unreachableSince !== null);
    const h1 = await health(replicas.r1.url);
    expect(h1).toMatchObject({ currentVersion: 6, ready: true, follow: { primaryVersion: 6 } });
    expect(h1.follow.lastError).toContain(`127.0.0.1:${primaryPort}`);
    expect((await fetch(`${replicas.r1.url}/health/ready`)).status).toBe(200);
    expect((await get(replicas.r1.url, LISTS[1]!)).status).toBe(200);
    const status = JSON.parse((await nompd(["status", "--json", "--db", db.r1])).stdout);
    expect(status.follow).toMatchObject({ primary: `http://127.0.0.1:${primaryPort}/`, primaryVersion: 6 });
    expect(status.follow.unreachableSince).not.toBeNull();
    const text = (await nompd(["status", "--db", db.r1])).stdout;
    expect(text).toContain(`Follows         http://127.0.0.1:${primaryPort}/`);
    expect(text).toMatch(/Primary down    since \S+Z: /);
    // r2 may be 4 s behind at most: then it is not ready, and says why.
    await waitFor("r2 to become not ready", async () => (await fetch(`${replicas.r2.url}/health/ready`)).status === 503, 20_000);
    expect((await health(replicas.r2.url)).reason).toContain("more than --follow-max-lag");

    primary = await startPrimary();
    data = { ...data, RegulatedAuthorization: [...data.RegulatedAuthorization, ra(30)] };
    upstream.setData(data);
    await sync(7);
    for (const name of ["r1", "r2", "r3"] as const) await atVersion(replicas[name], 7);
    await waitFor("r2 ready again", async () => (await fetch(`${replicas.r2.url}/health/ready`)).status === 200);
    expect((await health(replicas.r1.url)).follow).toMatchObject({ primaryVersion: 7, unreachableSince: null, lastError: null });
    for (const name of ["r1", "r2", "r3"] as const) await expectSame(name, replicas[name].url, 7);
  }, 90_000);

  test("the primary's database replaced (a new dataset id): the replicas start over and swap to it, the chain too", async () => {
    const oldDataset = (await get(replicas.r1.url, LISTS[0]!)).dataset;
    await primary.stop();
    for (const suffix of ["", "-wal", "-shm"]) rmSync(primaryDb + suffix, { force: true });
    data = { ...data, PlanDefinition: data.PlanDefinition.slice(0, 5) };
    upstream.setData(data);
    expect((await nompd(["sync", "--db", primaryDb], upstreamEnv())).exitCode).toBe(0);
    admin = await createKey(primaryDb, "ops", { scope: "admin" });
    primary = await startPrimary();
    const newDataset = (await get(primary.url, LISTS[0]!)).dataset;
    expect(newDataset).not.toBe(oldDataset);
    for (const name of ["r1", "r2", "r3"] as const) {
      await waitFor(`${name} on the new dataset`, async () => (await get(replicas[name].url, LISTS[0]!)).dataset === newDataset);
      await atVersion(replicas[name], 1);
      await expectSame(name, replicas[name].url, 1);
    }
    // The old dataset's versions are gone: a client still diffing from 7 is told to start over.
    expect((await get(replicas.r2.url, `${LISTS[0]}?sinceVersion=7`)).status).toBe(409);
  }, 90_000);

  test("a replica killed (SIGKILL) in the middle of an apply restarts at the last version it applied, nothing partial, and catches up", async () => {
    data = { ...data, RegulatedAuthorization: [...data.RegulatedAuthorization, ...Array.from({ length: 30_000 }, (_, i) => ra(1000 + i))] };
    upstream.setData(data);
    const logFrom = replicas.r2.stderr().length;
    const probe = new Database(db.r2);
    probe.exec("PRAGMA busy_timeout = 0");
    await sync(2);
    await waitFor("r2 to start applying version 2", () => /applying the primary's version .*to=2/.test(replicas.r2.stderr().slice(logFrom)), 60_000);
    // r2 holds the database's write lock from BEGIN IMMEDIATE to COMMIT of the apply: kill it in there.
    let inside = false;
    for (const deadline = Date.now() + 20_000; !inside && Date.now() < deadline; ) {
      try {
        probe.exec("BEGIN IMMEDIATE");
        probe.exec("ROLLBACK");
      } catch (err) {
        if (!/locked|busy/i.test(String(err))) throw err;
        inside = true;
      }
    }
    expect(inside).toBe(true);
    replicas.r2.proc.kill("SIGKILL");
    await replicas.r2.proc.exited;
    expect(replicas.r2.stderr().slice(logFrom)).not.toContain("applied the primary's version");
    probe.exec("PRAGMA busy_timeout = 10000");
    expect((probe.query("SELECT value FROM meta WHERE key = 'version'").get() as any).value).toBe("1");
    expect((probe.query("SELECT count(*) AS n FROM document WHERE version > 1").get() as any).n).toBe(0);
    expect((probe.query("SELECT count(*) AS n FROM document_history WHERE version > 1").get() as any).n).toBe(0);
    expect((probe.query("PRAGMA integrity_check").get() as any).integrity_check).toBe("ok");
    probe.close();

    replicas.r2 = await startReplica("r2");
    expect(replicas.r2.stderr()).toMatch(/nompd listening .*version=1 /);
    await atVersion(replicas.r2, 2);
    await expectSame("r2", replicas.r2.url, 2, { most: 60 });
    for (const name of ["r1", "r3"] as const) await atVersion(replicas[name], 2);
    await expectSame("r3", replicas.r3.url, 2, { most: 60 });
  }, 180_000);

  test("no key is ever logged; the primary's URL is shown without user info", async () => {
    for (const server of [primary, ...Object.values(replicas)]) {
      expect(server.stderr() + server.stdout()).not.toContain(KEY);
      expect(server.stderr() + server.stdout()).not.toContain(UPSTREAM_KEY);
    }
    const withUser = await serve(["--db", join(dir, "r4.db"), "--follow", `http://someone:${KEY}@127.0.0.1:${primaryPort}/`], { NOMPD_FOLLOW_API_KEY: KEY, NOMPD_API_KEYS: KEY });
    await atVersion(withUser, 2);
    const h = await health(withUser.url);
    expect(h.follow.primary).toBe(`http://127.0.0.1:${primaryPort}/`);
    await withUser.stop();
    expect(withUser.stderr() + withUser.stdout() + JSON.stringify(h)).not.toContain(KEY);
    expect(withUser.stderr()).not.toContain("someone");
  }, 60_000);
});
