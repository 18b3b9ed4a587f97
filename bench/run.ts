/**
 * `make bench`: the read path, the diff path, the 401 path, a filtered lookup, a 100,000-resource sync
 * and start-up, each measured in this run on this machine. Throughput is reported as a ratio against a
 * baseline measured in the same run (a static Bun.serve with the same bytes). Not a test: it never fails
 * on a number, it reports them against the targets of docs/PERFORMANCE.md.
 *
 *   make bench                       # everything
 *   BENCH_SECONDS=10 make bench      # longer load runs
 *   BENCH_ONLY=sync make bench       # one part: read, diff, sync, startup
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { Database } from "bun:sqlite";
import type { Subprocess } from "bun";
import { startFakeUpstream } from "../test/support/fakeUpstream";
import { generateDataset, regulatedAuthorization, writeBundles } from "./generate";

const ROOT = resolve(import.meta.dir, "..");
const BINARY = join(ROOT, "dist", "nompd");
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = 32;
/** BENCH_ONLY=read,diff,sync,startup runs only those parts. */
const ONLY = process.env.BENCH_ONLY ? process.env.BENCH_ONLY.split(",") : null;
const part = (name: string) => ONLY === null || ONLY.includes(name);
const work = mkdtempSync(join(tmpdir(), "nompd-bench-"));
const children: Subprocess[] = [];
const rows: Array<{ what: string; value: string; target: string; verdict: string }> = [];

function cleanup() {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  rmSync(work, { recursive: true, force: true });
}
process.on("exit", cleanup);
process.on("SIGINT", () => process.exit(130));

function ensureWrk(): void {
  if (Bun.which("wrk")) return;
  console.error("wrk is not installed; installing it from Debian's packages (apt-get install wrk)…");
  const r = Bun.spawnSync(["sh", "-c", "apt-get install -y -qq wrk >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq wrk)"], { stdout: "inherit", stderr: "inherit" });
  if (r.exitCode !== 0 || !Bun.which("wrk")) {
    console.error("Could not install wrk. Install it (e.g. 'sudo apt-get install wrk') and run 'make bench' again.");
    process.exit(1);
  }
}

function cli(args: string[], env: Record<string, string> = {}): { stdout: string; stderr: string; exitCode: number } {
  const r = Bun.spawnSync([BINARY, ...args], { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  return { stdout: r.stdout.toString(), stderr: r.stderr.toString(), exitCode: r.exitCode ?? -1 };
}

function vm(pid: number, field: "VmRSS" | "VmHWM"): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

async function serve(db: string, env: Record<string, string> = { NOMPD_UPSTREAM_URL: "" }): Promise<{ url: string; proc: Subprocess }> {
  const proc = Bun.spawn([BINARY, "serve", "--db", db, "--port", "0", "--log-format", "json", "--no-sync-schedule"], { stdout: "ignore", stderr: "pipe", env: { ...process.env, ...env } });
  children.push(proc);
  const reader = (proc.stderr as ReadableStream<Uint8Array>).getReader();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`nompd serve exited:\n${text}`);
    text += new TextDecoder().decode(value);
    const m = /"url":"([^"]+)"/.exec(text);
    if (m) {
      void (async () => {
        while (!(await reader.read()).done);
      })();
      return { url: m[1]!, proc };
    }
  }
}

interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  max: number;
  non2xx: number;
}

function wrkArgs(url: string, headers: Record<string, string>, connections: number, seconds: number): string[] {
  return ["wrk", "-t1", `-c${connections}`, `-d${seconds}s`, "--latency", ...Object.entries(headers).flatMap(([k, v]) => ["-H", `${k}: ${v}`]), url];
}

function parseWrk(out: string): WrkResult {
  const ms = (pattern: RegExp) => {
    const m = pattern.exec(out);
    if (!m) return NaN;
    const v = Number(m[1]);
    return m[2] === "us" ? v / 1000 : m[2] === "s" ? v * 1000 : v;
  };
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN),
    p50: ms(/50%\s+([\d.]+)(us|ms|s)/),
    p99: ms(/99%\s+([\d.]+)(us|ms|s)/),
    // "Latency   avg   stdev   max   +/- stdev"
    max: ms(/Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)/),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
  };
}

/** wrk in the background, so that this process can do something else meanwhile. */
async function wrkAsync(url: string, headers: Record<string, string>, connections: number, seconds: number): Promise<WrkResult> {
  const proc = Bun.spawn(wrkArgs(url, headers, connections, seconds), { stdout: "pipe", stderr: "pipe" });
  children.push(proc);
  return parseWrk(await new Response(proc.stdout).text());
}

function wrk(url: string, headers: Record<string, string> = {}, connections = CONNECTIONS): WrkResult {
  return parseWrk(Bun.spawnSync(wrkArgs(url, headers, connections, SECONDS), { stdout: "pipe", stderr: "pipe" }).stdout.toString());
}

const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
function row(what: string, value: string, target: string, ok: boolean | null) {
  rows.push({ what, value, target, verdict: ok === null ? "" : ok ? "met" : "MISSED" });
  console.error(`  ${what}: ${value}${target ? `  (target ${target}: ${ok ? "met" : "MISSED"})` : ""}`);
}

async function main() {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: run 'make build' (make bench does it).`);
  ensureWrk();
  console.error(`nompd bench: ${SECONDS}s per load run, ${navigator.hardwareConcurrency} cores, Bun ${Bun.version}`);

  // ---- 1. Read path -------------------------------------------------------------------------
  // The 1,000-group database is also used by the start-up part.
  console.error(`\n1. Read path: 1,000 treatment groups, wrk -t1 -c${CONNECTIONS} -d${SECONDS}s`);
  const readDir = join(work, "read");
  writeBundles(readDir, generateDataset({ groups: 1000, alternatives: 5, auths: 2000 }));
  const readDb = join(work, "read.db");
  if (cli(["import", readDir, "--db", readDb]).exitCode !== 0) throw new Error("import failed");
  const key = JSON.parse(cli(["keys", "create", "bench", "--json", "--db", readDb]).stdout).key as string;
  if (part("read")) await readPath(readDb, key);
  if (part("diff")) await diffPath();
  if (part("sync")) await syncPath();
  if (part("startup")) await startup(readDb, key);

  console.log(`\n| measurement | result | target | |\n|---|---|---|---|`);
  for (const r of rows) console.log(`| ${r.what} | ${r.value} | ${r.target} | ${r.verdict} |`);
}

async function readPath(readDb: string, key: string) {
  const nompd = await serve(readDb);
  const list = `${nompd.url}/api/v1/treatmentGroup`;
  const auth = { "X-API-KEY": key };
  const body = new Uint8Array(await (await fetch(list, { headers: auth })).arrayBuffer());
  writeFileSync(join(work, "body.json"), body);
  writeFileSync(join(work, "body.json.gz"), gzipSync(body, { level: 6 }));
  const staticProc = Bun.spawn([process.execPath, join(ROOT, "bench", "static-server.ts"), join(work, "body.json"), join(work, "body.json.gz")], { stdout: "pipe", stderr: "inherit" });
  children.push(staticProc);
  const staticReader = (staticProc.stdout as ReadableStream<Uint8Array>).getReader();
  const staticPort = /listening (\d+)/.exec(new TextDecoder().decode((await staticReader.read()).value))![1];
  const staticUrl = `http://127.0.0.1:${staticPort}/`;
  console.error(`  body: ${fmt(body.length / 1024)} KiB JSON`);

  for (const [label, enc] of [
    ["identity", {}],
    ["gzip", { "Accept-Encoding": "gzip" }],
  ] as const) {
    // Warm both, then measure the baseline and Nompd alternately, three times each, and keep the
    // median of each: the two share the machine with wrk, and alternating evens out drift.
    await fetch(list, { headers: { ...auth, ...enc } });
    const bases: WrkResult[] = [];
    const ourRuns: WrkResult[] = [];
    for (let i = 0; i < 3; i++) {
      bases.push(wrk(staticUrl, enc));
      ourRuns.push(wrk(list, { ...auth, ...enc }));
    }
    const median = (runs: WrkResult[]) => [...runs].sort((a, b) => a.rps - b.rps)[1]!;
    const base = median(bases);
    const ours = median(ourRuns);
    const ratio = ours.rps / base.rps;
    row(`full list, ${label}: static Bun.serve (limit), median of 3`, `${fmt(base.rps)} req/s, p50 ${fmt(base.p50, 2)} ms, p99 ${fmt(base.p99, 2)} ms`, "", null);
    row(`full list, ${label}: Nompd, median of 3`, `${fmt(ours.rps)} req/s, p50 ${fmt(ours.p50, 2)} ms, p99 ${fmt(ours.p99, 2)} ms`, "", ours.non2xx === 0 ? null : false);
    row(`full list, ${label}: Nompd / limit`, `${fmt(ratio, 2)}×`, "≥ 0.80×", ratio >= 0.8);
  }

  const filtered = wrk(`${list}?diseaseGroup=MS&jurisdiction=100022`, auth);
  row("filtered list (?diseaseGroup=MS&jurisdiction=100022, 1,000 groups)", `${fmt(filtered.rps)} req/s, p99 ${fmt(filtered.p99, 2)} ms`, "", filtered.non2xx === 0 ? null : false);
  const one = wrk(`${list}/00000001-0000-4000-8000-0000000001f3`, auth);
  row("one item by id", `${fmt(one.rps)} req/s, p99 ${fmt(one.p99, 2)} ms`, "", one.non2xx === 0 ? null : false);
  const unauth = wrk(list, {});
  row("401 path (no key)", `${fmt(unauth.rps)} req/s, p99 ${fmt(unauth.p99, 2)} ms`, "", null);
  staticProc.kill();
  nompd.proc.kill();
  await nompd.proc.exited;

}

async function diffPath() {
  console.error(`\n2. Diff path: sinceVersion with 10 changed items out of 10,000`);
  const diffDb = join(work, "diff.db");
  const diffData = generateDataset({ groups: 0, auths: 10_000 });
  writeBundles(join(work, "diff1"), diffData);
  cli(["import", join(work, "diff1"), "--db", diffDb]);
  for (let i = 0; i < 10; i++) diffData.RegulatedAuthorization[i * 997] = regulatedAuthorization(i * 997, 1);
  writeBundles(join(work, "diff2"), diffData);
  cli(["import", join(work, "diff2"), "--db", diffDb]);
  const diffKey = JSON.parse(cli(["keys", "create", "bench", "--json", "--db", diffDb]).stdout).key as string;
  const diffServer = await serve(diffDb);
  const diffUrl = `${diffServer.url}/api/v1/reimbursementGroup?sinceVersion=1`;
  const diffBody = (await (await fetch(diffUrl, { headers: { "X-API-KEY": diffKey } })).json()) as { items: unknown[] };
  if (diffBody.items.length !== 10) throw new Error(`diff returned ${diffBody.items.length} items, expected 10`);
  const diff = wrk(diffUrl, { "X-API-KEY": diffKey });
  row(`diff GET (10 of 10,000 changed), ${CONNECTIONS} connections`, `${fmt(diff.rps)} req/s, p50 ${fmt(diff.p50, 2)} ms, p99 ${fmt(diff.p99, 2)} ms`, "p99 < 5 ms", diff.p99 < 5);
  diffServer.proc.kill();

}

async function syncPath() {
  console.error(`\n3. Sync: 100,000 upstream resources, paged (100 per page), from the fake upstream on loopback`);
  const big = generateDataset({ groups: 10_000, alternatives: 5, auths: 65_000 });
  const total = big.PlanDefinition.length + big.ActivityDefinition.length + big.RegulatedAuthorization.length;
  const upstream = startFakeUpstream({ data: big, apiKey: "bench-upstream-key", pageSize: 100 });
  const syncDb = join(work, "sync.db");
  const env = { NOMPD_UPSTREAM_URL: upstream.url, NOMPD_UPSTREAM_API_KEY: "bench-upstream-key" };
  async function timedSync(): Promise<{ seconds: number; peakMb: number; run: any }> {
    const started = performance.now();
    const proc = Bun.spawn([BINARY, "sync", "--db", syncDb, "--json"], { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
    children.push(proc);
    let peak = 0;
    const poll = setInterval(() => {
      const hwm = vm(proc.pid, "VmHWM");
      if (!Number.isNaN(hwm)) peak = Math.max(peak, hwm);
    }, 20);
    const out = await new Response(proc.stdout).text();
    await proc.exited;
    clearInterval(poll);
    const seconds = (performance.now() - started) / 1000;
    return { seconds, peakMb: peak, run: JSON.parse(out) };
  }
  const first = await timedSync();
  if (first.run.status !== "succeeded") throw new Error(`sync failed: ${first.run.error}`);
  row(`sync of ${fmt(total)} resources (${fmt(upstream.requests.length)} pages), first`, `${fmt(first.seconds, 1)} s, peak RSS ${fmt(first.peakMb)} MB`, "< 20 s, < 500 MB", first.seconds < 20 && first.peakMb < 500);
  // Proof that the second sync writes nothing: the version and every document's history stay as they were.
  const footprint = () => {
    const db = new Database(syncDb, { readonly: true });
    const f = db.query("SELECT (SELECT value FROM meta WHERE key = 'version') AS version, (SELECT count(*) FROM document_history) AS history, (SELECT max(version) FROM document) AS newest").get() as { version: string; history: number; newest: number };
    db.close();
    return f;
  };
  const before = footprint();
  const second = await timedSync();
  const after = footprint();
  const ratio = second.seconds / first.seconds;
  const untouched = JSON.stringify(before) === JSON.stringify(after);
  row(
    "same sync again, no changes",
    `${fmt(second.seconds, 1)} s (${fmt(ratio * 100)}% of the first), status ${second.run.status}, version ${before.version} → ${after.version}, history rows ${fmt(before.history)} → ${fmt(after.history)}`,
    "< 50% of the first; nothing written",
    ratio < 0.5 && second.run.status === "no_changes" && untouched,
  );

  // Reads while the server itself syncs: every reimbursement group changes, so the commit is large.
  // The sync runs in a worker thread; the server's thread keeps answering.
  console.error(`\n   reads while the server syncs (every RegulatedAuthorization changed)`);
  const admin = JSON.parse(cli(["keys", "create", "bench-admin", "--scope", "admin", "--json", "--db", syncDb]).stdout).key as string;
  const server = await serve(syncDb, env);
  const readUrl = `${server.url}/api/v1/treatmentGroup/00000001-0000-4000-8000-00000000002a`;
  const quiet = wrk(readUrl, { "X-API-KEY": admin, "Accept-Encoding": "gzip" }, 8);
  upstream.setData({ ...big, RegulatedAuthorization: big.RegulatedAuthorization.map((_, i) => regulatedAuthorization(i, 1)) });
  const syncStarted = performance.now();
  const syncing = fetch(`${server.url}/api/internal/sync`, { method: "POST", headers: { "X-API-KEY": admin } }).then(async (r) => ({ status: r.status, body: (await r.json()) as any, seconds: (performance.now() - syncStarted) / 1000 }));
  const during = await wrkAsync(readUrl, { "X-API-KEY": admin, "Accept-Encoding": "gzip" }, 8, Math.max(SECONDS, 6));
  const synced = await syncing;
  if (synced.status !== 200) throw new Error(`server sync answered ${synced.status}: ${JSON.stringify(synced.body)}`);
  row("one item by id, 8 connections, server idle", `p99 ${fmt(quiet.p99, 2)} ms, max ${fmt(quiet.max, 1)} ms`, "", null);
  row(
    `the same while the server syncs (${fmt(synced.seconds, 1)} s, ${fmt(synced.body.counts.RegulatedAuthorization.changed)} changed)`,
    `p99 ${fmt(during.p99, 2)} ms, max ${fmt(during.max, 1)} ms, ${fmt(during.rps)} req/s`,
    "",
    null,
  );
  server.proc.kill();
  await upstream.stop();

}

async function startup(readDb: string, key: string) {
  const auth = { "X-API-KEY": key };
  console.error(`\n4. Start-up: binary start to first successful request (1,000-group database)`);
  const times: number[] = [];
  let idleRss = NaN;
  for (let i = 0; i < 5; i++) {
    // The server picks a free port (--port 0) and logs it; the clock runs from spawn to the first 200.
    const started = performance.now();
    const proc = Bun.spawn([BINARY, "serve", "--db", readDb, "--port", "0", "--no-sync-schedule", "--log-format", "json"], { stdout: "ignore", stderr: "pipe" });
    children.push(proc);
    const reader = (proc.stderr as ReadableStream<Uint8Array>).getReader();
    let log = "";
    let url: string | undefined;
    while (!url) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`nompd serve exited with ${await proc.exited}: ${log}`);
      log += new TextDecoder().decode(value);
      url = /"url":"([^"]+)"/.exec(log)?.[1];
    }
    void (async () => {
      while (!(await reader.read()).done);
    })();
    const res = await fetch(`${url}/api/v1/treatmentGroup`, { headers: auth });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`first request answered ${res.status}`);
    times.push(performance.now() - started);
    if (i === 4) {
      await Bun.sleep(1000);
      idleRss = vm(proc.pid, "VmRSS");
    }
    proc.kill();
    await proc.exited;
  }
  times.sort((a, b) => a - b);
  const median = times[2]!;
  row("start to first successful request (median of 5)", `${fmt(median)} ms`, "< 300 ms", median < 300);
  row("idle RSS after serving the 1,000-group list", `${fmt(idleRss)} MB`, "", null);

}

await main();
process.exit(0);
