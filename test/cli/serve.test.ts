import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { serveInProcess } from "../support/cli";
import { sqlite } from "../support/db";
import { cli } from "../support/cli";
import { ROOT } from "../support/binary";
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
