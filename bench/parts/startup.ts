/**
 * Start-up: from spawn to the first answered request, Nompd with the 1,000-group database (its first
 * request is the full list) against a hello-world Bun.serve (bench/hello.ts) compiled by the Makefile's
 * own command line for Nompd (`make dist/.bench/hello`).
 */
import { make } from "../../test/support/binary";
import type { Part } from "../lib/context";
import { alternate, median, spread } from "../lib/measure";
import { BINARY, spawn, stop, waitFor } from "../lib/procs";
import { fmt, ratio } from "../lib/report";

const RUNS = 5;

/** Milliseconds from spawn until the first request to the URL that `ready` finds in the output is answered. */
async function startToAnswer(cmd: string[], stream: "stdout" | "stderr", ready: RegExp, path: string, headers: Record<string, string>): Promise<{ ms: number; wrong: string | null }> {
  const started = performance.now();
  const proc = spawn(cmd, { env: { NOMPD_UPSTREAM_URL: "" } });
  try {
    const base = await waitFor(proc, proc[stream], ready, cmd[0]!);
    const res = await fetch(`${base}${path}`, { headers });
    const body = await res.arrayBuffer();
    const ms = performance.now() - started;
    return { ms, wrong: res.status === 200 && body.byteLength > 0 ? null : `${cmd[0]} answered ${res.status} with ${body.byteLength} bytes` };
  } finally {
    await stop(proc);
  }
}

export const startupPart: Part = {
  name: "startup",
  title: "Start-up, from spawn to the first answered request, against a compiled hello-world",
  async run(ctx) {
    const { db, key } = await ctx.readDb();
    const hello = make("dist/.bench/hello");
    const runs = await alternate(
      () => startToAnswer([hello], "stdout", /listening (\S+)/, "/", {}),
      () => startToAnswer([BINARY, "serve", "--db", db, "--port", "0", "--no-sync-schedule", "--log-format", "json"], "stderr", /"url":"([^"]+)"/, "/api/v1/treatmentGroup", { "X-API-KEY": key }),
      RUNS,
    );
    const floor = median(runs.limit.map((r) => r.ms));
    const ours = median(runs.nompd.map((r) => r.ms));
    const wrong = [...runs.limit, ...runs.nompd].find((r) => r.wrong)?.wrong;
    ctx.report.add({
      part: "startup",
      what: "start-up with the 1,000-group database ÷ compiled hello-world",
      value: ours / floor,
      target: ratio("≤", 2),
      detail: `Nompd ${fmt(ours)} ms (${spread(runs.nompd.map((r) => r.ms), 0)}); hello-world ${fmt(floor)} ms (${spread(runs.limit.map((r) => r.ms), 0)}); medians of ${RUNS}`,
      ...(wrong ? { broken: wrong } : {}),
    });
  },
};
