/**
 * `make bench`: every figure as a ratio against its own limit, measured in the same run on the same
 * machine, with its target and "met" or "missed" (docs/PERFORMANCE.md explains the method). A
 * measurement that could not be made or trusted (a path that answered the wrong thing cannot pass as
 * fast) is a "broken" row. Not a test: it exits 0 whatever it measured, and never gates CI.
 *
 *   make bench                          # every part
 *   BENCH_ONLY=read,diff make bench     # some parts: read, diff, sync, startup, follow
 *   BENCH_SECONDS=10 make bench         # longer load runs (default 5 s)
 *
 * A new part is one more entry in PARTS; a new read path is one more entry in bench/parts/read.ts.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeContext, type Part } from "./lib/context";
import { BINARY, killChildren } from "./lib/procs";
import { Report } from "./lib/report";
import { ensurePackages } from "../test/support/debian";
import { followPart } from "./parts/follow";
import { diffPart, readPart } from "./parts/read";
import { startupPart } from "./parts/startup";
import { syncPart } from "./parts/sync";

const PARTS: Part[] = [readPart, diffPart, syncPart, startupPart, followPart];

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const only = process.env.BENCH_ONLY ? process.env.BENCH_ONLY.split(",").map((s) => s.trim()) : null;
const unknown = only?.filter((name) => !PARTS.some((p) => p.name === name)) ?? [];
if (unknown.length > 0 || !(seconds >= 1)) {
  console.error(
    unknown.length > 0
      ? `BENCH_ONLY names no part "${unknown.join('", "')}"; the parts are ${PARTS.map((p) => p.name).join(", ")}.`
      : `BENCH_SECONDS must be a number of seconds ≥ 1 (got "${process.env.BENCH_SECONDS}").`,
  );
  process.exit(2);
}
if (!existsSync(BINARY)) {
  console.error(`${BINARY} is missing: run 'make build' (make bench does it).`);
  process.exit(2);
}

const work = mkdtempSync(join(tmpdir(), "nompd-bench-"));
process.on("exit", () => {
  killChildren();
  rmSync(work, { recursive: true, force: true });
});
process.on("SIGINT", () => process.exit(130));

try {
  ensurePackages(["wrk"]);
} catch (err) {
  console.error((err as Error).message);
  process.exit(2);
}
const report = new Report();
const ctx = makeContext(seconds, work, report);
const started = performance.now();
console.error(`nompd bench: ${seconds} s per load run, ${navigator.hardwareConcurrency} cores, Bun ${Bun.version}`);
for (const [n, part] of PARTS.filter((p) => only === null || only.includes(p.name)).entries()) {
  console.error(`\n${n + 1}. ${part.title}`);
  try {
    await part.run(ctx);
  } catch (err) {
    report.add({ part: part.name, what: `${part.name} (the part stopped)`, value: NaN, target: { op: "≤", limit: NaN, unit: "" }, detail: "", broken: String((err as Error)?.stack ?? err) });
  }
}
console.error(`\n(${Math.round((performance.now() - started) / 1000)} s) ${report.summary()}`);
console.log(`\n${report.table()}`);
process.exit(0);
