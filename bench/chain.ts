/**
 * What Nompd's own code costs per request, without HTTP: the small read paths of `make bench` (401,
 * empty diff, item, 304), each answered by the function Bun's router calls for its route
 * (src/api/app.ts), in a loop, beside what a limit server does per request (make the same Response from
 * bytes and headers held in memory). Load runs over loopback move by a tenth between runs on a shared
 * machine; this figure moves by a few percent, so it tells a change to the request path from noise. Not
 * part of `make bench` (it has no target).
 *
 *   make build && bun bench/chain.ts
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApp } from "../src/api/app";
import { Authenticator } from "../src/api/auth";
import { loadConfig } from "../src/config";
import { createLogger } from "../src/log";
import { Store } from "../src/store/db";
import { DEFAULT_LEASE_MS } from "../src/store/syncLock";
import { SyncService } from "../src/sync/service";
import { createKey } from "../test/support/binary";
import { generateDataset, writeBundles } from "./generate";
import { nompd } from "./lib/procs";

type RouteFunction = (request: Request & { params?: Record<string, string> }, server: null) => Response | Promise<Response>;

const work = mkdtempSync(join(tmpdir(), "nompd-chain-"));
process.on("exit", () => rmSync(work, { recursive: true, force: true }));
writeBundles(join(work, "read"), generateDataset({ groups: 1000, alternatives: 5, auths: 2000 }));
const db = join(work, "read.db");
const imported = nompd(["import", join(work, "read"), "--db", db]);
if (imported.exitCode !== 0) throw new Error(`nompd import failed: ${imported.stderr}`);
const key = await createKey(db, "bench");

// The server as `nompd serve` makes it with its defaults (metrics on, no access log).
const settings = loadConfig(new Map(), {}).settings;
const store = Store.open(db);
const { app } = createApp({
  store,
  auth: new Authenticator(store),
  log: createLogger("json", () => {}),
  sync: new SyncService(store, { upstream: null, maxDeleteShare: settings.maxDeleteShare, keepVersions: null, lockLeaseMs: DEFAULT_LEASE_MS }),
  build: { version: "bench", commit: "bench" },
  cacheBytes: settings.cacheMib * 1024 * 1024,
  followMaxLag: settings.followMaxLag,
});
const routes = (app.config.serve as { routes: Record<string, Record<string, RouteFunction>> }).routes;
const list = "/api/v1/treatmentGroup";
const item = "00000001-0000-4000-8000-0000000001f3";
const base = `http://127.0.0.1:8080${list}`;

const first = await routes[list]!.GET!(new Request(base, { headers: { "x-api-key": key } }), null);
const etag = first.headers.get("etag")!;
const { currentVersion } = (await first.json()) as { currentVersion: number };

const withParams = (request: Request, params: Record<string, string>) => Object.assign(request, { params });
const paths: Array<[string, RouteFunction, Request, number]> = [
  ["401 (no key)", routes[list]!.GET!, withParams(new Request(base), {}), 401],
  ["empty diff", routes[list]!.GET!, withParams(new Request(`${base}?sinceVersion=${currentVersion}`, { headers: { "x-api-key": key } }), {}), 200],
  ["item by id", routes[`${list}/:id`]!.GET!, withParams(new Request(`${base}/${item}`, { headers: { "x-api-key": key } }), { id: item }), 200],
  ["304", routes[list]!.GET!, withParams(new Request(base, { headers: { "x-api-key": key, "if-none-match": etag } }), {}), 304],
];

/** Median nanoseconds a call over 11 rounds of 200,000 calls, after 100,000 to warm up. */
function perCall(call: () => unknown): number {
  for (let i = 0; i < 100_000; i++) call();
  const rounds: number[] = [];
  for (let r = 0; r < 11; r++) {
    const start = performance.now();
    for (let i = 0; i < 200_000; i++) call();
    rounds.push(((performance.now() - start) * 1e6) / 200_000);
  }
  return rounds.sort((a, b) => a - b)[5]!;
}

console.log("| path | Nompd's route | the limit's Response | ratio |\n|---|---|---|---|");
for (const [what, route, request, status] of paths) {
  const answer = (await route(request, null)) as Response;
  if (answer.status !== status) throw new Error(`${what}: status ${answer.status}, expected ${status}`);
  const bytes = new Uint8Array(await answer.arrayBuffer());
  // As bench/static-server.ts answers: the captured body and header pairs, one Response a request.
  const body = bytes.length > 0 ? bytes : null;
  const headers = [...answer.headers];
  const nompdNs = perCall(() => route(request, null));
  const limitNs = perCall(() => new Response(body, { status, headers }));
  console.log(`| ${what} | ${nompdNs.toFixed(0)} ns | ${limitNs.toFixed(0)} ns | ${(nompdNs / limitNs).toFixed(2)}× |`);
}
store.close();
