/**
 * Where a read's CPU time goes: Nompd against the limit that reads the request as Nompd must
 * (bench/static-server.ts --reads-request), each server run under `perf record` while wrk loads it as
 * `make bench` does. For every read path of `make bench` (bench/parts/read.ts), it prints the CPU time
 * per request of the server's thread that answers, split three ways by the sampled call stacks: in
 * JavaScript (a stack with a JIT-compiled frame: the request's own code and all it calls), the kernel
 * outside it (the socket's reads and writes), and Bun's native code outside it (its HTTP server); and
 * the process's other threads. Figures under the profiler are slower than without it: the split is what
 * matters. Not part of `make bench` (it has no target); Linux only, as root (perf).
 *
 *   make build && bun bench/request-cpu.ts [SECONDS]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { ensurePackages } from "../test/support/debian";
import { makeContext } from "./lib/context";
import { BUN, ROOT, killChildren, serveNompd, spawn, stop, waitFor } from "./lib/procs";
import { Report } from "./lib/report";
import { wrk, type Load } from "./lib/wrk";
import { CONNECTIONS, capturedAnswer, currentList, diffDb, diffPath, loadOf, readPaths, type ReadPath } from "./parts/read";

const seconds = Number(process.argv[2] ?? 5);

ensurePackages(["wrk", "perf"]);
const work = mkdtempSync(join(tmpdir(), "nompd-request-cpu-"));
process.on("exit", () => {
  killChildren();
  rmSync(work, { recursive: true, force: true });
});

/** The profiler around a server: the whole process, every thread, call stacks, stamped with the wall clock. */
const profiled = (file: string) => ["perf", "record", "--quiet", "-k", "realtime", "-F", "999", "-g", "-o", file, "--"];

interface Split {
  requests: number;
  /** Microseconds of CPU per request. */
  js: number;
  kernel: number;
  native: number;
  otherThreads: number;
}

/**
 * The samples of `file` taken between `from` and `to` (Unix seconds), in µs of CPU per request. The
 * thread that answers is the process's first (its id is the process id); a JIT-compiled frame is one
 * perf finds in no file (it names it /tmp/perf-PID.map).
 */
function split(file: string, from: number, to: number, requests: number): Split {
  const out = Bun.spawnSync(["perf", "script", "-i", file, "-F", "pid,tid,time,period,ip,dso", "--time", `${from.toFixed(6)},${to.toFixed(6)}`], { stdout: "pipe", stderr: "pipe" });
  if (out.exitCode !== 0) throw new Error(`perf script failed: ${out.stderr.toString()}`);
  const ns = { js: 0, kernel: 0, native: 0, otherThreads: 0 };
  for (const sample of out.stdout.toString().split("\n\n")) {
    const lines = sample.trim().split("\n");
    const head = /^(\d+)\/(\d+)\s+[\d.]+:\s+(\d+)/.exec(lines[0]!.trim());
    if (!head) continue;
    const [, pid, tid, period] = head;
    const frames = lines.slice(1);
    if (pid !== tid) ns.otherThreads += Number(period);
    else if (frames.some((f) => /\(\/tmp\/perf-\d+\.map\)/.test(f))) ns.js += Number(period);
    else if (frames[0]?.includes("[kernel.kallsyms]")) ns.kernel += Number(period);
    else ns.native += Number(period);
  }
  const us = (n: number) => n / 1000 / requests;
  return { requests, js: us(ns.js), kernel: us(ns.kernel), native: us(ns.native), otherThreads: us(ns.otherThreads) };
}

/** Warms the server, loads it for `seconds` with the window noted, stops it (perf writes its data), and splits the window's samples. */
async function profile(proc: Subprocess, file: string, load: Load): Promise<Split & { rps: number }> {
  await wrk(load, 1);
  const from = Date.now() / 1000;
  const run = await wrk(load, seconds);
  const to = Date.now() / 1000;
  // perf ends the server and writes its data when it is interrupted; `proc` is perf.
  proc.kill("SIGINT");
  await proc.exited;
  return { ...split(file, from, to, run.requests), rps: run.rps };
}

const ctx = makeContext(seconds, work, new Report());
const read = await ctx.readDb();
const diff = await diffDb(work);

interface Measured {
  what: string;
  db: string;
  load: (url: string) => Load;
  /** Nompd's answer, captured from a server without the profiler, which the limit serves. */
  file: string;
}

/** Each path's answer, captured and checked (as `make bench` does) from a server on `db` without the profiler. */
async function captured(db: string, paths: (url: string) => Promise<ReadPath[]>): Promise<Measured[]> {
  const plain = await serveNompd(db);
  const out: Measured[] = [];
  try {
    for (const p of await paths(plain.url)) {
      const { file, wrong } = await capturedAnswer(work, loadOf(plain.url, p), p);
      if (wrong) throw new Error(`${p.what}: Nompd's answer is wrong: ${wrong}`);
      out.push({ what: p.what, db, load: (url) => loadOf(url, p), file });
    }
  } finally {
    await stop(plain.proc);
  }
  return out;
}

const measured = [
  ...(await captured(read.db, async (url) => readPaths(read.key, await currentList(url, read.key)))),
  ...(await captured(diff.db, async () => [diffPath(diff.key)])),
];

const us = (n: number) => n.toFixed(2);
const row = (path: string, server: string, s: Split & { rps: number }) =>
  `| ${path} | ${server} | ${Math.round(s.rps).toLocaleString("en")} | ${us(s.js + s.kernel + s.native)} | ${us(s.js)} | ${us(s.kernel)} | ${us(s.native)} | ${us(s.otherThreads)} |`;
console.log(`CPU µs per request under perf, wrk -t1 -c${CONNECTIONS} -d${seconds}s, Bun ${Bun.version}\n`);
console.log("| path | server | req/s | answering thread | in JavaScript | kernel outside it | Bun's native code outside it | other threads |");
console.log("|---|---|---|---|---|---|---|---|");
for (const [i, p] of measured.entries()) {
  const nompdData = join(work, `nompd-${i}.data`);
  const nompd = await serveNompd(p.db, {}, [], profiled(nompdData));
  const ours = await profile(nompd.proc, nompdData, p.load(nompd.url));
  const limitData = join(work, `limit-${i}.data`);
  const limit = spawn([...profiled(limitData), BUN, join(ROOT, "bench", "static-server.ts"), p.file, "--reads-request"]);
  const port = await waitFor(limit, limit.stdout, /listening (\d+)/, "the static server");
  const theirs = await profile(limit, limitData, p.load(`http://127.0.0.1:${port}`));
  console.log(row(p.what, "Nompd", ours));
  console.log(row("", "the limit that reads the request", theirs));
}
process.exit(0);
