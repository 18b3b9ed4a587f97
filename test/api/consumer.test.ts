import { beforeAll, describe, expect, test } from "bun:test";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { Store } from "../../src/store/db";
import { runSync } from "../../src/sync/run";
import { smallDataset, plan } from "../support/fhir";
import { sqlite } from "../support/db";
import { startServer } from "../support/server";
import { datasetSource } from "../support/source";
import { tempDbPath, tempDir } from "../support/tmp";

const dir = tempDir();
const dbPath = tempDbPath(dir);
const store = Store.open(dbPath);
const server = startServer(store, { envKeys: ["env-key-1-long-enough-to-be-a-real-key", "env-key-2-long-enough-to-be-a-real-key"] });
let readKey = "";
let adminKey = "";
const sync = (dataset: ReturnType<typeof smallDataset>, force = false) =>
  runSync(store, datasetSource(dir, dataset), { trigger: "import", force, maxDeleteShare: 0.5 });

const v1 = smallDataset(4, 6);
// v2: group 000 changed, group 003 removed, group 004 added; reimbursement 002 removed.
const v2 = smallDataset(4, 6);
(v2.PlanDefinition[0] as { name: string }).name = "Gruppe 0 – endret";
v2.PlanDefinition.splice(3, 1);
v2.PlanDefinition.push(plan("pd-004", "Gruppe 4", { diseaseGroup: "HIV", rhf: ["100020"], icd: ["B20"], actions: ["ad-4"] }));
v2.RegulatedAuthorization.splice(2, 1);

beforeAll(async () => {
  readKey = store.keys.create("pharmacy", "read");
  adminKey = store.keys.create("ops", "admin");
  expect((await sync(v1)).run.version).toBe(1);
  expect((await sync(v2)).run.version).toBe(2);
});

const withKey = (key = readKey) => ({ "X-API-KEY": key });
async function body(res: Response): Promise<any> {
  return JSON.parse(await res.text());
}

describe("authentication", () => {
  test("no key, wrong key: 401 with exactly the reference body", async () => {
    for (const headers of [{}, { "X-API-KEY": "wrong" }, { "X-API-KEY": "" }] as Array<Record<string, string>>) {
      const res = await server.get("/api/v1/treatmentGroup", headers);
      expect(res.status).toBe(401);
      expect(await res.text()).toBe('{"error":"Invalid or missing API key."}');
    }
  });

  test("a revoked key stops working at once, even when revoked through another connection (the CLI)", async () => {
    const key = store.keys.create("short-lived", "read");
    expect((await server.get("/api/v1/treatmentGroup", withKey(key))).status).toBe(200);
    const cli = Store.open(dbPath);
    cli.keys.revoke("short-lived");
    cli.close();
    const res = await server.get("/api/v1/treatmentGroup", withKey(key));
    expect(res.status).toBe(401);
    expect(await body(res)).toEqual({ error: "Invalid or missing API key." });
  });

  test("keys from NOMPD_API_KEYS read; admin keys read too", async () => {
    expect((await server.get("/api/v1/treatmentGroup", withKey("env-key-2-long-enough-to-be-a-real-key"))).status).toBe(200);
    expect((await server.get("/api/v1/reimbursementGroup", withKey(adminKey))).status).toBe(200);
  });

  test("a read key on an admin route: 403 naming the scope it needs; no key: 401", async () => {
    const res = await server.get("/api/internal/sync", withKey(readKey));
    expect(res.status).toBe(403);
    expect((await body(res)).error).toContain("admin scope");
    expect((await server.get("/api/internal/sync", withKey("env-key-1-long-enough-to-be-a-real-key"))).status).toBe(403);
    expect((await server.get("/api/internal/sync")).status).toBe(401);
    expect((await server.get("/api/internal/sync", withKey(adminKey))).status).toBe(200);
  });

  test("a key in the URL is refused, even a valid one, and before anything else the query has wrong", async () => {
    for (const path of [`/api/v1/treatmentGroup?apiKey=${readKey}`, `/api/v1/treatmentGroup?bogus=1&key=${readKey}`]) {
      const res = await server.get(path, withKey());
      expect(res.status).toBe(400);
      expect((await body(res)).error).toContain("X-API-KEY header");
    }
  });

  test("keys are stored only as hashes", () => {
    const db = sqlite(dbPath);
    const rows = db.query("SELECT hash FROM api_key").all() as Array<{ hash: string }>;
    expect(rows.length).toBeGreaterThan(0);
    const dump = JSON.stringify(db.query("SELECT * FROM api_key").all());
    expect(dump).not.toContain(readKey);
    expect(dump).not.toContain(adminKey);
  });
});

describe("GET /api/v1/treatmentGroup and /reimbursementGroup", () => {
  test("full list: live items ordered by id, the reference envelope, isDeleted false", async () => {
    const res = await server.get("/api/v1/treatmentGroup", withKey());
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(res.headers.get("x-nompd-dataset")).toBe(store.datasetId);
    const text = await res.text();
    expect(text.startsWith('{"currentVersion":2,"items":[{"data":{"id":"pd-000","name":"Gruppe 0 – endret","description":null,"diseaseGroup":"Revmatologi",')).toBe(true);
    const b = JSON.parse(text);
    expect(Object.keys(b)).toEqual(["currentVersion", "items"]);
    expect(b.items.map((i: any) => i.data.id)).toEqual(["pd-000", "pd-001", "pd-002", "pd-004"]);
    expect(Object.keys(b.items[0])).toEqual(["data", "version", "lastChanged", "isDeleted"]);
    expect(b.items.every((i: any) => i.isDeleted === false)).toBe(true);
    expect(b.items.map((i: any) => i.version)).toEqual([2, 1, 1, 2]);
    expect(b.items[1].lastChanged).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  });

  test("sinceVersion=1: exactly the changes of version 2, deletes included, ordered by version then id", async () => {
    const b = await body(await server.get("/api/v1/treatmentGroup?sinceVersion=1", withKey()));
    expect(b.currentVersion).toBe(2);
    expect(b.items.map((i: any) => [i.data.id, i.version, i.isDeleted])).toEqual([
      ["pd-000", 2, false],
      ["pd-003", 2, true],
      ["pd-004", 2, false],
    ]);
    expect(b.items[1].data.name).toBe("Gruppe 3"); // a deleted item carries its last content
    const r = await body(await server.get("/api/v1/reimbursementGroup?sinceVersion=1", withKey()));
    expect(r.items.map((i: any) => [i.data.id, i.isDeleted])).toEqual([["ra-002", true]]);
  });

  test("sinceVersion=0 gives every item that ever existed; sinceVersion=current gives none", async () => {
    const all = await body(await server.get("/api/v1/treatmentGroup?sinceVersion=0", withKey()));
    expect(all.items.map((i: any) => [i.version, i.data.id])).toEqual([
      [1, "pd-001"],
      [1, "pd-002"],
      [2, "pd-000"],
      [2, "pd-003"],
      [2, "pd-004"],
    ]);
    const none = await body(await server.get("/api/v1/treatmentGroup?sinceVersion=2", withKey()));
    expect(none).toEqual({ currentVersion: 2, items: [] });
  });

  test("sinceVersion that is not a whole number ≥ 0: 400 naming what is allowed", async () => {
    for (const bad of ["-1", "1.5", "abc", "", "1e3", "0x10", "%201", "+1"]) {
      const res = await server.get(`/api/v1/treatmentGroup?sinceVersion=${bad}`, withKey());
      expect(res.status).toBe(400);
      const b = await body(res);
      expect(Object.keys(b)).toEqual(["error"]);
      expect(b.error).toContain("whole number ≥ 0");
    }
  });

  test("sinceVersion greater than currentVersion: 409 telling the client to fetch everything again", async () => {
    const res = await server.get("/api/v1/reimbursementGroup?sinceVersion=3", withKey());
    expect(res.status).toBe(409);
    const b = await body(res);
    expect(Object.keys(b)).toEqual(["error"]);
    expect(b.error).toContain("Fetch everything again");
    // A whole number too long to hold exactly is still newer than any version.
    expect((await server.get("/api/v1/reimbursementGroup?sinceVersion=99999999999999999999", withKey())).status).toBe(409);
  });

  test("ETag and If-None-Match: 304 with no body; a new version changes the tag", async () => {
    const first = await server.get("/api/v1/reimbursementGroup", withKey());
    const etag = first.headers.get("etag")!;
    expect(etag).toMatch(/^W\/".+"$/);
    const again = await server.get("/api/v1/reimbursementGroup", { ...withKey(), "If-None-Match": etag });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
    const diff = await server.get("/api/v1/reimbursementGroup?sinceVersion=1", withKey());
    const diffTag = diff.headers.get("etag")!;
    expect(diffTag).not.toBe(etag);
    expect((await server.get("/api/v1/reimbursementGroup?sinceVersion=1", { ...withKey(), "If-None-Match": diffTag })).status).toBe(304);
    expect((await server.get("/api/v1/reimbursementGroup", { ...withKey(), "If-None-Match": '"other"' })).status).toBe(200);
  });

  test("gzip and br when accepted, identical JSON once decoded; Vary: Accept-Encoding", async () => {
    const plain = await (await server.get("/api/v1/reimbursementGroup", withKey())).text();
    const gz = await server.get("/api/v1/reimbursementGroup", { ...withKey(), "Accept-Encoding": "gzip" });
    expect(gz.headers.get("content-encoding")).toBe("gzip");
    expect(gz.headers.get("vary")).toBe("Accept-Encoding");
    expect(gunzipSync(new Uint8Array(await gz.arrayBuffer())).toString()).toBe(plain);
    const br = await server.get("/api/v1/reimbursementGroup", { ...withKey(), "Accept-Encoding": "gzip, deflate, br" });
    expect(br.headers.get("content-encoding")).toBe("br");
    expect(brotliDecompressSync(new Uint8Array(await br.arrayBuffer())).toString()).toBe(plain);
    const refused = await server.get("/api/v1/reimbursementGroup", { ...withKey(), "Accept-Encoding": "br;q=0, gzip;q=0" });
    expect(refused.headers.get("content-encoding")).toBeNull();
    expect(await refused.text()).toBe(plain);
  });

  test("a sync by another process shows at the next request (the cached list is rebuilt)", async () => {
    const before = await body(await server.get("/api/v1/treatmentGroup", withKey()));
    const other = Store.open(dbPath);
    const v3 = smallDataset(4, 6);
    v3.PlanDefinition.splice(3, 1);
    v3.PlanDefinition.push(plan("pd-005", "Gruppe 5"));
    await runSync(other, datasetSource(dir, v3), { trigger: "import", force: true, maxDeleteShare: 0.5 });
    other.close();
    const after = await body(await server.get("/api/v1/treatmentGroup", withKey()));
    expect(after.currentVersion).toBe(before.currentVersion + 1);
    expect(after.items.map((i: any) => i.data.id)).toContain("pd-005");
  });
});

describe("health and errors", () => {
  test("/health and /health/ready say version, last good sync and last run status, without a key", async () => {
    const res = await server.get("/health/ready");
    expect(res.status).toBe(200);
    const b = await body(res);
    expect(Object.keys(b).sort()).toEqual(["currentVersion", "lastRunStatus", "lastSuccessfulSync", "nextScheduledSync", "ready", "reason", "sample"]);
    expect(b).toMatchObject({ sample: false, ready: true, reason: null });
    expect(b.nextScheduledSync).toBeNull();
    expect(b.currentVersion).toBe(store.currentVersion());
    expect(b.lastRunStatus).toBe("succeeded");
    expect((await server.get("/health")).status).toBe(200);
  });

  test("/health/ready is 503 on a database that never synced", async () => {
    const empty = Store.open(tempDbPath(dir));
    const s = startServer(empty);
    const res = await s.get("/health/ready");
    expect(res.status).toBe(503);
    expect((await body(res)).lastSuccessfulSync).toBeNull();
    expect((await s.get("/health")).status).toBe(200);
  });

  test("unknown paths answer a JSON 404", async () => {
    const res = await server.get("/api/v1/nothing", withKey());
    expect(res.status).toBe(404);
    expect((await body(res)).error).toContain("No such endpoint");
  });
});

describe("OpenAPI", () => {
  test("/swagger/json describes every endpoint, its parameters and the X-API-KEY scheme", async () => {
    const doc = await body(await server.get("/swagger/json"));
    expect(doc.components.securitySchemes.apiKey).toEqual(expect.objectContaining({ type: "apiKey", in: "header", name: "X-API-KEY" }));
    for (const path of ["/api/v1/treatmentGroup", "/api/v1/reimbursementGroup"]) {
      const op = doc.paths[path].get;
      expect(op.security).toEqual([{ apiKey: [] }]);
      expect(op.parameters.map((p: any) => p.name)).toContain("sinceVersion");
      for (const status of ["200", "400", "401", "409"]) expect(op.responses[status]).toBeDefined();
    }
    expect(doc.paths["/api/internal/sync"].post).toBeDefined();
    expect(doc.paths["/health/ready"].get).toBeDefined();
    expect(doc.paths["/api/v1/treatmentGroup"].get.responses["200"].content["application/json"].schema).toEqual({ $ref: "#/components/schemas/TreatmentGroupList" });
    expect(JSON.stringify(doc.components.schemas.TreatmentGroupList.examples)).toContain("4077eb19-b094-4712-89b1-c3b5a021ef8d");
    const ui = await server.get("/swagger");
    expect(ui.status).toBe(200);
    const page = await ui.text();
    expect(page).toContain("<html");
    // The UI's script is served by Nompd itself, so /swagger works without internet.
    const scripts = [...page.matchAll(/<script[^>]*src="([^"]+)"/g)].map((m) => m[1]!);
    expect(scripts).toEqual(["/swagger/scalar.js"]);
    // No telemetry, web fonts or online services from a hospital's server room.
    for (const setting of ['"telemetry":false', '"withDefaultFonts":false', '"showDeveloperTools":"never"', '"agent":{"disabled":true}']) expect(page).toContain(setting);
    expect(page).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)[^"' ]+\.(js|css)/);
    const script = await server.get("/swagger/scalar.js");
    expect(script.status).toBe(200);
    expect(script.headers.get("content-type")).toContain("javascript");
    expect((await script.text()).length).toBeGreaterThan(100_000);
    // gzip only when the client takes it (q > 0).
    for (const [accept, encoding] of [["gzip", "gzip"], ["br, gzip;q=0.5", "gzip"], ["gzip;q=0", null], ["br", null]] as const) {
      const res = await server.get("/swagger/scalar.js", { "Accept-Encoding": accept });
      expect({ accept, encoding: res.headers.get("content-encoding") }).toEqual({ accept, encoding });
    }
  });
});
