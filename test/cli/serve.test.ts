import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { serveInProcess } from "../support/cli";
import { sqlite } from "../support/db";
import { cli } from "../support/cli";
import { ROOT } from "../support/binary";
import { ensurePackages } from "../support/debian";
import { EXIT } from "../../src/errors";
import { main } from "../../src/main";
import { tempDir } from "../support/tmp";

const dir = tempDir("nompd-serve-");

describe("serve at start", () => {
  test("runs a dead process left 'running' are closed, so /health and /metrics never report them", async () => {
    const db = join(dir, "abandoned.db");
    expect((await cli(["import", join(ROOT, "data", "sample"), "--db", db])).exitCode).toBe(0);
    // A sync killed with -9: its run stays 'running', its lock row names a process that is gone.
    const dead = Bun.spawnSync(["true"]).pid;
    const raw = sqlite(db);
    raw.query("INSERT INTO sync_run (trigger, started_at, status, lock_token) VALUES ('cli', '2026-01-01T00:00:00Z', 'running', 'gone')").run();
    raw.query("INSERT INTO sync_lock (id, pid, host, trigger, started_at, renewed_at, token) VALUES (1, ?, ?, 'cli', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'gone')").run(dead, (await import("node:os")).hostname());
    const server = await serveInProcess(["--db", db]);
    const health = (await (await fetch(`${server.url}/health`)).json()) as { lastRunStatus: string };
    expect(health.lastRunStatus).toBe("failed");
    expect(await (await fetch(`${server.url}/metrics`)).text()).toContain('nompd_last_sync_status{status="running"} 0');
    expect(await server.stop()).toBe(0);
  });

  test("a run whose sync is still alive (its lock held by a live process) is left alone", async () => {
    const db = join(dir, "alive.db");
    expect((await cli(["import", join(ROOT, "data", "sample"), "--db", db])).exitCode).toBe(0);
    const raw = sqlite(db);
    const parent = process.ppid;
    const { processStart } = await import("../../src/platform");
    raw.query("INSERT INTO sync_run (trigger, started_at, status, lock_token) VALUES ('cli', '2026-01-01T00:00:00Z', 'running', 'live')").run();
    raw.query("INSERT INTO sync_lock (id, pid, host, trigger, started_at, renewed_at, token, process_start) VALUES (1, ?, ?, 'cli', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'live', ?)").run(parent, (await import("node:os")).hostname(), processStart(parent));
    const server = await serveInProcess(["--db", db]);
    const health = (await (await fetch(`${server.url}/health`)).json()) as { lastRunStatus: string };
    expect(health.lastRunStatus).toBe("running");
    expect(await server.stop()).toBe(0);
  });
});

describe("the sync schedule", () => {
  /** `nompd serve` in this process with a schedule firing every second; its log stays readable after it returns. */
  const scheduledServe = (name: string, port: number) => {
    const stop = new AbortController();
    let log = "";
    const args = ["serve", "--db", join(dir, `${name}.db`), "--host", "127.0.0.1", "--port", String(port), "--log-format", "json"];
    // Nothing answers at the upstream: each sync fails at once and says so.
    args.push("--upstream-url", "http://127.0.0.1:9/", "--upstream-retries", "0", "--sync-cron", "* * * * * *", "--sync-tz", "UTC");
    const done = main(args, {}, { out: () => {}, err: (text) => (log += text + "\n"), stdoutIsTty: false, stderrIsTty: false, stop: stop.signal });
    return { done, log: () => log, stop: () => stop.abort("SIGTERM") };
  };
  const scheduledRuns = (log: string) => log.split("\n").filter((l) => l.includes("scheduled sync")).length;

  test("runs while the server runs, and stops with it", async () => {
    const server = scheduledServe("schedule-stops", 0);
    for (let i = 0; scheduledRuns(server.log()) === 0; i++) {
      if (i > 600) throw new Error(`no scheduled sync ran:\n${server.log()}`);
      await Bun.sleep(50);
    }
    server.stop();
    expect(await server.done).toBe(EXIT.ok);
    const after = scheduledRuns(server.log());
    await Bun.sleep(2500);
    expect(scheduledRuns(server.log())).toBe(after);
  });

  test("a server that cannot listen (the port is in use) leaves no schedule running", async () => {
    const taken = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("taken") });
    try {
      const server = scheduledServe("schedule-port-taken", taken.port!);
      expect(await server.done).toBe(EXIT.failed);
      expect(server.log()).toContain("the port is in use");
      await Bun.sleep(2500);
      expect(server.log()).not.toContain("scheduled sync");
    } finally {
      await taken.stop(true);
    }
  });
});

describe("who uses it", () => {
  test("--access-log writes one JSON line per request on stdout, with the key's name and never the key", async () => {
    const db = join(dir, "access.db");
    expect((await cli(["import", join(ROOT, "data", "sample"), "--db", db])).exitCode).toBe(0);
    const made = JSON.parse((await cli(["keys", "create", "pharmacy", "--json", "--db", db])).stdout);
    const server = await serveInProcess(["--db", db, "--access-log"]);
    const ok = await fetch(`${server.url}/api/v1/treatmentGroup?sinceVersion=0`, { headers: { "X-API-KEY": made.key, "Accept-Encoding": "gzip" }, decompress: false } as RequestInit);
    const okBytes = (await ok.arrayBuffer()).byteLength;
    const refusedBytes = (await (await fetch(`${server.url}/api/v1/reimbursementGroup`)).arrayBuffer()).byteLength;
    await fetch(`${server.url}/nothing`, { method: "DELETE" });
    expect(await server.stop()).toBe(0);
    const lines = server.stdout().trim().split("\n").map((l) => JSON.parse(l));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({ method: "GET", path: "/api/v1/treatmentGroup?sinceVersion=0", status: 200, bytes: okBytes, key: "pharmacy" });
    expect(lines[0].time).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(typeof lines[0].ms).toBe("number");
    expect(lines[1]).toMatchObject({ path: "/api/v1/reimbursementGroup", status: 401, bytes: refusedBytes, key: null });
    expect(refusedBytes).toBeGreaterThan(0);
    expect(lines[2]).toMatchObject({ method: "DELETE", path: "/nothing", status: 404 });
    expect(server.stdout() + server.stderr()).not.toContain(made.key);
  });

  test("--access-log counts the bytes of the status page and its files too", async () => {
    const server = await serveInProcess(["--db", join(dir, "access-page.db"), "--access-log"]);
    const page = await fetch(`${server.url}/`, { headers: { "Accept-Encoding": "gzip" }, decompress: false } as RequestInit);
    const pageBytes = (await page.arrayBuffer()).byteLength;
    const script = /src="(\/ui\/[^"]+\.js)"/.exec(await (await fetch(`${server.url}/`)).text())![1]!;
    const scriptBytes = (await (await fetch(server.url + script, { headers: { "Accept-Encoding": "br" }, decompress: false } as RequestInit)).arrayBuffer()).byteLength;
    expect(await server.stop()).toBe(0);
    const lines = server.stdout().trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.path, l.status, l.bytes])).toEqual([
      ["/", 200, pageBytes],
      ["/", 200, expect.any(Number)],
      [script, 200, scriptBytes],
    ]);
    expect(scriptBytes).toBeGreaterThan(0);
  });

  test("without --access-log nothing is written per request", async () => {
    const db = join(dir, "access.db");
    const server = await serveInProcess(["--db", db], { NOMPD_API_KEYS: "k".repeat(40) });
    await fetch(`${server.url}/api/v1/treatmentGroup`, { headers: { "X-API-KEY": "k".repeat(40) } });
    expect(await server.stop()).toBe(0);
    expect(server.stdout()).toBe("");
  });

  test("keys list shows when a key was last used; the server writes that at most once a minute, not per request", async () => {
    const db = join(dir, "last-use.db");
    expect((await cli(["import", join(ROOT, "data", "sample"), "--db", db])).exitCode).toBe(0);
    const made = JSON.parse((await cli(["keys", "create", "dashboard", "--json", "--db", db])).stdout);
    expect(JSON.parse((await cli(["keys", "list", "--json", "--db", db])).stdout)[0].lastUsedAt).toBeNull();
    const server = await serveInProcess(["--db", db]);
    const watcher = sqlite(db);
    const writes = () => (watcher.query("PRAGMA data_version").get() as { data_version: number }).data_version;
    const before = writes();
    for (let i = 0; i < 50; i++) expect((await fetch(`${server.url}/api/v1/treatmentGroup`, { headers: { "X-API-KEY": made.key } })).status).toBe(200);
    expect(writes()).toBe(before); // fifty requests, no write
    expect(await server.stop()).toBe(0); // the last use is written on the way out
    const listed = JSON.parse((await cli(["keys", "list", "--json", "--db", db])).stdout)[0];
    expect(Date.now() - Date.parse(listed.lastUsedAt)).toBeLessThan(60_000);
    expect((await cli(["keys", "list", "--db", db])).stdout).toContain(listed.lastUsedAt);
  });
});

describe("metrics operators expect", () => {
  test("promtool check metrics finds nothing to complain about, after requests of every kind", async () => {
    ensurePackages(["prometheus"]);
    const db = join(dir, "promtool.db");
    expect((await cli(["import", join(ROOT, "data", "sample"), "--db", db])).exitCode).toBe(0);
    const key = "metrics-key-0123456789abcdef0123456789abcdef";
    const server = await serveInProcess(["--db", db], { NOMPD_API_KEYS: key });
    for (const [path, init] of [
      ["/api/v1/treatmentGroup", { headers: { "X-API-KEY": key } }],
      ["/api/v1/treatmentGroup?sinceVersion=0", { headers: { "X-API-KEY": key } }],
      ["/api/v1/treatmentGroup", {}],
      ["/api/v1/treatmentGroup", { method: "DELETE" }],
      ["/nothing", {}],
      ["/health", {}],
    ] as Array<[string, RequestInit]>) {
      await fetch(server.url + path, init);
    }
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(await server.stop()).toBe(0);
    const check = Bun.spawnSync(["promtool", "check", "metrics"], { stdin: new TextEncoder().encode(text), stdout: "pipe", stderr: "pipe" });
    expect([check.exitCode, check.stdout.toString() + check.stderr.toString()]).toEqual([0, ""]);
    // The control: promtool does complain about a counter without _total.
    const bad = Bun.spawnSync(["promtool", "check", "metrics"], { stdin: new TextEncoder().encode("# HELP x_requests Requests.\n# TYPE x_requests counter\nx_requests 1\n"), stdout: "pipe", stderr: "pipe" });
    expect(bad.stdout.toString() + bad.stderr.toString()).toContain("_total");
  });
});
