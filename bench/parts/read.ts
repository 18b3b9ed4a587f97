/**
 * Read paths, each against a limit that answers the same bytes. For each path: record the request wrk
 * will send, capture Nompd's exact response to it and check that it is the right answer, serve that
 * response from a plain Bun.serve (bench/static-server.ts), check that the limit answers the same bytes,
 * then load both alternately. Ratio = Nompd req/s ÷ limit req/s.
 *
 * A new read row is one more entry in a path table below.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { createKey } from "../../test/support/binary";
import { capture, difference, header, type Captured } from "../lib/capture";
import type { Context, Part } from "../lib/context";
import { alternate, medianBy, spread } from "../lib/measure";
import { BUN, ROOT, nompd, serveNompd, spawn, stop, waitFor } from "../lib/procs";
import { fmt, ratio, type Target } from "../lib/report";
import { wrk, wrkRequestBytes, type Load, type WrkResult } from "../lib/wrk";
import { generateDataset, regulatedAuthorization, writeBundles } from "../generate";

export const CONNECTIONS = 32;

export interface ReadPath {
  what: string;
  path: string;
  headers: Record<string, string>;
  target: Target;
  /** What is wrong with Nompd's answer, or null when it is the answer this path must give. */
  check(answer: Captured): string | null;
}

type Envelope = { currentVersion: number; items: Array<{ data: Record<string, unknown>; version: number; isDeleted: boolean }> };

/** The JSON body of an answer, decompressed as its Content-Encoding says. */
function json<T>(answer: Captured): T {
  const encoding = header(answer, "content-encoding");
  const raw = encoding === "gzip" ? gunzipSync(answer.body) : encoding === "br" ? brotliDecompressSync(answer.body) : answer.body;
  return JSON.parse(new TextDecoder().decode(raw)) as T;
}

/** The checks every path shares: status, encoding, a body where one is due; then the path's own. */
function expect(status: number, encoding: "gzip" | "br" | null, own: (answer: Captured) => string | null = () => null) {
  return (answer: Captured): string | null => {
    if (answer.status !== status) return `answered ${answer.status}, expected ${status}`;
    const got = header(answer, "content-encoding");
    if (got !== encoding) return `Content-Encoding ${got ?? "none"}, expected ${encoding ?? "none"}`;
    if (status !== 304 && answer.body.length === 0) return "the body is empty";
    try {
      return own(answer);
    } catch (err) {
      return `the body is not what it should be: ${(err as Error).message}`;
    }
  };
}

const fullList = (answer: Captured) => {
  const n = json<Envelope>(answer).items.length;
  return n === 1000 ? null : `${n} items, expected 1,000`;
};

/** The paths of the 1,000-group dataset; `current` is its full list as Nompd answers it (currentList). */
export function readPaths(key: string, current: { version: number; etag: string }): ReadPath[] {
  const list = "/api/v1/treatmentGroup";
  const auth = { "X-API-KEY": key };
  return [
    { what: "full list, identity", path: list, headers: auth, target: ratio("≥", 0.9), check: expect(200, null, fullList) },
    { what: "full list, gzip", path: list, headers: { ...auth, "Accept-Encoding": "gzip" }, target: ratio("≥", 0.9), check: expect(200, "gzip", fullList) },
    { what: "full list, br", path: list, headers: { ...auth, "Accept-Encoding": "br" }, target: ratio("≥", 0.9), check: expect(200, "br", fullList) },
    {
      what: "empty diff (?sinceVersion=currentVersion)",
      path: `${list}?sinceVersion=${current.version}`,
      headers: auth,
      target: ratio("≥", 0.9),
      check: expect(200, null, (a) => {
        const body = json<Envelope>(a);
        return body.items.length === 0 && body.currentVersion === current.version ? null : `${body.items.length} items at version ${body.currentVersion}, expected none at ${current.version}`;
      }),
    },
    {
      what: "If-None-Match revalidation (304)",
      path: list,
      headers: { ...auth, "If-None-Match": current.etag },
      target: ratio("≥", 0.9),
      check: expect(304, null, (a) => (header(a, "etag") === current.etag ? null : `ETag ${header(a, "etag")}, expected ${current.etag}`)),
    },
    {
      what: "filtered list (?diseaseGroup=MS&jurisdiction=100022)",
      path: `${list}?diseaseGroup=MS&jurisdiction=100022`,
      headers: auth,
      target: ratio("≥", 0.8),
      check: expect(200, null, (a) => {
        const items = json<Envelope>(a).items;
        if (items.length === 0 || items.length >= 1000) return `${items.length} items, expected some of the 1,000`;
        const inFilter = (d: Record<string, unknown>) =>
          d.diseaseGroup === "MS" && (d.jurisdictions as Array<{ code: string }>).some((j) => j.code === "100022");
        return items.every((i) => inFilter(i.data)) ? null : "an item outside the filter";
      }),
    },
    {
      what: "item by id",
      path: `${list}/00000001-0000-4000-8000-0000000001f3`,
      headers: auth,
      target: ratio("≥", 0.8),
      check: expect(200, null, (a) => {
        const id = json<{ data: { id: string } }>(a).data.id;
        return id === "00000001-0000-4000-8000-0000000001f3" ? null : `item ${id}`;
      }),
    },
    {
      what: "401 (no key)",
      path: list,
      headers: {},
      target: ratio("≥", 0.9),
      check: expect(401, null, (a) => (new TextDecoder().decode(a.body) === '{"error":"Invalid or missing API key."}' ? null : "not the documented 401 body")),
    },
  ];
}

/** The full list's version and ETag, as the server at `url` answers it. */
export async function currentList(url: string, key: string): Promise<{ version: number; etag: string }> {
  const res = await fetch(`${url}/api/v1/treatmentGroup`, { headers: { "X-API-KEY": key, "Accept-Encoding": "identity" } });
  const body = (await res.json()) as Envelope;
  return { version: body.currentVersion, etag: res.headers.get("etag") ?? "(none)" };
}

/** A captured answer as bench/static-server.ts reads it, written to `file`. */
function writeCapture(file: string, answer: Captured): void {
  writeFileSync(file, JSON.stringify({ status: answer.status, headers: answer.headers, body: Buffer.from(answer.body).toString("base64") }));
}

/** wrk's load of a path on the server at `url`. */
export function loadOf(url: string, p: ReadPath): Load {
  return { url: `${url}${p.path}`, headers: p.headers, connections: CONNECTIONS };
}

/**
 * Nompd's answer to a path, captured once the server is warm (a first answer may differ from the steady
 * one: a body compressed quickly first, better once it has been asked for again, say) and written to
 * `work` for the limit to serve, with what is wrong with it (null when it is the right answer).
 */
export async function capturedAnswer(work: string, load: Load, p: ReadPath): Promise<{ answer: Captured; file: string; wrong: string | null }> {
  await wrk(load, 1);
  const answer = await capture(load.url, await wrkRequestBytes(load));
  const file = join(work, `capture-${p.what.replace(/\W+/g, "-")}.json`);
  writeCapture(file, answer);
  return { answer, file, wrong: p.check(answer) };
}

/** One path: capture, check, serve the capture as the limit, then load both alternately. */
async function measurePath(ctx: Context, nompdUrl: string, p: ReadPath): Promise<void> {
  const row = { part: "read", what: p.what, target: p.target };
  const load = loadOf(nompdUrl, p);
  const { answer: ours, file, wrong } = await capturedAnswer(ctx.work, load, p);
  if (wrong) return ctx.report.add({ ...row, value: NaN, detail: "", broken: `Nompd's answer is wrong: ${wrong}` });

  // The limit, and beside it (no target of its own) a limit that reads the request as Nompd must.
  const servers = [spawn([BUN, join(ROOT, "bench", "static-server.ts"), file]), spawn([BUN, join(ROOT, "bench", "static-server.ts"), file, "--reads-request"])];
  try {
    const loads: Load[] = [];
    for (const server of servers) {
      const port = await waitFor(server, server.stdout, /listening (\d+)/, "the static server");
      const limitLoad: Load = { ...load, url: `http://127.0.0.1:${port}${p.path}` };
      const differs = difference(ours, await capture(limitLoad.url, await wrkRequestBytes(limitLoad)));
      if (differs) return ctx.report.add({ ...row, value: NaN, detail: "", broken: `the limit does not answer the same bytes: ${differs}` });
      await wrk(limitLoad, 1);
      loads.push(limitLoad);
    }
    // Each round: the limit, the limit that reads the request, then Nompd.
    const runs = await alternate(
      async () => {
        const round: WrkResult[] = [];
        for (const limitLoad of loads) round.push(await wrk(limitLoad, ctx.seconds));
        return round;
      },
      () => wrk(load, ctx.seconds),
    );
    const limitRuns = runs.limit.map((round) => round[0]!);
    const limitRun = medianBy(limitRuns, (r) => r.rps);
    const nompdRun = medianBy(runs.nompd, (r) => r.rps);
    let detail =
      `Nompd ${fmt(nompdRun.rps)} req/s (${spread(runs.nompd.map((r) => r.rps), 0)}), p99 ${fmt(nompdRun.p99, 2)} ms; ` +
      `limit ${fmt(limitRun.rps)} req/s (${spread(limitRuns.map((r) => r.rps), 0)}), p99 ${fmt(limitRun.p99, 2)} ms; ${fmt(ours.body.length)} B body`;
    const readingRuns = runs.limit.map((round) => round[1]!);
    const readingRun = medianBy(readingRuns, (r) => r.rps);
    detail += `; a limit that reads the request ${fmt(readingRun.rps)} req/s (${spread(readingRuns.map((r) => r.rps), 0)}), Nompd ÷ it ${fmt(nompdRun.rps / readingRun.rps, 2)}×`;
    const invalid = loadProblem(ours.status, [...limitRuns, ...readingRuns], runs.nompd);
    ctx.report.add({ ...row, value: nompdRun.rps / limitRun.rps, detail, ...(invalid ? { broken: invalid } : {}) });
  } finally {
    for (const server of servers) await stop(server);
  }
}

/**
 * Whether the load runs saw what the capture promised: no socket errors, the expected share of error
 * statuses, and the same bytes per answer from both servers.
 */
function loadProblem(status: number, limit: WrkResult[], ours: WrkResult[]): string | null {
  for (const [who, runs] of [["limit", limit], ["Nompd", ours]] as const) {
    for (const r of runs) {
      if (!(r.requests > 0)) return `a ${who} run completed no request`;
      if (r.socketErrors > 0) return `${r.socketErrors} socket errors in a ${who} run`;
      const expected = status >= 400 ? r.requests : 0;
      if (r.errorStatus !== expected) return `${r.errorStatus} of ${r.requests} answers of a ${who} run had a status ≥ 400, expected ${expected}`;
    }
  }
  const perAnswer = (runs: WrkResult[]) => runs.reduce((a, r) => a + r.bytes, 0) / runs.reduce((a, r) => a + r.requests, 0);
  const a = perAnswer(limit);
  const b = perAnswer(ours);
  if (Math.abs(a - b) / a > 0.02) return `the limit sent ${fmt(a)} B per answer and Nompd ${fmt(b)} B`;
  return null;
}

export const readPart: Part = {
  name: "read",
  title: `Read paths of the 1,000-group dataset, each against a static Bun.serve of the same bytes (wrk -t1 -c${CONNECTIONS})`,
  async run(ctx) {
    const { db, key } = await ctx.readDb();
    const server = await serveNompd(db);
    try {
      const current = await currentList(server.url, key);
      for (const p of readPaths(key, current)) await measurePath(ctx, server.url, p);
    } finally {
      await stop(server.proc);
    }
  },
};

/** The diff's dataset: 10,000 reimbursement groups imported, then 10 of them changed (version 2). */
export async function diffDb(work: string): Promise<{ db: string; key: string }> {
  const db = join(work, "diff.db");
  const data = generateDataset({ groups: 0, auths: 10_000 });
  for (const [version, dir] of [[1, "diff1"], [2, "diff2"]] as const) {
    if (version === 2) for (let i = 0; i < 10; i++) data.RegulatedAuthorization[i * 997] = regulatedAuthorization(i * 997, 1);
    writeBundles(join(work, dir), data);
    const r = nompd(["import", join(work, dir), "--db", db]);
    if (r.exitCode !== 0) throw new Error(`nompd import failed: ${r.stderr}`);
  }
  return { db, key: await createKey(db, "bench") };
}

/** The diff's one path, on diffDb. */
export function diffPath(key: string): ReadPath {
  return {
    what: "diff, 10 of 10,000 changed (?sinceVersion=1)",
    path: "/api/v1/reimbursementGroup?sinceVersion=1",
    headers: { "X-API-KEY": key },
    target: ratio("≥", 0.8),
    check: expect(200, null, (a) => {
      const items = json<Envelope>(a).items;
      return items.length === 10 && items.every((i) => i.version === 2) ? null : `${items.length} items, expected the 10 changed at version 2`;
    }),
  };
}

export const diffPart: Part = {
  name: "diff",
  title: "A diff: 10 of 10,000 reimbursement groups changed since the client's version",
  async run(ctx) {
    const { db, key } = await diffDb(ctx.work);
    const server = await serveNompd(db);
    try {
      await measurePath(ctx, server.url, diffPath(key));
    } finally {
      await stop(server.proc);
    }
  },
};
