/**
 * Sync of 100,000 upstream resources (1,000 pages of 100) from the fake upstream on loopback, against
 * the fetch floor (bench/fetch-floor.ts: the same pages fetched and parsed, nothing else), each
 * measured from spawn to exit and alternated with it. Then reads of a server while it syncs 65,000
 * changes, against the same reads while it is idle.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { createKey } from "../../test/support/binary";
import { startFakeUpstream } from "../../test/support/fakeUpstream";
import { RAW_COLLECTIONS } from "../../src/collections";
import { generateDataset, regulatedAuthorization } from "../generate";
import type { Context, Part } from "../lib/context";
import { alternate, median, medianBy, spread } from "../lib/measure";
import { BINARY, BUN, ROOT, serveNompd, stop, timed } from "../lib/procs";
import { fmt, ratio } from "../lib/report";
import { wrk, wrkUntilStopped, type Load, type WrkResult } from "../lib/wrk";

const UPSTREAM_KEY = "bench-upstream-key";
const PAGE_SIZE = 100;

interface SyncRun {
  status: string;
  counts: Record<string, { added: number; changed: number; unchanged: number; deleted: number }>;
  error: string | null;
}

/** What a sync that changes nothing must leave exactly as it was. */
function footprint(db: string): string {
  const d = new Database(db, { readonly: true });
  try {
    const f = d
      .query(
        `SELECT (SELECT value FROM meta WHERE key = 'version') AS version, (SELECT count(*) FROM dataset_version) AS versions,
                (SELECT count(*) FROM document_history) AS history, (SELECT max(version) FROM document) AS newest`,
      )
      .get() as { version: string; versions: number; history: number; newest: number };
    return `version ${f.version}, ${fmt(f.versions)} version${f.versions === 1 ? "" : "s"}, ${fmt(f.history)} history rows, newest document at version ${f.newest}`;
  } finally {
    d.close();
  }
}

export const syncPart: Part = {
  name: "sync",
  title: `Sync of 100,000 upstream resources (pages of ${PAGE_SIZE}) against the fetch floor`,
  async run(ctx) {
    const data = generateDataset({ groups: 10_000, alternatives: 5, auths: 65_000 });
    const resources = data.PlanDefinition.length + data.ActivityDefinition.length + data.RegulatedAuthorization.length;
    const pages = [data.PlanDefinition, data.ActivityDefinition, data.RegulatedAuthorization].reduce((n, c) => n + Math.ceil(c.length / PAGE_SIZE), 0);
    const upstream = startFakeUpstream({ data, apiKey: UPSTREAM_KEY, pageSize: PAGE_SIZE });
    const env = { NOMPD_UPSTREAM_URL: upstream.url, NOMPD_UPSTREAM_API_KEY: UPSTREAM_KEY };
    const dbs = [1, 2, 3].map((i) => join(ctx.work, `sync${i}.db`));
    try {
      const floor = async () => {
        const r = await timed([BUN, join(ROOT, "bench", "fetch-floor.ts"), upstream.url, UPSTREAM_KEY]);
        const got = r.exitCode === 0 ? (JSON.parse(r.stdout) as { pages: number; resources: number }) : null;
        const wrong = got?.pages === pages && got.resources === resources ? null : `the floor fetched ${r.stdout.trim() || r.stderr.trim()}, expected ${pages} pages and ${resources} resources`;
        return { ...r, wrong };
      };
      const sync = async (db: string, expected: "succeeded" | "no_changes") => {
        const r = await timed([BINARY, "sync", "--db", db, "--json"], env);
        let run: SyncRun | null = null;
        try {
          run = JSON.parse(r.stdout) as SyncRun;
        } catch {
          // reported below
        }
        const wrong = run?.status === expected ? null : `nompd sync ended ${run ? `${run.status}: ${run.error}` : `with exit code ${r.exitCode}: ${r.stderr.trim()}`}, expected ${expected}`;
        return { ...r, run, wrong };
      };
      const seconds = (runs: Array<{ seconds: number }>) => median(runs.map((r) => r.seconds));
      const problems = (...runs: Array<Array<{ wrong: string | null }>>) => runs.flat().find((r) => r.wrong !== null)?.wrong ?? null;

      // 1. First syncs, each into a new database.
      let i = 0;
      const first = await alternate(floor, () => sync(dbs[i++]!, "succeeded"));
      // Every first sync must add every resource of every collection.
      const addedAll = (counts: SyncRun["counts"] | undefined) => RAW_COLLECTIONS.every((c) => counts?.[c]?.added === data[c].length);
      const notAll = first.nompd.find((r) => !addedAll(r.run?.counts));
      const firstWrong = problems(first.limit, first.nompd) ?? (notAll ? `a first sync added ${JSON.stringify(notAll.run?.counts)}` : null);
      const firstSeconds = seconds(first.nompd);
      const floorFirst = seconds(first.limit);
      ctx.report.add({
        part: "sync",
        what: `first sync of ${fmt(resources)} resources ÷ floor`,
        value: firstSeconds / floorFirst,
        target: ratio("≤", 4),
        detail: `Nompd ${fmt(firstSeconds, 2)} s (${spread(first.nompd.map((r) => r.seconds), 2)}); floor ${fmt(floorFirst, 2)} s (${spread(first.limit.map((r) => r.seconds), 2)})`,
        ...(firstWrong ? { broken: firstWrong } : {}),
      });
      const peaks = first.nompd.map((r) => r.peakMb);
      ctx.report.add({
        part: "sync",
        what: "peak RSS of the first sync",
        value: median(peaks),
        target: { op: "<", limit: 250, unit: "MB" },
        detail: `runs ${spread(peaks, 0)} MB; floor ${spread(first.limit.map((r) => r.peakMb), 0)} MB`,
        ...(firstWrong ? { broken: firstWrong } : {}),
      });

      // 2. The same sync again into each database: nothing changed upstream, so nothing may be written.
      let j = 0;
      const again = await alternate(floor, async () => {
        const db = dbs[j++]!;
        const before = footprint(db);
        const r = await sync(db, "no_changes");
        const after = footprint(db);
        return { ...r, wrong: r.wrong ?? (before === after ? null : `the database changed: ${before} → ${after}`), footprint: after };
      });
      const againSeconds = seconds(again.nompd);
      const floorAgain = seconds(again.limit);
      ctx.report.add({
        part: "sync",
        what: "no-change re-sync ÷ floor (nothing written)",
        value: againSeconds / floorAgain,
        target: ratio("≤", 1.5),
        detail:
          `Nompd ${fmt(againSeconds, 2)} s (${spread(again.nompd.map((r) => r.seconds), 2)}); floor ${fmt(floorAgain, 2)} s (${spread(again.limit.map((r) => r.seconds), 2)}); ` +
          `unchanged: ${again.nompd[0]!.footprint}`,
        ...(problems(again.limit, again.nompd) ? { broken: problems(again.limit, again.nompd)! } : {}),
      });
      // No target of its own: the stored hashes it holds while it reads (src/store/staging.ts) show here.
      const againPeaks = again.nompd.map((r) => r.peakMb);
      ctx.report.addJudged({
        part: "sync",
        what: "peak RSS of the no-change re-sync",
        result: `${fmt(median(againPeaks))} MB (runs ${spread(againPeaks, 0)} MB)`,
        target: "none",
        met: null,
      });
      for (const db of dbs.slice(1)) rmSync(db, { force: true });

      // 3. Reads while the server syncs 65,000 changed RegulatedAuthorizations (and so 65,000 changed
      // reimbursement groups), against the same reads with the server idle.
      await readsDuringSync(ctx, dbs[0]!, env, (variant) =>
        upstream.setData({ ...data, RegulatedAuthorization: data.RegulatedAuthorization.map((_, k) => regulatedAuthorization(k, variant)) }),
      );
    } finally {
      await upstream.stop();
    }
  },
};

/** What a sync window in which wrk never ran "read" (the row is then broken, never met). */
const NO_READS: WrkResult = { rps: 0, requests: 0, bytes: 0, p50: 0, p99: 0, max: 0, errorStatus: 0, socketErrors: 0 };

async function readsDuringSync(ctx: Context, db: string, env: Record<string, string>, setVariant: (variant: number) => void): Promise<void> {
  const admin = await createKey(db, "bench-admin", { scope: "admin" });
  const server = await serveNompd(db, env);
  try {
    const load: Load = { url: `${server.url}/api/v1/treatmentGroup/00000001-0000-4000-8000-00000000002a`, headers: { "X-API-KEY": admin, "Accept-Encoding": "gzip" }, connections: 8 };
    await wrk(load, 1);
    let variant = 0;
    /**
     * One sync of 65,000 changes with wrk reading meanwhile: over the whole sync, or from the moment the
     * server has read the last page (the progress endpoint says so) to the commit's end.
     */
    const syncing = async (window: "whole" | "commit") => {
      // Variants 1, 0, 1, …: every RegulatedAuthorization changes each time, and its reimbursement group with it.
      variant = 1 - variant;
      setVariant(variant);
      let reads = window === "whole" ? wrkUntilStopped(load, 600) : null;
      const started = performance.now();
      const answer = fetch(`${server.url}/api/internal/sync`, { method: "POST", headers: { "X-API-KEY": admin } });
      let answered = false;
      void answer.then(() => (answered = true), () => (answered = true));
      let readFrom = started;
      while (reads === null && !answered) {
        const progress = (await (await fetch(`${server.url}/api/internal/sync/progress`, { headers: { "X-API-KEY": admin } })).json()) as {
          sync: { collections: Record<string, { done: boolean }> } | null;
        };
        const collections = Object.values(progress.sync?.collections ?? {});
        if (collections.length === 3 && collections.every((c) => c.done)) {
          reads = wrkUntilStopped(load, 600);
          readFrom = performance.now();
        } else await Bun.sleep(10);
      }
      const res = await answer;
      const body = (await res.json()) as SyncRun;
      const seconds = (performance.now() - readFrom) / 1000;
      const result: WrkResult & { seconds: number; wrong: string | null } = { ...(reads ? await reads.stop() : NO_READS), seconds, wrong: null };
      const changed = body.counts?.RegulatedAuthorization?.changed;
      if (res.status !== 200 || changed !== 65_000) result.wrong = `the server's sync answered ${res.status} with ${changed} changed: ${JSON.stringify(body).slice(0, 200)}`;
      else if (reads === null) result.wrong = "the sync ended before its last page was seen read";
      else if (result.errorStatus > 0 || result.socketErrors > 0) result.wrong = `${result.errorStatus} error answers and ${result.socketErrors} socket errors during the sync`;
      return result;
    };
    for (const window of ["commit", "whole"] as const) {
      const runs = await alternate(() => wrk(load, ctx.seconds), () => syncing(window));
      const idle = medianBy(runs.limit, (r) => r.p99);
      const during = medianBy(runs.nompd, (r) => r.p99);
      const wrong = runs.nompd.find((r) => r.wrong)?.wrong;
      ctx.report.add({
        part: "sync",
        what: window === "commit" ? "p99 of reads while a 65,000-change sync commits ÷ p99 idle" : "p99 of reads while a 65,000-change sync runs, fetch to commit ÷ p99 idle",
        value: during.p99 / idle.p99,
        target: ratio("≤", 1.5),
        detail:
          `item by id, wrk -c${load.connections}: during ${fmt(during.p99, 2)} ms (${spread(runs.nompd.map((r) => r.p99), 2)}), max ${fmt(during.max, 1)} ms, ` +
          `over ${window === "commit" ? `the ${fmt(during.seconds, 1)} s from the last page read to the commit's end` : `the whole ${fmt(during.seconds, 1)} s sync`}; ` +
          `idle ${fmt(idle.p99, 2)} ms (${spread(runs.limit.map((r) => r.p99), 2)}), max ${fmt(idle.max, 1)} ms`,
        ...(wrong ? { broken: wrong } : {}),
      });
    }
  } finally {
    await stop(server.proc);
  }
}
