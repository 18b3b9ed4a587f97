/**
 * The HTTP manners of the edge, as scenario tables: every row is one request and the answer it must get.
 * Every answer is also checked against the served OpenAPI document (test/support/server.ts).
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { Store } from "../../src/store/db";
import { runSync } from "../../src/sync/run";
import { smallDataset } from "../support/fhir";
import { startServer } from "../support/server";
import { datasetSource } from "../support/source";
import { tempDbPath, tempDir } from "../support/tmp";

const dir = tempDir();
const store = Store.open(tempDbPath(dir));
const server = startServer(store);
let read = "";
let admin = "";

beforeAll(async () => {
  read = store.keys.create("reader", "read");
  admin = store.keys.create("operator", "admin");
  await runSync(store, datasetSource(dir, smallDataset()), { trigger: "import", force: false, maxDeleteShare: 0.5 });
});

type Key = "none" | "read" | "admin" | "wrong";
const keyOf = (k: Key): Record<string, string> => (k === "none" ? {} : { "X-API-KEY": k === "read" ? read : k === "admin" ? admin : "nompd_wrong" });

describe("status codes by method, path, key and query", () => {
  const rows: Array<[method: string, path: string, key: Key, status: number]> = [
    ["GET", "/api/v1/treatmentGroup", "read", 200],
    ["GET", "/api/v1/treatmentGroup", "admin", 200],
    ["GET", "/api/v1/treatmentGroup", "none", 401],
    ["GET", "/api/v1/treatmentGroup", "wrong", 401],
    ["GET", "/api/v1/treatmentGroup?sinceVersion=0001", "read", 200],
    ["GET", "/api/v1/treatmentGroup?sinceVersion=2", "read", 409],
    ["GET", "/api/v1/treatmentGroup?sinceVersion=-1", "read", 400],
    ["GET", "/api/v1/treatmentGroup?__proto__=1", "read", 400],
    ["GET", "/api/v1/treatmentGroup?constructor=1", "read", 400],
    ["GET", "/api/v1/treatmentGroup?sinceVersion=1&sinceVersion=1", "read", 400],
    ["GET", "/api/v1/treatmentGroup?x-api-key=abc", "none", 400],
    ["GET", "/api/v1/treatmentGroup?bogus=1", "none", 401],
    ["GET", "/api/v1/treatmentGroup/pd-000", "read", 200],
    ["GET", "/api/v1/treatmentGroup/nope", "read", 404],
    ["GET", "/api/v1/treatmentGroup/%", "read", 400],
    ["GET", "/api/v1/treatmentGroup/pd-000/history", "read", 200],
    ["GET", "/api/v1/fhir/PlanDefinition", "read", 200],
    ["GET", "/api/v1/fhir/Patient", "read", 404],
    ["GET", "/api/v1/fhir/Patient", "none", 401],
    ["GET", "/api/v1/fhir/%", "read", 400],
    ["GET", "/api/internal/sync", "admin", 200],
    ["GET", "/api/internal/sync", "read", 403],
    ["GET", "/api/internal/sync", "none", 401],
    ["GET", "/api/internal/sync?limit=0", "admin", 400],
    ["POST", "/api/internal/sync", "admin", 409], // no upstream configured
    ["POST", "/api/internal/sync?force=maybe", "admin", 400],
    ["GET", "/health", "none", 200],
    ["GET", "/health?verbose=1", "none", 400],
    ["GET", "/health/ready", "none", 200],
    ["GET", "/metrics", "none", 200],
    ["POST", "/api/v1/treatmentGroup", "read", 405],
    ["DELETE", "/api/v1/treatmentGroup/pd-000", "read", 405],
    ["PUT", "/health", "none", 405],
    ["GET", "/api/v1/nothing", "read", 404],
    ["GET", "/nothing", "none", 404],
  ];
  for (const [method, path, key, status] of rows) {
    test(`${method} ${path} with ${key} key → ${status}`, async () => {
      const res = await server.request(path, { method, headers: keyOf(key) });
      expect(res.status).toBe(status);
      if (status >= 400) expect(Object.keys((await res.json()) as object)).toEqual(["error"]);
    });
  }
});

describe("HTTP semantics", () => {
  test("a wrong method on a known path: 405 with Allow", async () => {
    for (const [path, allow] of [
      ["/api/v1/treatmentGroup", "GET, HEAD, OPTIONS"],
      ["/api/internal/sync", "POST, GET, HEAD, OPTIONS"],
      ["/health", "GET, HEAD, OPTIONS"],
    ] as const) {
      const res = await server.request(path, { method: "PATCH" });
      expect(res.status).toBe(405);
      expect(res.headers.get("allow")).toBe(allow);
    }
  });

  test("OPTIONS is answered with Allow, without a key", async () => {
    const res = await server.request("/api/v1/treatmentGroup/pd-000", { method: "OPTIONS" });
    expect(res.status).toBe(204);
    expect(res.headers.get("allow")).toBe("GET, HEAD, OPTIONS");
  });

  test("HEAD answers as GET, without a body", async () => {
    const get = await server.get("/api/v1/treatmentGroup", keyOf("read"));
    const head = await server.request("/api/v1/treatmentGroup", { method: "HEAD", headers: keyOf("read") });
    expect(head.status).toBe(200);
    expect(head.headers.get("etag")).toBe(get.headers.get("etag"));
    expect(await head.text()).toBe("");
    expect((await server.request("/api/v1/treatmentGroup", { method: "HEAD" })).status).toBe(401);
  });

  test("401 names the scheme: WWW-Authenticate: ApiKey header=\"X-API-KEY\"", async () => {
    const res = await server.get("/api/v1/treatmentGroup");
    expect(res.headers.get("www-authenticate")).toBe('ApiKey header="X-API-KEY"');
  });

  test("304 carries the validators but no Content-Type or Content-Encoding", async () => {
    const first = await server.get("/api/v1/treatmentGroup", { ...keyOf("read"), "Accept-Encoding": "gzip" });
    const res = await server.get("/api/v1/treatmentGroup", { ...keyOf("read"), "Accept-Encoding": "gzip", "If-None-Match": first.headers.get("etag")! });
    expect(res.status).toBe(304);
    expect(res.headers.get("content-type")).toBeNull();
    expect(res.headers.get("content-encoding")).toBeNull();
    expect(res.headers.get("etag")).toBe(first.headers.get("etag"));
    expect(res.headers.get("x-nompd-dataset")).toBe(store.datasetId);
  });

  test("/swagger/ with a slash loads the same page, whose document URL is absolute", async () => {
    for (const path of ["/swagger", "/swagger/"]) {
      const res = await server.get(path);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('"url":"/swagger/json"');
    }
    expect((await server.get("/swagger/json")).status).toBe(200);
  });

  test("a dry run answers what a sync would do; POST without an upstream says how to get one", async () => {
    const res = await server.post("/api/internal/sync?dryRun=true", keyOf("admin"));
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: string }).error).toContain("--upstream-url");
  });
});
