/**
 * The published contract: /swagger/json is valid OpenAPI 3.1 (Redocly's linter, as a user would run it),
 * describes every route of the table with typed parameters and named schemas, and the validator that
 * checks every API test's answers against it fails on a wrong body.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Store } from "../../src/store/db";
import { ROOT } from "../support/binary";
import { loadContract } from "../support/contract";
import { startServer } from "../support/server";
import { tempDbPath, tempDir } from "../support/tmp";

const dir = tempDir();
const store = Store.open(tempDbPath(dir));
const server = startServer(store);
let doc: any;

beforeAll(async () => {
  doc = await (await server.get("/swagger/json")).json();
});

describe("the OpenAPI document", () => {
  test("Redocly's linter finds no errors and no warnings", async () => {
    const file = join(dir, "openapi.json");
    await Bun.write(file, JSON.stringify(doc));
    const lint = Bun.spawnSync([join(ROOT, "node_modules", ".bin", "redocly"), "lint", file, "--format=json"], {
      env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const out = lint.stdout.toString();
    const report = JSON.parse(out.slice(out.indexOf("{"))) as { totals: { errors: number; warnings: number }; problems: Array<{ ruleId: string; message: string }> };
    expect(report.problems.map((p) => `${p.ruleId}: ${p.message}`)).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
    expect(lint.exitCode).toBe(0);
  });

  test("3.1, with servers, named components, integers as integers and typed query parameters", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.servers.length).toBeGreaterThan(0);
    for (const name of ["TreatmentGroup", "ReimbursementGroup", "VersionedTreatmentGroup", "TreatmentGroupList", "Error", "Health", "SyncRun"]) {
      expect(doc.components.schemas[name]).toBeDefined();
    }
    expect(doc.components.schemas.TreatmentGroupList.properties.currentVersion.type).toBe("integer");
    expect(doc.components.schemas.VersionedTreatmentGroup.properties.version.type).toBe("integer");
    const since = doc.paths["/api/v1/treatmentGroup"].get.parameters.find((p: any) => p.name === "sinceVersion");
    expect(since.schema).toEqual({ type: "integer", minimum: 0 });
    expect(JSON.stringify(doc)).not.toContain('"nullable"');
    for (const [path, ops] of Object.entries<any>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(ops)) {
        for (const [status, r] of Object.entries<any>(op.responses)) {
          expect([path, method, status, typeof r.description]).toEqual([path, method, status, "string"]);
          const types = Object.keys(r.content ?? {});
          expect(types.length).toBeLessThanOrEqual(1);
          if (path !== "/metrics") for (const t of types) expect(t).toBe("application/json");
        }
      }
    }
  });

  test("every route of the table is in it, and only those", async () => {
    const { routeTable } = await import("../../src/api/routes");
    const routes = routeTable({ store, answers: null as never, sync: null as never, log: null as never, polls: null as never, followMaxLag: 3600, schedule: null, metrics: null, build: { version: "t", commit: "t" } });
    const documented = Object.entries<any>(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    const table = routes.filter((r) => !r.hidden).map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`);
    // The server's own table includes /metrics (on by default); this one was made without it.
    expect(documented.filter((d) => d !== "GET /metrics").sort()).toEqual(table.sort());
  });

  test("the answer validator fails on a wrong body, a wrong status, a wrong content type and a missing or wrong required header", async () => {
    const contract = await loadContract(server.url);
    const labels = { etag: 'W/"x"', "x-nompd-dataset": "00000000-0000-4000-8000-000000000000" };
    const headers = new Headers({ "content-type": "application/json; charset=utf-8", ...labels });
    const body = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
    const url = `${server.url}/api/v1/treatmentGroup`;
    contract.check("GET", url, 200, headers, body({ currentVersion: 0, items: [] }));
    expect(() => contract.check("GET", url, 200, headers, body({ currentVersion: "0", items: [] }))).toThrow(/does not match/);
    expect(() => contract.check("GET", url, 200, headers, body({ currentVersion: 0, items: [{ data: { id: "x" }, version: 1, lastChanged: "2025-01-01T00:00:00Z", isDeleted: false }] }))).toThrow(/does not match/);
    expect(() => contract.check("GET", url, 418, headers, body({ error: "teapot" }))).toThrow(/not documented/);
    expect(() => contract.check("GET", url, 200, new Headers({ "content-type": "text/html", ...labels }), body({ currentVersion: 0, items: [] }))).toThrow(/content-type/);
    expect(() => contract.check("GET", url, 200, new Headers({ "content-type": "application/json", etag: labels.etag }), body({ currentVersion: 0, items: [] }))).toThrow(/required header X-Nompd-Dataset is missing/);
    expect(() => contract.check("GET", url, 200, new Headers({ "content-type": "application/json", ...labels, "x-nompd-dataset": "d1" }), body({ currentVersion: 0, items: [] }))).toThrow(/header X-Nompd-Dataset/);
    expect(() => contract.check("GET", url, 401, new Headers({ "content-type": "application/json", ...labels }), body({ error: "Invalid or missing API key." }))).toThrow(/required header WWW-Authenticate is missing/);
  });
});
