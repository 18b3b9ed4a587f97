import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { ensureBinary, nompd, ROOT, serve, stopServersAfterAll, type RunningServer } from "../support/binary";
import { ensurePackages } from "../support/debian";
import { smallDataset } from "../support/fhir";
import { freePort } from "../support/ports";
import { writeDataset } from "../support/source";
import { tempDir } from "../support/tmp";

ensurePackages(["haproxy"]);

/**
 * The README's load balancer configuration (deploy/haproxy/nompd.cfg): HAProxy's own check accepts it,
 * the README shows it as it is, and run for real in front of two replicas it sends requests only to the
 * replica whose /health/ready answers 200.
 */
const CONFIG = join(ROOT, "deploy", "haproxy", "nompd.cfg");
const dir = tempDir("nompd-lb-");
stopServersAfterAll();
const KEY = "read-key-of-the-load-balancer-test-0123456789";

function check(file: string) {
  const r = Bun.spawnSync(["haproxy", "-c", "-f", file], { stdout: "pipe", stderr: "pipe" });
  return { exitCode: r.exitCode, output: r.stdout.toString() + r.stderr.toString() };
}

describe("the HAProxy configuration for two replicas", () => {
  test("haproxy -c accepts it, and refuses it broken", () => {
    const ok = check(CONFIG);
    expect(ok.output).toContain("Configuration file is valid");
    expect(ok.exitCode).toBe(0);
    const broken = join(dir, "broken.cfg");
    writeFileSync(broken, readFileSync(CONFIG, "utf8").replace("http-check expect status 200", "http-check expect sometimes 200"));
    expect(check(broken).exitCode).not.toBe(0);
  });

  test("the README's Many sites section shows it as it is, with health checks on /health/ready", () => {
    const config = readFileSync(CONFIG, "utf8");
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Many sites"));
    expect(section).toContain("```haproxy\n" + config + "```");
    expect(config).toContain("http-check send meth GET uri /health/ready");
    expect(config).toMatch(/server replica1 .* check/);
    expect(config).toMatch(/server replica2 .* check/);
  });

  describe("run in front of two replicas", () => {
    let primary: RunningServer;
    let tight: RunningServer;
    let loose: RunningServer;
    let haproxy: Subprocess;
    const front = freePort();

    beforeAll(async () => {
      ensureBinary();
      const bundles = writeDataset(dir, smallDataset(4, 6));
      expect((await nompd(["import", "--db", join(dir, "primary.db"), bundles])).exitCode).toBe(0);
      primary = await serve(["--db", join(dir, "primary.db")], { NOMPD_API_KEYS: KEY });
      const env = { NOMPD_API_KEYS: KEY, NOMPD_FOLLOW_API_KEY: KEY };
      // One replica is ready only while at most 2 s behind, the other for the default 48 h.
      tight = await serve(["--db", join(dir, "tight.db"), "--follow", primary.url, "--follow-max-lag", "2s"], env);
      loose = await serve(["--db", join(dir, "loose.db"), "--follow", primary.url], env);
      // The same configuration, on this test's ports and checking every 200 ms.
      const config = readFileSync(CONFIG, "utf8")
        .replace("bind :8080", `bind 127.0.0.1:${front}`)
        .replace(/server replica1 \S+/, `server replica1 ${new URL(tight.url).host}`)
        .replace(/server replica2 \S+/, `server replica2 ${new URL(loose.url).host}`)
        .replaceAll("inter 2s", "inter 200ms");
      const file = join(dir, "haproxy.cfg");
      writeFileSync(file, config);
      expect(check(file).exitCode).toBe(0);
      haproxy = Bun.spawn(["haproxy", "-db", "-f", file], { stdout: "ignore", stderr: "pipe" });
      for (let i = 0; i < 100 && (await fetch(`http://127.0.0.1:${front}/health`).catch(() => null)) === null; i++) {
        if (haproxy.exitCode !== null) throw new Error(`haproxy stopped: ${await new Response(haproxy.stderr as ReadableStream).text()}`);
        await Bun.sleep(50);
      }
    });
    afterAll(async () => {
      haproxy?.kill("SIGTERM");
      await haproxy?.exited;
    });

    /** Which replica answered /health through HAProxy, by its --follow-max-lag. */
    const whoAnswers = async () => {
      const res = await fetch(`http://127.0.0.1:${front}/health`).catch(() => null);
      if (!res || res.status !== 200) return null;
      const lag = ((await res.json()) as any).follow?.maxLagSeconds;
      return lag === 2 ? "tight" : lag === 172800 ? "loose" : null;
    };

    test("both ready: requests go to both; the one not ready (its primary gone longer than its max lag) gets none", async () => {
      const seen = new Set<string | null>();
      for (let i = 0; i < 200 && seen.size < 2; i++) {
        seen.add(await whoAnswers());
        seen.delete(null);
        await Bun.sleep(50);
      }
      expect([...seen].sort()).toEqual(["loose", "tight"]);
      const list = await fetch(`http://127.0.0.1:${front}/api/v1/treatmentGroup`, { headers: { "X-API-KEY": KEY } });
      expect(list.status).toBe(200);
      expect(((await list.json()) as any).currentVersion).toBe(1);

      await primary.stop();
      for (let i = 0; i < 200 && (await fetch(`${tight.url}/health/ready`)).status !== 503; i++) await Bun.sleep(100);
      expect((await fetch(`${tight.url}/health/ready`)).status).toBe(503);
      // HAProxy marks it down after two failed checks.
      await Bun.sleep(1000);
      const answers: Array<string | null> = [];
      for (let i = 0; i < 10; i++) answers.push(await whoAnswers());
      expect(answers).toEqual(Array(10).fill("loose"));
      // The replica not ready still serves its data to whoever asks it directly.
      expect((await fetch(`${tight.url}/api/v1/treatmentGroup`, { headers: { "X-API-KEY": KEY } })).status).toBe(200);
    }, 60_000);
  });
});
