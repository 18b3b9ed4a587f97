import { beforeAll, describe, expect, test } from "bun:test";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { COMPRESS_OFF_THREAD_BYTES, improvements } from "../../src/api/http";
import { Store } from "../../src/store/db";
import { runSync } from "../../src/sync/run";
import { smallDataset } from "../support/fhir";
import { sqlite } from "../support/db";
import { startServer } from "../support/server";
import { datasetSource } from "../support/source";
import { tempDbPath, tempDir } from "../support/tmp";

/**
 * Every read answers a document with the text it is stored as, byte for byte, inside the versioned item
 * (the items are made by SQLite from the stored text, src/store/documents.ts): letters beyond ASCII,
 * characters beyond the Basic Multilingual Plane, and JSON escapes come out as they went in.
 */
const dir = tempDir();
const dbPath = tempDbPath(dir);
const store = Store.open(dbPath);
const server = startServer(store);
let key = "";

const NAME = 'Sør-Øst: «æøå» \u{1F48A} "sitat" \\ \u2028 \u0007 end';
// 600 reimbursement groups: a list large enough to be compressed off the thread (see the last test).
const v1 = smallDataset(3, 600);
(v1.PlanDefinition[1] as { name: string }).name = NAME;
// v2 deletes group 002, so that the diff and the history carry a deleted item too.
const v2 = smallDataset(3, 600);
(v2.PlanDefinition[1] as { name: string }).name = NAME;
v2.PlanDefinition.splice(2, 1);

beforeAll(async () => {
  key = store.keys.create("reader", "read");
  for (const dataset of [v1, v2]) await runSync(store, datasetSource(dir, dataset), { trigger: "import", force: true, maxDeleteShare: 1 });
  expect(store.currentVersion()).toBe(2);
});

/** The stored text of a treatment group's version. */
function stored(id: string, version: number): string {
  const row = sqlite(dbPath).query("SELECT content FROM document_history WHERE collection = 'treatmentGroup' AND id = ? AND version = ?").get(id, version) as { content: string } | null;
  expect(row).not.toBeNull();
  return row!.content;
}

/** The versioned item as the API must write it, from the stored row. */
function item(id: string, version: number): string {
  const row = sqlite(dbPath).query("SELECT version, last_changed, is_deleted FROM document_history WHERE collection = 'treatmentGroup' AND id = ? AND version = ?").get(id, version) as {
    version: number;
    last_changed: string;
    is_deleted: number;
  };
  return `{"data":${stored(id, version)},"version":${row.version},"lastChanged":"${row.last_changed}","isDeleted":${row.is_deleted ? "true" : "false"}}`;
}

describe("versioned items", () => {
  test("the list, a filtered list, the diffs, a past version, an item and its history hold the stored text unchanged", async () => {
    const envelope = (version: number, items: string[]) => `{"currentVersion":${version},"items":[${items.join(",")}]}`;
    const lastVersion = (id: string) => (sqlite(dbPath).query("SELECT version FROM document WHERE collection = 'treatmentGroup' AND id = ?").get(id) as { version: number }).version;
    const live = ["pd-000", "pd-001"].map((id) => item(id, lastVersion(id)));
    const cases: Array<[string, string]> = [
      ["/api/v1/treatmentGroup", envelope(2, live)],
      ["/api/v1/treatmentGroup?diseaseGroup=MS", envelope(2, [item("pd-001", lastVersion("pd-001"))])],
      ["/api/v1/treatmentGroup?sinceVersion=1", envelope(2, [item("pd-002", 2)])],
      ["/api/v1/treatmentGroup?asOfVersion=1", envelope(2, ["pd-000", "pd-001", "pd-002"].map((id) => item(id, 1)))],
      ["/api/v1/treatmentGroup/pd-001", item("pd-001", lastVersion("pd-001"))],
      ["/api/v1/treatmentGroup/pd-002/history", envelope(2, [item("pd-002", 2), item("pd-002", 1)])],
    ];
    for (const [path, expected] of cases) {
      const res = await server.get(path, { "X-API-KEY": key });
      expect(res.status).toBe(200);
      const bytes = new Uint8Array(await res.arrayBuffer());
      expect(new TextDecoder().decode(bytes)).toBe(expected);
      expect(bytes).toEqual(new TextEncoder().encode(expected));
    }
    expect(stored("pd-001", 1)).toContain(JSON.stringify(NAME));
    const named = JSON.parse(item("pd-001", 1)) as { data: { name: string } };
    expect(named.data.name).toBe(NAME);
  });

  test("a deleted item is answered with 410 and its last content, marked deleted", async () => {
    const res = await server.get("/api/v1/treatmentGroup/pd-002", { "X-API-KEY": key });
    expect(res.status).toBe(410);
    expect(await res.text()).toBe(item("pd-002", 2));
    expect(item("pd-002", 2)).toContain('"isDeleted":true}');
  });
});

describe("a list large enough to be compressed off the thread", () => {
  test("concurrent first requests in each encoding, and those while the best form is made, all decode to the list; HEAD and 304 answer too", async () => {
    const path = "/api/v1/reimbursementGroup";
    const plain = new Uint8Array(await (await server.get(path, { "X-API-KEY": key })).arrayBuffer());
    expect(plain.length).toBeGreaterThanOrEqual(COMPRESS_OFF_THREAD_BYTES);
    for (const [encoding, decode] of [
      ["br", brotliDecompressSync],
      ["gzip", gunzipSync],
    ] as const) {
      // Several first requests at once, then more while the best form is made in the background.
      const answers = [
        ...(await Promise.all(Array.from({ length: 4 }, () => server.get(path, { "X-API-KEY": key, "Accept-Encoding": encoding })))),
        ...(await Promise.all(Array.from({ length: 4 }, () => server.get(path, { "X-API-KEY": key, "Accept-Encoding": encoding })))),
      ];
      for (const res of answers) {
        expect([res.status, res.headers.get("content-encoding")]).toEqual([200, encoding]);
        expect(new Uint8Array(decode(new Uint8Array(await res.arrayBuffer())))).toEqual(plain);
      }
    }
    const head = await server.request(path, { method: "HEAD", headers: { "X-API-KEY": key, "Accept-Encoding": "br" } });
    expect([head.status, head.headers.get("content-encoding"), (await head.arrayBuffer()).byteLength]).toEqual([200, "br", 0]);
    const etag = (await server.get(path, { "X-API-KEY": key })).headers.get("etag")!;
    const revalidated = await server.get(path, { "X-API-KEY": key, "Accept-Encoding": "br", "If-None-Match": etag });
    expect([revalidated.status, revalidated.headers.get("etag"), revalidated.headers.get("content-encoding")]).toEqual([304, etag, null]);
    await improvements();
  });
});
