import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { copyFileSync, existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { createKey, ensureBinary, ensureRelease, expectedVersionLine, nompd, ROOT, serve, stopServersAfterAll, type Launcher } from "../support/binary";
import { startFakeUpstream, type FakeUpstream } from "../support/fakeUpstream";
import { smallDataset } from "../support/fhir";
import { tempDir } from "../support/tmp";
import { startWine, winePath, type Wine } from "../support/wine";

/**
 * The windows-x64 release, run for real under Wine: version, import from a `Z:\` folder into a
 * `C:\` database, serve, an HTTP-triggered sync in the worker thread, a killed sync's lock taken over
 * (no /proc on Windows), a graceful stop, and src/platform.ts answering natively.
 */
const dir = tempDir("nompd-windows-");
stopServersAfterAll();
const KEY = "upstream-key-windows-5c1e";
const SAMPLE = join(ROOT, "data", "sample");
/** Per test: Wine starts slowly on a busy machine; nothing here gates on time. */
const WINE_TEST_MS = 120_000;
let wine: Wine;
let win: Launcher;
let upstream: FakeUpstream;

beforeAll(() => {
  ensureBinary();
  wine = startWine(ensureRelease("windows-x64"));
  win = wine.launcher;
  upstream = startFakeUpstream({ data: smallDataset(8, 0), apiKey: KEY, pageSize: 5 });
}, 300_000);
afterAll(async () => {
  await upstream?.stop();
  wine?.stop();
});

const upstreamEnv = () => ({ NOMPD_UPSTREAM_URL: upstream.url, NOMPD_UPSTREAM_API_KEY: KEY, NOMPD_UPSTREAM_BACKOFF_MS: "20", NOMPD_UPSTREAM_RETRIES: "1" });
const status = async (db: string) => {
  const r = await nompd(["status", "--json", "--db", db], {}, win);
  expect(r.exitCode).toBe(0);
  return JSON.parse(r.stdout);
};

describe("the Windows build under Wine", () => {
  test("--version names the version, the commit and the Bun version", async () => {
    const r = await nompd(["--version"], {}, win);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim()).toBe(expectedVersionLine());
  }, WINE_TEST_MS);

  test("import of a folder given as Z:\\… into C:\\nompd.db holds what the Linux build imports", async () => {
    const folder = join(dir, "export");
    mkdirSync(folder);
    for (const name of readdirSync(SAMPLE).filter((n) => n.endsWith(".json"))) copyFileSync(join(SAMPLE, name), join(folder, name));
    const r = await nompd(["import", winePath(folder), "--db", "C:\\nompd.db", "--json"], {}, win);
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ trigger: "import", status: "succeeded", version: 1 });
    expect(existsSync(join(wine.driveC, "nompd.db"))).toBe(true);

    const linuxDb = join(dir, "linux.db");
    expect((await nompd(["import", folder, "--db", linuxDb])).exitCode).toBe(0);
    const onLinux = JSON.parse((await nompd(["status", "--json", "--db", linuxDb])).stdout);
    // The same file read by the Linux build: the database is portable.
    const onWindows = JSON.parse((await nompd(["status", "--json", "--db", join(wine.driveC, "nompd.db")])).stdout);
    expect(onWindows.collections).toEqual(onLinux.collections);
    expect(onWindows.collections.treatmentGroup.live).toBeGreaterThan(0);
    expect((await status("C:\\nompd.db")).database).toBe("C:\\nompd.db");
  }, WINE_TEST_MS);

  test("serve on an empty database with the sample answers /health and a list with a key made under Wine", async () => {
    const db = "C:\\serve.db";
    const key = await createKey(db, "reader", { launcher: win });
    const server = await serve(["--db", db, "--sample"], {}, win);
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as any).currentVersion).toBe(1);
    const list = await fetch(`${server.url}/api/v1/treatmentGroup`, { headers: { "X-API-KEY": key } });
    expect(list.status).toBe(200);
    const body = (await list.json()) as any;
    const sampleGroups = (await Bun.file(join(SAMPLE, "PlanDefinition.json")).json()).entry.length;
    expect(body.items.length).toBe(sampleGroups);
    expect(body.items.map((i: any) => i.data.id)).toContain("4077eb19-b094-4712-89b1-c3b5a021ef8d");
    expect((await fetch(`${server.url}/api/v1/treatmentGroup`)).status).toBe(401);
    await server.stop();
  }, WINE_TEST_MS);

  test("stops gracefully on SIGINT, which Wine delivers as Ctrl+C: exit 0", async () => {
    const server = await serve(["--db", "C:\\serve.db"], {}, win);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    server.proc.kill("SIGINT");
    expect(await server.proc.exited).toBe(0);
    expect(server.proc.signalCode).toBeNull();
    expect(await fetch(`${server.url}/health`).then(() => "answered", () => "closed")).toBe("closed");
  }, WINE_TEST_MS);
});

describe("syncs of the Windows build under Wine", () => {
  const db = "C:\\sync.db";
  let admin = "";

  test("an HTTP-triggered sync from the fake upstream (in the worker thread) commits a new version", async () => {
    admin = await createKey(db, "ops", { scope: "admin", launcher: win });
    const server = await serve(["--db", db, "--no-sync-schedule"], upstreamEnv(), win);
    const post = () => fetch(`${server.url}/api/internal/sync`, { method: "POST", headers: { "X-API-KEY": admin } });
    // On an empty database the server syncs at start; it logs the end once that sync is wholly over
    // (its run recorded and its lock released).
    for (let i = 0; i < 1200 && !server.stderr().includes("initial sync finished"); i++) await Bun.sleep(25);
    expect(server.stderr()).toContain("initial sync finished");
    const runs = ((await (await fetch(`${server.url}/api/internal/sync`, { headers: { "X-API-KEY": admin } })).json()) as any).runs;
    expect(runs.find((r: any) => r.trigger === "startup")).toMatchObject({ status: "succeeded", version: 1 });
    upstream.setData(smallDataset(9, 0));
    const res = await post();
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ trigger: "http", status: "succeeded", version: 2 });
    expect((await post()).status).toBe(200);
    await server.stop();
  }, WINE_TEST_MS);

  test("a sync killed with its process leaves a lock that the next sync takes over", async () => {
    const server = await serve(["--db", db, "--no-sync-schedule"], upstreamEnv(), win);
    upstream.addFault({ collection: "PlanDefinition", page: 1, kind: "slow", delayMs: 120_000 });
    const before = upstream.requests.length;
    void fetch(`${server.url}/api/internal/sync`, { method: "POST", headers: { "X-API-KEY": admin } }).catch(() => undefined);
    // The sync holds its lock once it asks upstream for the first page.
    for (let i = 0; i < 400 && !upstream.requests.slice(before).some((r) => r.collection === "PlanDefinition" && r.status === 0); i++) await Bun.sleep(25);
    const held = await status(db);
    expect(held.syncRunning).toMatchObject({ trigger: "http", stale: false });

    server.proc.kill("SIGKILL");
    await server.proc.exited;
    upstream.clearFaults();
    // The lock names the Windows process by its creation time (src/platform.ts), as /proc does on Linux.
    const raw = new Database(join(wine.driveC, "sync.db"), { readonly: true });
    expect((raw.query("SELECT process_start FROM sync_lock").get() as { process_start: string | null }).process_start).toMatch(/^win\/\d+$/);
    raw.close();
    const leftover = await status(db);
    expect(leftover.syncRunning).toMatchObject({ trigger: "http", stale: true });

    const next = await nompd(["sync", "--db", db, "--json"], upstreamEnv(), win);
    expect(next.exitCode).toBe(0);
    expect(JSON.parse(next.stdout)).toMatchObject({ trigger: "cli", status: "no_changes" });
    const after = await status(db);
    expect(after.syncRunning).toBeNull();
    expect(after.recentRuns.find((r: any) => r.trigger === "http" && r.status !== "succeeded" && r.status !== "no_changes")).toMatchObject({ status: "failed" });
    expect(after.currentVersion).toBe(2);
  }, WINE_TEST_MS);
});

describe("src/platform.ts on Windows itself", () => {
  test("process identity, file modes, stop signals and drive-letter paths", async () => {
    const probe = join(wine.driveC, "nompd", "probe.exe");
    const build = Bun.spawnSync([process.execPath, "build", "--compile", "--target=bun-windows-x64", "test/support/wine/platformProbe.ts", "--outfile", probe], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    expect(build.exitCode).toBe(0);
    const r = Bun.spawnSync(["wine", probe, "C:\\nompd"], { env: { ...process.env, ...wine.env }, stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`the probe failed (exit ${r.exitCode}):\n${r.stdout.toString()}${r.stderr.toString()}`);
    const p = JSON.parse(r.stdout.toString());
    expect(p.platform).toBe("win32");
    expect(p.aliveSelf).toBe(true);
    expect(p.aliveUnused).toBe(false);
    expect(p.startSelf).toMatch(/^win\/\d+$/);
    expect(p.startSelfAgain).toBe(p.startSelf);
    expect(p.startUnused).toBeNull();
    expect(p.created).toEqual([true, false]);
    expect(p.privateContent).toBe("");
    expect(p.readableByOthers).toBeNull();
    // On Windows itself every form of path is a path.
    expect(p.foreign).toEqual([
      ["C:\\nompd.db", null],
      ["Z:\\data\\export", null],
      ["/var/lib/nompd.db", null],
    ]);
    expect(p.stopSignals).toEqual(["SIGINT", "SIGBREAK", "SIGHUP"]);
    expect(p.listened).toEqual({ SIGINT: true, SIGBREAK: true, SIGHUP: true });
  }, WINE_TEST_MS);
});
