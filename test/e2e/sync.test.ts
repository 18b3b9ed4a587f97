import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { createKey, ensureBinary, nompd, serve, spawnOnTerminal, stopServersAfterAll, type RunningServer } from "../support/binary";
import { startFakeUpstream, type FakeUpstream } from "../support/fakeUpstream";
import { authorization, deepResource, smallDataset, type Dataset } from "../support/fhir";
import { tempDir } from "../support/tmp";

/** `nompd sync`, POST /api/internal/sync and the schedule, with dist/nompd against the fake upstream. */
const dir = tempDir("nompd-sync-");
stopServersAfterAll();
const KEY = "upstream-key-e2e-91b2";
let upstream: FakeUpstream;
const data: Dataset = smallDataset(6, 0);
data.RegulatedAuthorization = Array.from({ length: 300 }, (_, i) => authorization(`ra-${String(i).padStart(4, "0")}`, ["G35"], [String(300000 + i)]));

beforeAll(() => {
  ensureBinary();
  upstream = startFakeUpstream({ data, apiKey: KEY, pageSize: 50 });
});
afterAll(() => upstream.stop());

const env = () => ({ NOMPD_UPSTREAM_URL: upstream.url, NOMPD_UPSTREAM_API_KEY: KEY, NOMPD_UPSTREAM_BACKOFF_MS: "20", NOMPD_UPSTREAM_RETRIES: "1" });

describe("nompd sync", () => {
  const db = join(dir, "cli.db");
  test("syncs, prints a summary, and --json prints it as JSON; the key is never printed", async () => {
    const first = await nompd(["sync", "--db", db], env());
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toContain("succeeded: dataset version 1");
    expect(first.stdout).toMatch(/RegulatedAuthorization\s+300\s+300/);
    const again = await nompd(["sync", "--db", db, "--json"], env());
    expect(again.exitCode).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ status: "no_changes", version: 1, trigger: "cli" });
    expect(first.stdout + first.stderr + again.stdout + again.stderr).not.toContain(KEY);
  });

  test("a failing upstream: exit 1 with the collection, URL and status; the guard: exit 4; --force: 0", async () => {
    upstream.addFault({ collection: "ActivityDefinition", kind: "401" });
    const refused = await nompd(["sync", "--db", db], env());
    upstream.clearFaults();
    expect(refused.exitCode).toBe(1);
    expect(refused.stdout).toContain("ActivityDefinition at http://127.0.0.1:");
    expect(refused.stdout).toContain("HTTP 401");
    expect(refused.stdout + refused.stderr).not.toContain(KEY);

    upstream.addFault({ kind: "empty" });
    const guarded = await nompd(["sync", "--db", db], env());
    expect(guarded.exitCode).toBe(4);
    expect(guarded.stdout).toContain("mass-deletion guard");
    const forced = await nompd(["sync", "--db", db, "--force", "--json"], env());
    upstream.clearFaults();
    expect(forced.exitCode).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject({ status: "succeeded", version: 2 });
  });

  test("on a terminal it shows progress per collection: pages and resources", async () => {
    const proc = spawnOnTerminal([ensureBinary(), "sync", "--db", join(dir, "tty.db")], env());
    const out = await new Response(proc.stdout).text();
    expect(await proc.exited).toBe(0);
    expect(out).toContain("RegulatedAuthorization: 300 in 6 pages ✓");
    expect(out).toMatch(/PlanDefinition: 6 in 1 page ✓/);
    expect(out).toContain("succeeded: dataset version 1");
  });

  test("without --upstream-url: exit 2 naming the setting", async () => {
    const r = await nompd(["sync", "--db", db]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("--upstream-url");
  });
});

describe("the server with an upstream", () => {
  let server: RunningServer;
  let admin = "";
  const db = join(dir, "server.db");
  const post = (q = "") => fetch(`${server.url}/api/internal/sync${q}`, { method: "POST", headers: { "X-API-KEY": admin } });

  beforeAll(async () => {
    admin = await createKey(db, "ops", { scope: "admin" });
    server = await serve(["--db", db, "--no-sync-schedule", "--log-format", "json"], env());
    // On an empty database the server syncs at start; it logs the end once that sync is wholly over.
    for (let i = 0; i < 400 && !server.stderr().includes("initial sync finished"); i++) await Bun.sleep(25);
    expect(server.stderr()).toContain("initial sync finished");
    expect((await fetch(`${server.url}/health/ready`)).status).toBe(200);
  });

  test("POST /api/internal/sync: 200 with the run; GET lists runs newest first", async () => {
    const res = await post();
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ trigger: "http", status: "no_changes", version: 1 });
    const runs = (await (await fetch(`${server.url}/api/internal/sync`, { headers: { "X-API-KEY": admin } })).json()) as any;
    expect(runs.runs.map((r: any) => r.trigger)).toEqual(["http", "startup"]);
  });

  test("two concurrent triggers give one sync and one 'already running' (HTTP and CLI alike)", async () => {
    upstream.addFault({ collection: "RegulatedAuthorization", page: 2, kind: "slow", delayMs: 1500, times: 1 });
    const first = post();
    await Bun.sleep(300);
    const second = await post();
    expect(second.status).toBe(409);
    expect(((await second.json()) as any).error).toContain("already running");
    const cli = await nompd(["sync", "--db", db], env());
    expect(cli.exitCode).toBe(3);
    expect(cli.stderr).toContain("already running");
    expect((await first).status).toBe(200);
  });

  test("502 when upstream fails, 422 when the guard stops it, 200 with ?force=true; served data unchanged until then", async () => {
    const before = await (await fetch(`${server.url}/api/v1/fhir/RegulatedAuthorization`, { headers: { "X-API-KEY": admin } })).text();
    upstream.addFault({ kind: "500" });
    const failed = await post();
    upstream.clearFaults();
    expect(failed.status).toBe(502);
    const body = (await failed.json()) as any;
    expect(body.error).toContain("HTTP 500");
    expect(body.run.status).toBe("failed");
    upstream.addFault({ kind: "empty" });
    const guarded = await post();
    expect(guarded.status).toBe(422);
    expect(await (await fetch(`${server.url}/api/v1/fhir/RegulatedAuthorization`, { headers: { "X-API-KEY": admin } })).text()).toBe(before);
    const forced = await post("?force=true");
    upstream.clearFaults();
    expect(forced.status).toBe(200);
    expect(((await forced.json()) as any).status).toBe("succeeded");
    expect((await post("?force=maybe")).status).toBe(400);
    // Restore the data for later tests.
    expect((await post("?force=true")).status).toBe(200);
  });

  test("a sync that takes longer than the server's idle timeout (10 s) still gets its answer", async () => {
    upstream.addFault({ collection: "PlanDefinition", page: 1, kind: "slow", delayMs: 11_000, times: 1 });
    const res = await post();
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).trigger).toBe("http");
  }, 30_000);

  test("in the server's sync thread too, a resource nested deeper than any FHIR resource is skipped and counted", async () => {
    const deep = deepResource("ActivityDefinition");
    const entries = [...data.ActivityDefinition.map((r) => JSON.stringify(r)), deep].map((r) => `{"resource":${r}}`);
    upstream.addFault({ collection: "ActivityDefinition", kind: "raw", body: `{"resourceType":"Bundle","type":"searchset","entry":[${entries.join(",")}]}` });
    const res = await post();
    upstream.clearFaults();
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).counts.ActivityDefinition.skippedReasons).toEqual({ "nested deeper than 100 levels": 1 });
  });

  test("the upstream key never appears in the server's logs", () => {
    expect(server.stderr() + server.stdout()).not.toContain(KEY);
  });
});

describe("the schedule", () => {
  test("a running server's schedule fires a sync, and /health and status show the next run", async () => {
    const db = join(dir, "schedule.db");
    expect((await nompd(["sync", "--db", db], env())).exitCode).toBe(0);
    const admin = await createKey(db, "ops", { scope: "admin" });
    const server = await serve(["--db", db, "--sync-cron", "*/2 * * * * *", "--sync-tz", "UTC"], env());
    const health = (await (await fetch(`${server.url}/health`)).json()) as any;
    expect(Date.parse(health.nextScheduledSync) - Date.now()).toBeLessThanOrEqual(2500);
    let runs: any[] = [];
    // Wait for a scheduled run that has finished (a run is listed from its start, as "running").
    for (let i = 0; i < 100 && !runs.some((r) => r.trigger === "schedule" && r.status !== "running"); i++) {
      await Bun.sleep(100);
      runs = ((await (await fetch(`${server.url}/api/internal/sync`, { headers: { "X-API-KEY": admin } })).json()) as any).runs;
    }
    expect(runs.find((r) => r.trigger === "schedule" && r.status !== "running")).toMatchObject({ status: "no_changes" });
    await server.stop();
    const status = JSON.parse((await nompd(["status", "--json", "--db", db, "--sync-cron", "0 2 * * *"], env())).stdout);
    expect(status.schedule).toMatchObject({ enabled: true, cron: "0 2 * * *", timeZone: "Europe/Oslo" });
    expect(status.schedule.nextRun).toMatch(/T0[01]:00:00Z$/); // 02:00 in Oslo is 00:00 or 01:00 UTC
  });

  test("an invalid cron pattern stops the server at start with one line naming the setting", async () => {
    const r = await nompd(["serve", "--db", join(dir, "bad-cron.db"), "--sync-cron", "every night"], env());
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("--sync-cron");
  });
});

describe("the sync lock is fenced", () => {
  test("a paused sync whose lock another host took over writes nothing when it resumes, and is recorded as failed", async () => {
    const db = join(dir, "fenced.db");
    const lease = ["--sync-lock-lease-ms", "1000"];
    expect((await nompd(["sync", "--db", db, ...lease], env())).exitCode).toBe(0);
    // A: a sync that will wait on a slow page.
    upstream.addFault({ collection: "RegulatedAuthorization", page: 2, kind: "slow", delayMs: 4000, times: 1 });
    const a = Bun.spawn([ensureBinary(), "sync", "--db", db, ...lease], { env: { ...process.env, ...env() }, stdout: "pipe", stderr: "pipe" });
    for (let i = 0; i < 200 && !(await nompd(["status", "--db", db])).stdout.includes("Sync running    yes"); i++) await Bun.sleep(25);
    a.kill("SIGSTOP"); // Ctrl-Z, a paused VM: alive, but no longer renewing its lock
    await Bun.sleep(1600);
    // B: the same database from another host (its own host name), once A's lease ran out, with new data.
    const changed = structuredClone(data);
    (changed.PlanDefinition[0] as { name: string }).name = "Endret av B";
    upstream.setData(changed);
    const unshare = process.getuid?.() === 0 ? ["unshare", "-u"] : ["unshare", "-Ur", "-u"];
    // Spawned, not spawnSync: the fake upstream answers from this process's event loop.
    const b = Bun.spawn([...unshare, "sh", "-c", `hostname other-host && exec "$0" "$@"`, ensureBinary(), "sync", "--db", db, ...lease, "--json"], {
      env: { ...process.env, ...env() },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [bOut, bErr, bExit] = await Promise.all([new Response(b.stdout).text(), new Response(b.stderr).text(), b.exited]);
    expect([bExit, bErr]).toEqual([0, ""]);
    expect(JSON.parse(bOut)).toMatchObject({ status: "succeeded", version: 2 });
    a.kill("SIGCONT");
    const aExit = await a.exited;
    const aOut = await new Response(a.stdout).text();
    upstream.clearFaults();
    upstream.setData(data);
    expect(aExit).toBe(1);
    expect(aOut).toContain("lost the sync lock to another process");
    const status = JSON.parse((await nompd(["status", "--json", "--db", db])).stdout);
    expect(status.currentVersion).toBe(2);
    expect(status.syncRunning).toBeNull();
    // Newest first by start: B (succeeded), A (failed: it lost the lock), the first sync.
    expect(status.recentRuns.map((r: any) => r.status)).toEqual(["succeeded", "failed", "succeeded"]);
  }, 30_000);
});

describe("graceful stop", () => {
  test("SIGTERM: the sync in flight is aborted (nothing written, run recorded, no lock), its request answered, exit 0", async () => {
    const db = join(dir, "graceful.db");
    expect((await nompd(["sync", "--db", db], env())).exitCode).toBe(0);
    const admin = await createKey(db, "ops", { scope: "admin" });
    const server = await serve(["--db", db, "--no-sync-schedule", "--shutdown-timeout-ms", "5000"], env());
    const changed = structuredClone(data);
    changed.PlanDefinition.pop();
    upstream.setData(changed);
    upstream.addFault({ collection: "RegulatedAuthorization", page: 3, kind: "slow", delayMs: 20_000, times: 1 });
    const inFlight = fetch(`${server.url}/api/internal/sync`, { method: "POST", headers: { "X-API-KEY": admin } });
    await Bun.sleep(500);
    server.proc.kill("SIGTERM");
    const res = await inFlight;
    expect(res.status).toBe(503);
    const body = (await res.json()) as any;
    expect(body.run.status).toBe("aborted");
    expect(body.error).toContain("Aborted: shutdown");
    expect(await server.proc.exited).toBe(0);
    upstream.clearFaults();
    upstream.setData(data);
    const status = JSON.parse((await nompd(["status", "--json", "--db", db])).stdout);
    expect(status.currentVersion).toBe(1);
    expect(status.syncRunning).toBeNull();
    expect(status.recentRuns[0]).toMatchObject({ trigger: "http", status: "aborted" });
    expect(server.stderr()).toContain("stopped");
  }, 30_000);
});
