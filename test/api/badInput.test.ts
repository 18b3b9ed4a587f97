import { beforeAll, expect, test } from "bun:test";
import { Store } from "../../src/store/db";
import { runSync } from "../../src/sync/run";
import { smallDataset } from "../support/fhir";
import { startServer } from "../support/server";
import { datasetSource } from "../support/source";
import { tempDbPath, tempDir } from "../support/tmp";

/** Bad input gets a clear 4xx, never a 5xx: a seeded stream of odd requests against every endpoint. */
const dir = tempDir();
const store = Store.open(tempDbPath(dir));
const server = startServer(store);
let key = "";
let admin = "";

beforeAll(async () => {
  key = store.keys.create("fuzz", "read");
  admin = store.keys.create("fuzz-admin", "admin");
  await runSync(store, datasetSource(dir, smallDataset()), { trigger: "import", force: false, maxDeleteShare: 0.5 });
});

/** A small deterministic PRNG (mulberry32), so that a failure can be replayed. */
function prng(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PATHS = [
  "/api/v1/treatmentGroup",
  "/api/v1/reimbursementGroup",
  "/api/v1/treatmentGroup/pd-000",
  "/api/v1/treatmentGroup/pd-000/history",
  "/api/v1/reimbursementGroup/ra-000",
  "/api/v1/fhir/PlanDefinition",
  "/api/v1/fhir/Patient",
  "/api/internal/sync",
  "/health",
  "/health/ready",
  "/metrics",
  "/swagger/json",
  "/api/v1/status",
  "/api/v1/versions",
  "/api/v1/versions/1",
  "/api/internal/keys",
  "/api/internal/keys/nobody",
  "/api/internal/sync/progress",
  "/",
  "/ui/chunk-00000000.js",
];
const NAMES = ["sinceVersion", "asOfVersion", "diseaseGroup", "jurisdiction", "indication", "varenummer", "force", "limit", "before", "apiKey", "x", ""];
const VALUES = ["", "0", "1", "-1", "1.5", "1e9", "99999999999999999999999", "abc", "%", "%zz", "%00", "a|b", "|", "ø", "\u{1F600}", " ", "null", "[]", "{}", "true", "x".repeat(3000)];
const METHODS = ["GET", "GET", "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

test("2,000 odd requests: no answer is a 5xx, and every JSON error names the problem", async () => {
  const random = prng(20261126);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  for (let i = 0; i < 2000; i++) {
    let path = pick(PATHS);
    if (random() < 0.2) path += "/" + encodeURIComponent(pick(VALUES)).slice(0, 50);
    if (random() < 0.05) path += "/%";
    const params = Array.from({ length: Math.floor(random() * 4) }, () => `${pick(NAMES)}=${random() < 0.5 ? encodeURIComponent(pick(VALUES)) : pick(VALUES).replace(/[#\s]/g, "")}`);
    const url = server.url + path + (params.length ? "?" + params.join("&") : "");
    const headers: Record<string, string> = {};
    const who = random();
    if (who < 0.5) headers["X-API-KEY"] = key;
    else if (who < 0.7) headers["X-API-KEY"] = admin;
    else if (who < 0.8) headers["X-API-KEY"] = pick(VALUES).replace(/[^\x20-\x7e]/g, "?");
    if (random() < 0.3) headers["Accept-Encoding"] = pick(["gzip", "br", "gzip;q=0", "br;q=abc, *;q=0.1", "identity", "*", ","]);
    if (random() < 0.2) headers["If-None-Match"] = pick(['"x"', "*", "W/", ",,", 'W/"abc", "def"']);
    const method = path === "/api/internal/sync" && random() < 0.5 ? "POST" : pick(METHODS);
    const res = await fetch(url, { method, headers });
    const body = await res.text();
    if (res.status >= 500) throw new Error(`${method} ${url} answered ${res.status}: ${body.slice(0, 300)}`);
    if (res.status >= 400 && (res.headers.get("content-type") ?? "").includes("application/json") && method !== "HEAD") {
      const parsed = JSON.parse(body) as { error?: unknown };
      expect(typeof parsed.error).toBe("string");
      expect((parsed.error as string).length).toBeGreaterThan(10);
    }
  }
}, 60_000);
