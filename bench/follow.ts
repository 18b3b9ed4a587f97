/**
 * Follow mode's figures, measured with the compiled dist/nompd on loopback:
 * - replication lag: from the primary's commit to a replica serving that version, over 20 syncs;
 * - a new replica's catch-up of the 100,000-resource dataset (bench/generate.ts), time and peak memory;
 * - the memory of 5,000 waiting long polls (?sinceVersion=N&wait=60), and how fast one commit answers them.
 * Not a test: it never fails on a number; `followBench()` adds its rows, judged against the targets of
 * docs/PERFORMANCE.md, to a report (the part `follow` of `make bench`).
 *
 *   bun bench/follow.ts             # prints the rows as a Markdown table
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createKey } from "../test/support/binary";
import { startFakeUpstream } from "../test/support/fakeUpstream";
import { generateDataset, regulatedAuthorization, writeBundles } from "./generate";
import { BINARY, killChildren, peakRssMb, rssMb, serveNompd, timed } from "./lib/procs";
import { fmt, Report } from "./lib/report";

const KEY = "bench-follow-key-0123456789abcdefghijklmnop";
const UPSTREAM_KEY = "bench-follow-upstream-key";

/** Nearest-rank percentile of a sorted list. */
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

/** A Nompd command run to its end. Never spawnSync: the fake upstream answers from this process's event loop. */
async function cli(args: string[], env: Record<string, string> = {}): Promise<void> {
  const r = await timed([BINARY, ...args], env);
  if (r.exitCode !== 0) throw new Error(`nompd ${args.join(" ")} failed:\n${r.stderr}`);
}

/** `nompd serve` with the benchmark's read key, and `args` (--follow URL) after the database. */
const serve = (db: string, env: Record<string, string> = {}, args: string[] = []) => serveNompd(db, { NOMPD_API_KEYS: KEY, ...env }, args);

export async function followBench(report: Report): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), "nompd-bench-follow-"));
  const row = (what: string, result: string, target: string, met: boolean) => report.addJudged({ part: "follow", what, result, target, met });

  const version = async (url: string) => ((await (await fetch(`${url}/health`)).json()) as { currentVersion: number }).currentVersion;
  /** Resolves when `url` serves a version newer than `since` (a long poll), at performance.now(). */
  const newer = async (url: string, since: number) => {
    for (;;) {
      const res = await fetch(`${url}/api/v1/fhir/RegulatedAuthorization?sinceVersion=${since}&wait=60`, { headers: { "X-API-KEY": KEY } });
      const body = (await res.json()) as { currentVersion: number };
      if (body.currentVersion > since) return performance.now();
    }
  };

  try {
    // ---- 1. Replication lag ----------------------------------------------------------------
    console.error("\nFollow 1. Replication lag: a primary syncing from the fake upstream, a replica following it, 20 syncs");
    let data = generateDataset({ groups: 200, alternatives: 5, auths: 2000 });
    const upstream = startFakeUpstream({ data, apiKey: UPSTREAM_KEY, pageSize: 500 });
    const primaryDb = join(work, "primary.db");
    const upstreamEnv = { NOMPD_UPSTREAM_URL: upstream.url, NOMPD_UPSTREAM_API_KEY: UPSTREAM_KEY };
    await cli(["sync", "--db", primaryDb], upstreamEnv);
    const admin = await createKey(primaryDb, "ops", { scope: "admin" });
    const primary = await serve(primaryDb, upstreamEnv);
    const replica = await serve(join(work, "replica.db"), { NOMPD_FOLLOW_API_KEY: KEY }, ["--follow", primary.url]);
    while ((await version(replica.url)) < 1) await Bun.sleep(20);
    const lags: number[] = [];
    for (let i = 1; i <= 20; i++) {
      const v = await version(primary.url);
      data = { ...data, RegulatedAuthorization: data.RegulatedAuthorization.map((r, n) => (n === i ? regulatedAuthorization(n, i) : r)) };
      upstream.setData(data);
      const atReplica = newer(replica.url, v);
      const atPrimary = newer(primary.url, v);
      const res = await fetch(`${primary.url}/api/internal/sync`, { method: "POST", headers: { "X-API-KEY": admin } });
      const answered = performance.now();
      if (res.status !== 200) throw new Error(`sync ${i}: HTTP ${res.status}`);
      // The primary commits, then answers the sync (or a long poll on it): the earlier of the two.
      const committed = Math.min(answered, await atPrimary);
      lags.push(Math.max(0, (await atReplica) - committed));
    }
    lags.sort((a, b) => a - b);
    row("replication lag, primary commit → replica serving it (20 syncs of 1 changed resource)", `p50 ${fmt(percentile(lags, 50))} ms, p99 ${fmt(percentile(lags, 99))} ms`, "p99 < 2,000 ms", percentile(lags, 99) < 2000);
    replica.proc.kill();
    primary.proc.kill();
    await Promise.all([replica.proc.exited, primary.proc.exited]);
    await upstream.stop();

    // ---- 2. Catch-up of 100,000 resources -------------------------------------------------------
    console.error("\nFollow 2. A new replica's catch-up of 100,000 upstream resources");
    const big = generateDataset({ groups: 10_000, alternatives: 5, auths: 65_000 });
    const bigUpstream = startFakeUpstream({ data: big, apiKey: UPSTREAM_KEY, pageSize: 1000 });
    const bigDb = join(work, "big.db");
    await cli(["sync", "--db", bigDb], { NOMPD_UPSTREAM_URL: bigUpstream.url, NOMPD_UPSTREAM_API_KEY: UPSTREAM_KEY });
    await bigUpstream.stop();
    const bigPrimary = await serve(bigDb);
    const start = performance.now();
    const fresh = await serve(join(work, "fresh.db"), { NOMPD_FOLLOW_API_KEY: KEY }, ["--follow", bigPrimary.url]);
    let peak = 0;
    let primaryPeak = 0;
    while ((await version(fresh.url)) < 1) {
      peak = Math.max(peak, peakRssMb(fresh.proc.pid));
      primaryPeak = Math.max(primaryPeak, peakRssMb(bigPrimary.proc.pid));
      await Bun.sleep(20);
    }
    const seconds = (performance.now() - start) / 1000;
    peak = Math.max(peak, peakRssMb(fresh.proc.pid));
    const same =
      (await (await fetch(`${fresh.url}/api/v1/fhir/RegulatedAuthorization`, { headers: { "X-API-KEY": KEY } })).text()) ===
      (await (await fetch(`${bigPrimary.url}/api/v1/fhir/RegulatedAuthorization`, { headers: { "X-API-KEY": KEY } })).text());
    row(
      "catch-up of a new replica, 100,000 resources (175,000 documents), start to serving",
      `${fmt(seconds, 1)} s, replica peak RSS ${fmt(peak)} MB, primary peak RSS ${fmt(primaryPeak)} MB${same ? "" : ", ANSWERS DIFFER"}`,
      "< 20 s, < 500 MB",
      seconds < 20 && peak < 500 && same,
    );
    fresh.proc.kill();
    await fresh.proc.exited;

    // ---- 3. 5,000 waiting long polls --------------------------------------------------------------
    console.error("\nFollow 3. Memory of 5,000 waiting long polls");
    const pollsData = generateDataset({ groups: 10, alternatives: 3, auths: 10 });
    const importDir = join(work, "polls-data");
    writeBundles(importDir, pollsData);
    await cli(["import", importDir, "--db", join(work, "polls.db")]);
    const server = await serve(join(work, "polls.db"));
    const { hostname, port } = new URL(server.url);
    // Warm up: the route, the answer, the key check.
    for (let i = 0; i < 20; i++) await fetch(`${server.url}/api/v1/treatmentGroup?sinceVersion=0`, { headers: { "X-API-KEY": KEY } });
    await Bun.sleep(1000);
    const before = rssMb(server.proc.pid);
    const request = `GET /api/v1/reimbursementGroup?sinceVersion=1&wait=60 HTTP/1.1\r\nHost: ${hostname}\r\nX-API-KEY: ${KEY}\r\n\r\n`;
    let answered = 0;
    let lastAnswer = 0;
    // Raw sockets: one connection per waiting request, as 5,000 clients would hold them.
    const sockets = await Promise.all(
      Array.from({ length: 5000 }, () =>
        Bun.connect({
          hostname,
          port: Number(port),
          data: { head: "" },
          socket: {
            open: (s) => void s.write(request),
            data: (s, chunk) => {
              // An answer may come in several chunks: its status line is in the first bytes.
              if (s.data.head.includes("\r\n")) return;
              s.data.head += new TextDecoder().decode(chunk.subarray(0, 64));
              if (!s.data.head.includes("\r\n")) return;
              if (s.data.head.startsWith("HTTP/1.1 200")) {
                answered++;
                lastAnswer = performance.now();
              }
            },
          },
        }),
      ),
    );
    await Bun.sleep(3000);
    const early = answered;
    const after = rssMb(server.proc.pid);
    // One commit from another process (one reimbursement group changed) answers them all.
    writeBundles(importDir, { ...pollsData, RegulatedAuthorization: pollsData.RegulatedAuthorization.map((r, n) => (n === 0 ? regulatedAuthorization(0, 1) : r)) });
    const t0 = performance.now();
    await cli(["import", importDir, "--db", join(work, "polls.db")]);
    const committed = performance.now();
    while (answered < 5000 && performance.now() - committed < 30_000) await Bun.sleep(10);
    const allIn = lastAnswer - committed;
    for (const s of sockets) s.end();
    row(
      "5,000 waiting long polls (?sinceVersion=N&wait=60), server RSS",
      `${fmt(before)} MB → ${fmt(after)} MB (+${fmt(after - before, 1)} MB, ${fmt(((after - before) * 1024) / 5000, 1)} KiB each)${early ? `, ${early} answered early` : ""}`,
      "< 50 MB for 5,000",
      after - before < 50 && early === 0,
    );
    row(
      "the same 5,000, answered by one commit (nompd import in another process)",
      `${answered} answered, the last ${fmt(Math.max(0, allIn))} ms after the import exited (import took ${fmt(committed - t0)} ms)`,
      "all within 2,000 ms",
      answered === 5000 && allIn < 2000,
    );
    server.proc.kill();
    bigPrimary.proc.kill();
    await Promise.all([server.proc.exited, bigPrimary.proc.exited]);
  } finally {
    // Parts run one after another: the processes still running are this part's (on an error, its servers).
    killChildren();
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const report = new Report();
  await followBench(report);
  console.log(`\n${report.table()}`);
  process.exit(0);
}
