/**
 * History that can be kept in bounds (--history-keep-versions), and change detection that ignores what
 * upstream rewrites without a change (meta.versionId, meta.lastUpdated).
 */
import { describe, expect, test } from "bun:test";
import { Store } from "../../src/store/db";
import { runSync } from "../../src/sync/run";
import { commitDocs, sqlite, withoutHistory } from "../support/db";
import { plan, smallDataset } from "../support/fhir";
import { startServer } from "../support/server";
import { datasetSource } from "../support/source";
import { tempDbPath, tempDir } from "../support/tmp";

const dir = tempDir();
const opts = { maxDeleteShare: 1, force: true, runId: null };
const docs = (...items: Array<[string, unknown]>) => items.map(([id, v]) => ({ id, json: JSON.stringify(v) }));

describe("--history-keep-versions", () => {
  // v1 a b c; v2 a changed, c deleted; v3 b changed; v4 a changed, d added; v5 b deleted.
  const steps: Array<Array<[string, unknown]>> = [
    [["a", 1], ["b", 1], ["c", 1]],
    [["a", 2], ["b", 1]],
    [["a", 2], ["b", 2]],
    [["a", 3], ["b", 2], ["d", 1]],
    [["a", 3], ["d", 1]],
  ];

  test("keeps the newest N versions: older history, deleted documents and run records go; what is kept stays exact", () => {
    const path = tempDbPath(dir);
    const store = Store.open(path);
    const db = sqlite(path);
    const run = db.query("INSERT INTO sync_run (trigger, started_at, status) VALUES ('cli', '2025-01-01T00:00:00Z', 'succeeded') RETURNING id");
    for (const step of steps) {
      const runId = (run.get() as { id: number }).id;
      commitDocs(store, { treatmentGroup: docs(...step) }, { ...opts, runId, keepVersions: 3 });
    }
    expect(store.currentVersion()).toBe(5);
    const state = store.state();
    expect(state.oldestVersion).toBe(3);
    expect(state.diffFloor).toBe(2);
    const d = store.documents;
    // c was deleted in version 2, before the kept window: gone entirely.
    expect(d.one("treatmentGroup", "c")).toBeNull();
    expect(d.history("treatmentGroup", "c")).toEqual([]);
    // a: the state at version 3 (its v2 row) and its change in v4 are kept; its v1 row is not.
    expect(d.history("treatmentGroup", "a").map((r) => [r.version, JSON.parse(r.content)])).toEqual([
      [4, 3],
      [2, 2],
    ]);
    // As of every kept version, the live list is exact.
    expect(d.asOf("treatmentGroup", 3).map((r) => [r.id, JSON.parse(r.content)])).toEqual([
      ["a", 2],
      ["b", 2],
    ]);
    expect(d.asOf("treatmentGroup", 4).map((r) => r.id)).toEqual(["a", "b", "d"]);
    // b, deleted in the kept window, is still a tombstone a diff can report.
    expect(d.since("treatmentGroup", 2).map((r) => [r.id, r.version, r.is_deleted])).toEqual([
      ["a", 4, 0],
      ["d", 4, 0],
      ["b", 5, 1],
    ]);
    const versions = db.query("SELECT version FROM dataset_version ORDER BY version").all() as Array<{ version: number }>;
    expect(versions.map((v) => v.version)).toEqual([3, 4, 5]);
    const runs = db.query("SELECT count(*) AS n FROM sync_run").get() as { n: number };
    expect(runs.n).toBe(3);
    expect(withoutHistory(path)).toEqual([]);
    store.close();
  });

  test("over HTTP: a diff from before the kept window, or asOfVersion before it, is 410 telling the client to start over", async () => {
    const path = tempDbPath(dir);
    const store = Store.open(path);
    const server = startServer(store);
    const key = store.keys.create("k", "read");
    const resources = (step: Array<[string, unknown]>) => docs(...step.map(([id, v]): [string, unknown] => [id, { resourceType: "PlanDefinition", v }]));
    for (const step of steps) commitDocs(store, { PlanDefinition: resources(step) }, { ...opts, keepVersions: 3 });
    const status = async (q: string) => {
      const res = await server.get(`/api/v1/fhir/PlanDefinition?${q}`, { "X-API-KEY": key });
      return [res.status, res.status === 410 ? ((await res.json()) as { error: string }).error : null];
    };
    expect((await status("sinceVersion=1"))[0]).toBe(410);
    expect(String((await status("sinceVersion=1"))[1])).toContain("Fetch everything again");
    expect((await status("sinceVersion=2"))[0]).toBe(200);
    expect((await status("sinceVersion=0"))[0]).toBe(200);
    expect((await status("asOfVersion=2"))[0]).toBe(410);
    expect((await status("asOfVersion=3"))[0]).toBe(200);
  });
});

describe("raw resources: meta.versionId and meta.lastUpdated alone are no change", () => {
  const dir2 = tempDir();
  const withMeta = (versionId: string, lastUpdated: string, name = "Gruppe 0") => {
    const data = smallDataset(1, 1);
    data.PlanDefinition = [{ ...plan("pd-000", name, { diseaseGroup: "MS" }), meta: { versionId, lastUpdated, source: "fest" } }];
    return data;
  };
  const sync = (store: Store, data: ReturnType<typeof smallDataset>) => runSync(store, datasetSource(dir2, data), { trigger: "import", force: false, maxDeleteShare: 0.5 });

  test("an upstream that rewrites only those makes no new version; a real change does", async () => {
    const store = Store.open(tempDbPath(dir2));
    expect((await sync(store, withMeta("1", "2025-01-01T00:00:00Z"))).run.version).toBe(1);
    const again = await sync(store, withMeta("7", "2026-11-27T02:00:00Z"));
    expect(again.run.status).toBe("no_changes");
    expect(again.run.counts.PlanDefinition).toMatchObject({ changed: 0, unchanged: 1 });
    const changed = await sync(store, withMeta("8", "2026-11-28T02:00:00Z", "Gruppe 0 endret"));
    expect(changed.run.version).toBe(2);
    expect(changed.run.counts.PlanDefinition).toMatchObject({ changed: 1 });
    // What is stored is the resource as it arrived, meta included, byte for byte.
    const delivered = withMeta("8", "2026-11-28T02:00:00Z", "Gruppe 0 endret").PlanDefinition[0];
    expect(store.documents.one("PlanDefinition", "pd-000")!.content).toBe(JSON.stringify(delivered));
    store.close();
  });

  test("a resource a sync staged from its content and the same staged from its text get the same hash", async () => {
    // A sync stages the content (Staging.putContent); the tests' commitDocs stage text (Staging.put).
    const store = Store.open(tempDbPath(dir2));
    expect((await sync(store, withMeta("9", "2026-12-01T00:00:00Z"))).run.version).toBe(1);
    const resource = withMeta("10", "2026-12-02T00:00:00Z").PlanDefinition[0];
    const result = commitDocs(store, { PlanDefinition: [{ id: "pd-000", json: JSON.stringify(resource) }] }, opts);
    expect(result.version).toBeNull();
    expect(result.counts.PlanDefinition).toMatchObject({ changed: 0, unchanged: 1 });
    store.close();
  });
});

describe("an answer is never built for a version the request did not check", () => {
  test("a diff whose window was pruned between the request's look and its snapshot answers 410, not a partial 200", async () => {
    const { Answers } = await import("../../src/api/answers");
    const path = tempDbPath(dir);
    const store = Store.open(path);
    const answers = new Answers(store, 1 << 24);
    const steps: Array<Array<[string, unknown]>> = [[["a", 1], ["c", 1]], [["a", 2]], [["a", 3]], [["a", 4]]];
    const resources = (step: Array<[string, unknown]>) => docs(...step.map(([id, v]): [string, unknown] => [id, { resourceType: "PlanDefinition", v }]));
    commitDocs(store, { PlanDefinition: resources(steps[0]!) }, opts);
    commitDocs(store, { PlanDefinition: resources(steps[1]!) }, opts);
    const stale = store.state(); // version 2: a diff from 1 is complete here
    // Another connection (the sync thread) commits and prunes meanwhile.
    const writer = Store.open(path);
    commitDocs(writer, { PlanDefinition: resources(steps[2]!) }, { ...opts, keepVersions: 1 });
    commitDocs(writer, { PlanDefinition: resources(steps[3]!) }, { ...opts, keepVersions: 1 });
    expect(() => answers.since("PlanDefinition", 1, stale)).toThrow(/older than the changes this server still keeps/);
    expect(() => answers.asOf("PlanDefinition", 2, stale)).toThrow(/older than the oldest version/);
    writer.close();
    store.close();
  });
});
