import { beforeAll, describe, expect, test } from "bun:test";
import { Store } from "../../src/store/db";
import { runSync } from "../../src/sync/run";
import { activity, authorization, plan, type Dataset } from "../support/fhir";
import { startServer } from "../support/server";
import { datasetSource } from "../support/source";
import { tempDbPath, tempDir } from "../support/tmp";

/**
 * Lookups, filters, history, point in time and raw FHIR over a dataset with four versions:
 *   v1: groups A (MS, Nord), B (Revmatologi, Vest+Nord), C (HIV, Sør-Øst); reimbursements R1, R2
 *   v2: A changed (new rank order), C deleted, D added (MS, Midt)
 *   v3: C revived, R2 deleted
 *   v4: B changed, R2 revived (force not needed: one of three)
 */
const dir = tempDir();
const store = Store.open(tempDbPath(dir));
const server = startServer(store);
let key = "";

const ads = [activity("ad-tysabri", "Natalizumab (Tysabri)", ["166028"]), activity("ad-ocrevus", "Okrelizumab (Ocrevus)", ["119488"]), activity("ad-humira", "Adalimumab (Humira)", ["105290", "105291"]), activity("ad-biktarvy", "Biktarvy", ["499911"])];
const A = (actions = ["ad-tysabri", "ad-ocrevus"]) => plan("A", "MS høyaktiv", { diseaseGroup: "MS", rhf: ["100022"], icd: ["G35"], actions });
const B = (name = "TNF-hemmere") => plan("B", name, { diseaseGroup: "Revmatologi", rhf: ["100021", "100022"], icd: ["M05", "M45"], actions: ["ad-humira"] });
const C = () => plan("C", "HIV oppstart", { diseaseGroup: "HIV", rhf: ["100020"], icd: ["B20"], actions: ["ad-biktarvy"] });
const D = () => plan("D", "MS lavaktiv", { diseaseGroup: "ms", rhf: ["100023"], icd: ["G35"], actions: ["ad-ocrevus"] });
const R1 = () => authorization("R1", ["G35"], ["166028", "119488"]);
const R2 = () => authorization("R2", ["M05"], ["105290"]);
const R3 = () => authorization("R3", ["B20"], ["499911"]);
const versions: Dataset[] = [
  { PlanDefinition: [A(), B(), C()], ActivityDefinition: ads, RegulatedAuthorization: [R1(), R2(), R3()] },
  { PlanDefinition: [A(["ad-ocrevus", "ad-tysabri"]), B(), D()], ActivityDefinition: ads, RegulatedAuthorization: [R1(), R2(), R3()] },
  { PlanDefinition: [A(["ad-ocrevus", "ad-tysabri"]), B(), C(), D()], ActivityDefinition: ads, RegulatedAuthorization: [R1(), R3()] },
  { PlanDefinition: [A(["ad-ocrevus", "ad-tysabri"]), B("TNF-hemmere 2026"), C(), D()], ActivityDefinition: ads, RegulatedAuthorization: [R1(), R2(), R3()] },
];

beforeAll(async () => {
  key = store.keys.create("app", "read");
  for (const [i, data] of versions.entries()) {
    const { run } = await runSync(store, datasetSource(dir, data), { trigger: "import", force: false, maxDeleteShare: 0.5 });
    expect(run.version).toBe(i + 1);
  }
});

const get = async (path: string) => {
  const res = await server.get(path, { "X-API-KEY": key });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
};
const ids = (b: any) => b.items.map((i: any) => i.data.id);

describe("one item by id", () => {
  test("a live item: 200 with one VersionedItem", async () => {
    const r = await get("/api/v1/treatmentGroup/A");
    expect(r.status).toBe(200);
    expect(Object.keys(r.body)).toEqual(["data", "version", "lastChanged", "isDeleted"]);
    expect(r.body).toMatchObject({ version: 2, isDeleted: false, data: { id: "A", name: "MS høyaktiv" } });
    expect(r.body.data.treatmentAlternatives.map((a: any) => a.treatmentId)).toEqual(["ad-ocrevus", "ad-tysabri"]);
    expect(r.headers.get("x-nompd-dataset")).toBe(store.datasetId);
  });

  test("an unknown id: 404; a deleted one: 410 with its last VersionedItem", async () => {
    const unknown = await get("/api/v1/reimbursementGroup/nope");
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toContain('"nope"');
    const revived = await get("/api/v1/reimbursementGroup/R2");
    expect(revived.status).toBe(200);
    expect(revived.body.version).toBe(4);
    // Delete R3 for good in a fifth version, then look it up.
    const v5 = structuredClone(versions[3]!);
    v5.RegulatedAuthorization = [R1(), R2()];
    await runSync(store, datasetSource(dir, v5), { trigger: "import", force: false, maxDeleteShare: 0.5 });
    const gone = await get("/api/v1/reimbursementGroup/R3");
    expect(gone.status).toBe(410);
    expect(gone.body).toMatchObject({ version: 5, isDeleted: true, data: { id: "R3" } });
    expect(gone.body.data.medicines[0].identifier.value).toBe("499911");
    // Put it back so the other tests see version 4's data plus R3 again (version 6).
    await runSync(store, datasetSource(dir, versions[3]!), { trigger: "import", force: false, maxDeleteShare: 0.5 });
  });
});

describe("one item: the same HTTP manners as the lists", () => {
  test("ETag and 304, gzip when accepted, unknown parameters 400, a broken path 400 (after the key check)", async () => {
    const first = await server.get("/api/v1/treatmentGroup/A", { "X-API-KEY": key });
    const etag = first.headers.get("etag")!;
    expect(etag).toMatch(/^W\//);
    expect((await server.get("/api/v1/treatmentGroup/A", { "X-API-KEY": key, "If-None-Match": etag })).status).toBe(304);
    // Bodies under 1 KiB are sent as they are: the headers would outweigh the saving.
    const gz = await server.get("/api/v1/treatmentGroup/A", { "X-API-KEY": key, "Accept-Encoding": "gzip" });
    expect(gz.headers.get("vary")).toBe("Accept-Encoding");
    expect((await gz.arrayBuffer()).byteLength).toBeLessThan(1024);
    expect(gz.headers.get("content-encoding")).toBeNull();
    expect((await get("/api/v1/treatmentGroup/A?sinceVersion=1")).status).toBe(400);
    expect((await get("/api/v1/treatmentGroup/A/history?x=1")).status).toBe(400);
    const broken = await get("/api/v1/treatmentGroup/%");
    expect(broken.status).toBe(400);
    expect(broken.body.error).toContain("percent-encoding");
    expect((await server.get("/api/v1/treatmentGroup/%")).status).toBe(401);
    expect((await get(`/api/v1/treatmentGroup/${encodeURIComponent("a/b ø")}`)).status).toBe(404);
  });
});

describe("history", () => {
  test("every version of an item, newest first, deletions and revivals included", async () => {
    const c = await get("/api/v1/treatmentGroup/C/history");
    expect(c.status).toBe(200);
    expect(c.body.currentVersion).toBe(store.currentVersion());
    expect(c.body.items.map((i: any) => [i.version, i.isDeleted])).toEqual([
      [3, false],
      [2, true],
      [1, false],
    ]);
    const b = await get("/api/v1/treatmentGroup/B/history");
    expect(b.body.items.map((i: any) => [i.version, i.data.name])).toEqual([
      [4, "TNF-hemmere 2026"],
      [1, "TNF-hemmere"],
    ]);
    expect((await get("/api/v1/treatmentGroup/nope/history")).status).toBe(404);
  });
});

describe("asOfVersion", () => {
  test("the live items as they stood at a version: 0, each middle one, current", async () => {
    expect((await get("/api/v1/treatmentGroup?asOfVersion=0")).body.items).toEqual([]);
    const v1 = (await get("/api/v1/treatmentGroup?asOfVersion=1")).body;
    expect(ids(v1)).toEqual(["A", "B", "C"]);
    expect(v1.items[0].data.treatmentAlternatives[0].treatmentId).toBe("ad-tysabri");
    expect(ids((await get("/api/v1/treatmentGroup?asOfVersion=2")).body)).toEqual(["A", "B", "D"]);
    expect(ids((await get("/api/v1/treatmentGroup?asOfVersion=3")).body)).toEqual(["A", "B", "C", "D"]);
    expect(ids((await get("/api/v1/reimbursementGroup?asOfVersion=3")).body)).toEqual(["R1", "R3"]);
    const current = store.currentVersion();
    const asOfNow = await get(`/api/v1/treatmentGroup?asOfVersion=${current}`);
    expect(asOfNow.body).toEqual((await get("/api/v1/treatmentGroup")).body);
  });

  test("greater than the current version, or malformed: 400", async () => {
    const r = await get(`/api/v1/treatmentGroup?asOfVersion=${store.currentVersion() + 1}`);
    expect(r.status).toBe(400);
    expect(r.body.error).toContain("greater than the currentVersion");
    expect((await get("/api/v1/treatmentGroup?asOfVersion=-2")).status).toBe(400);
    expect((await get("/api/v1/treatmentGroup?asOfVersion=1&sinceVersion=0")).status).toBe(400);
  });
});

describe("filters", () => {
  test("each filter alone", async () => {
    expect(ids((await get("/api/v1/treatmentGroup?diseaseGroup=MS")).body)).toEqual(["A", "D"]); // case-insensitive
    expect(ids((await get("/api/v1/treatmentGroup?jurisdiction=100022")).body)).toEqual(["A", "B"]);
    expect(ids((await get("/api/v1/treatmentGroup?indication=G35")).body)).toEqual(["A", "D"]);
    expect(ids((await get("/api/v1/treatmentGroup?varenummer=105291")).body)).toEqual(["B"]);
    expect(ids((await get("/api/v1/reimbursementGroup?varenummer=166028")).body)).toEqual(["R1"]);
    expect(ids((await get("/api/v1/reimbursementGroup?indication=B20")).body)).toEqual(["R3"]);
  });

  test("indication as code and as system|code", async () => {
    const system = encodeURIComponent("urn:oid:2.16.578.1.12.4.1.1.7110|M45");
    expect(ids((await get(`/api/v1/treatmentGroup?indication=${system}`)).body)).toEqual(["B"]);
    expect(ids((await get(`/api/v1/treatmentGroup?indication=${encodeURIComponent("urn:other|M45")}`)).body)).toEqual([]);
  });

  test("several combine with AND; a filter that matches nothing gives an empty list", async () => {
    expect(ids((await get("/api/v1/treatmentGroup?diseaseGroup=MS&jurisdiction=100022")).body)).toEqual(["A"]);
    const none = await get("/api/v1/treatmentGroup?diseaseGroup=MS&varenummer=499911");
    expect(none.status).toBe(200);
    expect(none.body).toEqual({ currentVersion: store.currentVersion(), items: [] });
    expect((await get("/api/v1/treatmentGroup?diseaseGroup=Onkologi")).body.items).toEqual([]);
  });

  test("filters with sinceVersion, empty filters, filters of the other collection, unknown parameters: 400", async () => {
    const withSince = await get("/api/v1/treatmentGroup?sinceVersion=1&diseaseGroup=MS");
    expect(withSince.status).toBe(400);
    expect(withSince.body.error).toContain("cannot be combined");
    expect((await get("/api/v1/treatmentGroup?diseaseGroup=")).status).toBe(400);
    const wrong = await get("/api/v1/reimbursementGroup?diseaseGroup=MS");
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toContain("Allowed here: sinceVersion, asOfVersion, wait, indication, varenummer");
    expect((await get("/api/v1/treatmentGroup?sinceversion=1")).status).toBe(400);
    expect((await get("/api/v1/treatmentGroup?varenummer=1&varenummer=2")).status).toBe(400);
  });
});

describe("raw FHIR", () => {
  test("the upstream resources as sent, in the same envelope, with sinceVersion", async () => {
    const all = await get("/api/v1/fhir/PlanDefinition");
    expect(all.status).toBe(200);
    expect(ids({ items: all.body.items.map((i: any) => ({ data: { id: i.data.identifier[0].value } })) })).toEqual(["A", "B", "C", "D"]);
    expect(all.body.items[0].data).toEqual(A(["ad-ocrevus", "ad-tysabri"]));
    const diff = await get("/api/v1/fhir/PlanDefinition?sinceVersion=3");
    expect(diff.body.items.map((i: any) => [i.data.identifier[0].value, i.version])).toEqual([["B", 4]]);
    const ra = await get("/api/v1/fhir/RegulatedAuthorization?sinceVersion=0");
    expect(ra.body.items.every((i: any) => i.data.resourceType === "RegulatedAuthorization")).toBe(true);
    expect((await get("/api/v1/fhir/ActivityDefinition")).body.items).toHaveLength(4);
    const unknown = await get("/api/v1/fhir/Patient");
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toContain("PlanDefinition, ActivityDefinition, RegulatedAuthorization");
    expect((await get("/api/v1/fhir/PlanDefinition?diseaseGroup=MS")).status).toBe(400);
    expect((await server.get("/api/v1/fhir/PlanDefinition")).status).toBe(401);
  });
});

describe("OpenAPI", () => {
  test("lists every new route and parameter", async () => {
    const doc = JSON.parse(await (await server.get("/swagger/json")).text());
    const params = (path: string) => doc.paths[path].get.parameters.map((p: any) => p.name).sort();
    expect(params("/api/v1/treatmentGroup")).toEqual(["asOfVersion", "diseaseGroup", "indication", "jurisdiction", "sinceVersion", "varenummer", "wait"]);
    expect(params("/api/v1/reimbursementGroup")).toEqual(["asOfVersion", "indication", "sinceVersion", "varenummer", "wait"]);
    for (const path of ["/api/v1/treatmentGroup/{id}", "/api/v1/reimbursementGroup/{id}"]) {
      expect(Object.keys(doc.paths[path].get.responses)).toEqual(expect.arrayContaining(["200", "404", "410"]));
    }
    for (const path of ["/api/v1/treatmentGroup/{id}/history", "/api/v1/reimbursementGroup/{id}/history", "/api/v1/fhir/PlanDefinition", "/api/v1/fhir/ActivityDefinition", "/api/v1/fhir/RegulatedAuthorization"]) {
      expect(doc.paths[path]?.get).toBeDefined();
    }
    expect(doc.paths["/api/v1/fhir/{type}"]).toBeUndefined();
  });
});

describe("filtered answers are remade when the data changes", () => {
  test("a filtered list reflects the next sync; the same filter twice answers the same ETag", async () => {
    const first = await get("/api/v1/treatmentGroup?diseaseGroup=HIV");
    expect(ids(first.body)).toEqual(["C"]);
    expect((await get("/api/v1/treatmentGroup?diseaseGroup=HIV")).headers.get("etag")).toBe(first.headers.get("etag"));
    const next = structuredClone(versions[3]!);
    next.PlanDefinition.push(plan("E", "HIV bytte", { diseaseGroup: "HIV", rhf: ["100020"], icd: ["B20"], actions: ["ad-biktarvy"] }));
    await runSync(store, datasetSource(dir, next), { trigger: "import", force: false, maxDeleteShare: 0.5 });
    const after = await get("/api/v1/treatmentGroup?diseaseGroup=HIV");
    expect(ids(after.body)).toEqual(["C", "E"]);
    expect(after.headers.get("etag")).not.toBe(first.headers.get("etag"));
    await runSync(store, datasetSource(dir, versions[3]!), { trigger: "import", force: false, maxDeleteShare: 0.5 });
    expect(ids((await get("/api/v1/treatmentGroup?diseaseGroup=HIV")).body)).toEqual(["C"]);
  });
  test("a large item is compressed when the client accepts it", async () => {
    const big = structuredClone(versions[3]!);
    const many = Array.from({ length: 40 }, (_, i) => activity(`ad-big-${i}`, `Legemiddel med et langt navn nummer ${i}`, [String(700000 + i)]));
    big.ActivityDefinition.push(...many);
    big.PlanDefinition.push(plan("Z", "Stor gruppe", { diseaseGroup: "Onkologi", rhf: ["100020"], icd: ["C34"], actions: many.map((a) => a.identifier[0]!.value) }));
    await runSync(store, datasetSource(dir, big), { trigger: "import", force: false, maxDeleteShare: 0.5 });
    const gz = await server.get("/api/v1/treatmentGroup/Z", { "X-API-KEY": key, "Accept-Encoding": "gzip" });
    expect(gz.headers.get("content-encoding")).toBe("gzip");
    expect(JSON.parse(new TextDecoder().decode(Bun.gunzipSync(new Uint8Array(await gz.arrayBuffer())))).data.treatmentAlternatives).toHaveLength(40);
    await runSync(store, datasetSource(dir, versions[3]!), { trigger: "import", force: false, maxDeleteShare: 0.5 });
  });
});
