import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GuardError, StoreError } from "../../src/errors";
import { OTHERS_RECHECK_MS, Store } from "../../src/store/db";
import { MIGRATIONS, SCHEMA_VERSION } from "../../src/store/migrations";
import { documentHash } from "../../src/store/staging";
import { commitDocs as commitDataset, sqlite, withoutHistory } from "../support/db";
import { tempDbPath, tempDir } from "../support/tmp";

const dir = tempDir();
const opts = { maxDeleteShare: 0.5, force: false, runId: null };
const docs = (...items: Array<[string, unknown]>) => items.map(([id, v]) => ({ id, json: JSON.stringify(v) }));
const empty = { PlanDefinition: [], ActivityDefinition: [], RegulatedAuthorization: [], treatmentGroup: [], reimbursementGroup: [] };

describe("opening", () => {
  test("a new file gets the schema, WAL mode, version 0 and a dataset id that survives reopening", () => {
    const path = tempDbPath(dir);
    const store = Store.open(path);
    expect(store.currentVersion()).toBe(0);
    expect(store.datasetId).toMatch(/^[0-9a-f-]{36}$/);
    const db = sqlite(path);
    expect((db.query("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode).toBe("wal");
    // 32 KiB pages for a new file (docs/PERFORMANCE.md); a file made before keeps its own (below).
    expect(db.query("PRAGMA page_size").get()).toEqual({ page_size: 32_768 });
    expect((db.query("PRAGMA user_version").get() as { user_version: number }).user_version).toBe(SCHEMA_VERSION);
    // A commit is on disk when it returns (synchronous FULL, 2); the setting is the connection's own, so
    // it is asked of the store's.
    const own = (store as unknown as { db: Database }).db;
    expect(own.query("PRAGMA synchronous").get()).toEqual({ synchronous: 2 });
    // Noting the keys' last use (on the thread that answers requests) waits for no disk, and leaves it so.
    store.keys.create("k", "read");
    store.keys.markUsed([store.keys.active()[0]!.id], "2026-01-01T00:00:00Z");
    expect(store.keys.list()[0]!.lastUsedAt).toBe("2026-01-01T00:00:00Z");
    expect(own.query("PRAGMA synchronous").get()).toEqual({ synchronous: 2 });
    const id = store.datasetId;
    store.close();
    const again = Store.open(path);
    expect(again.datasetId).toBe(id);
    again.close();
  });

  test("a backup put in place is a new dataset id from its first opening to be written; each copy its own; a replica's keeps its primary's", () => {
    const source = Store.open(tempDbPath(dir));
    commitDataset(source, { ...empty, treatmentGroup: docs(["a", { v: 1 }]) }, opts);
    const backup = tempDbPath(dir);
    source.backupTo(backup);
    // Two restores of the same backup, each a copy of the file put in place of a database.
    const ids = [1, 2].map(() => {
      const restored = tempDbPath(dir);
      writeFileSync(restored, readFileSync(backup));
      const store = Store.open(restored);
      const id = store.datasetId;
      expect(store.currentVersion()).toBe(1);
      expect(store.documents.live("treatmentGroup").map((r) => r.id)).toEqual(["a"]);
      store.close();
      const again = Store.open(restored);
      expect(again.datasetId).toBe(id); // once: opened again, it keeps its new id
      again.close();
      return id;
    });
    // Read only (status, backup), a backup is left as it is: with the id of its own it got when made.
    const read = Store.open(backup, { readOnly: true });
    const backupId = read.datasetId;
    read.close();
    expect(new Set([source.datasetId, backupId, ...ids]).size).toBe(4);
    // A file that is there already is never written over, even one that appeared after a caller looked.
    const there = tempDbPath(dir);
    writeFileSync(there, "not a backup");
    expect(() => source.backupTo(there)).toThrow(`${there} exists already. Choose a new file name; a backup never overwrites.`);
    expect(readFileSync(there, "utf8")).toBe("not a backup");
    source.close();

    const replica = Store.open(tempDbPath(dir));
    replica.replica.follow("http://primary.example:8080");
    const primaryId = replica.datasetId;
    const replicaBackup = tempDbPath(dir);
    replica.backupTo(replicaBackup);
    replica.close();
    const restoredReplica = Store.open(replicaBackup);
    expect(restoredReplica.datasetId).toBe(primaryId);
    restoredReplica.close();
  });

  test("a file of an older schema is migrated step by step, its data kept", () => {
    const path = tempDbPath(dir);
    const old = new Database(path);
    old.exec("PRAGMA application_id = 1313819984"); // "NOMP"
    old.exec(MIGRATIONS[0] as string);
    old.exec("PRAGMA user_version = 1");
    old.exec("INSERT INTO meta (key, value) VALUES ('dataset_id', 'old-dataset'), ('version', '1')");
    old.exec(`INSERT INTO document (collection, id, version, last_changed, is_deleted, hash, content) VALUES ('treatmentGroup', 'a', 1, '2025-01-01T00:00:00Z', 0, 'h', '{"id":"a"}')`);
    old.exec(`INSERT INTO api_key (name, scope, hash, created_at, revoked_at) VALUES ('old', 'read', 'ab', '2025-01-01T00:00:00Z', '2025-02-01T00:00:00Z')`);
    old.close();
    const store = Store.open(path);
    const db = sqlite(path);
    expect((db.query("PRAGMA user_version").get() as { user_version: number }).user_version).toBe(SCHEMA_VERSION);
    expect(store.datasetId).toBe("old-dataset");
    expect(store.currentVersion()).toBe(1);
    expect(store.documents.live("treatmentGroup").map((r) => r.content)).toEqual(['{"id":"a"}']);
    const lockColumns = (db.query("PRAGMA table_info(sync_lock)").all() as Array<{ name: string }>).map((c) => c.name);
    expect(lockColumns).toEqual(expect.arrayContaining(["process_start", "renewed_at", "token", "pid_ns"]));
    // Keys keep their records (a revoked one stays revoked), and gain their last use.
    expect(store.keys.list()).toEqual([{ name: "old", scope: "read", createdAt: "2025-01-01T00:00:00Z", revokedAt: "2025-02-01T00:00:00Z", lastUsedAt: null }]);
    store.close();
  });

  test("from schema 5: raw resources whose meta holds versionId or lastUpdated get the hash a sync now computes; nothing else changes", () => {
    const path = tempDbPath(dir);
    const old = new Database(path);
    old.exec("PRAGMA application_id = 1313819984"); // "NOMP"
    for (const step of MIGRATIONS.slice(0, 5)) old.exec(step as string);
    old.exec("PRAGMA user_version = 5");
    old.exec("INSERT INTO meta (key, value) VALUES ('dataset_id', 'old-dataset'), ('version', '1')");
    const sha = (text: string) => new Bun.CryptoHasher("sha256").update(text).digest("hex");
    const rows: Array<[string, string, string]> = [
      ["PlanDefinition", "with-meta", JSON.stringify({ resourceType: "PlanDefinition", meta: { versionId: "7", lastUpdated: "2025-01-01T00:00:00Z", source: "fest" } })],
      ["PlanDefinition", "without-meta", JSON.stringify({ resourceType: "PlanDefinition", name: "a" })],
      ["ActivityDefinition", "meta-without-versions", JSON.stringify({ resourceType: "ActivityDefinition", meta: { source: "fest" } })],
      ["treatmentGroup", "model", JSON.stringify({ id: "model", meta: { versionId: "7" } })],
    ];
    const insert = old.query("INSERT INTO document (collection, id, version, last_changed, is_deleted, hash, content) VALUES (?, ?, 1, '2025-01-01T00:00:00Z', 0, ?, ?)");
    for (const [collection, id, content] of rows) insert.run(collection, id, sha(content), content);
    old.close();
    Store.open(path).close();
    const hashes = new Map((sqlite(path).query("SELECT id, hash FROM document").all() as Array<{ id: string; hash: string }>).map((r) => [r.id, r.hash]));
    const withMeta = JSON.parse(rows[0]![2]);
    expect(hashes.get("with-meta")).toBe(sha(JSON.stringify({ ...withMeta, meta: { source: "fest" } })));
    expect(hashes.get("with-meta")).toBe(documentHash("PlanDefinition", rows[0]![2]));
    for (const [, id, content] of rows.slice(1)) expect([id, hashes.get(id)]).toEqual([id, sha(content)]);
  });

  test("from schema 6: content moves to the history rows alone; every answer reads as before, and a current version without its history row gets one", () => {
    const path = tempDbPath(dir);
    const old = new Database(path);
    old.exec("PRAGMA application_id = 1313819984"); // "NOMP"
    for (const step of MIGRATIONS.slice(0, 6)) typeof step === "string" ? old.exec(step) : step(old);
    old.exec("PRAGMA user_version = 6");
    old.exec("INSERT INTO meta (key, value) VALUES ('dataset_id', 'old-dataset'), ('version', '3')");
    const row = (id: string, version: number, deleted: number, content: string) => [id, version, `2025-01-0${version}T00:00:00Z`, deleted, documentHash("treatmentGroup", content), content] as const;
    // a: added in 1, changed in 2. b: added in 1, deleted in 3 (the tombstone keeps its content).
    // c: a current version whose history row is missing (as in a file written before history rows).
    // d: a current history row with the hash of before migration 6, which re-hashed only the documents.
    const history = [row("a", 1, 0, '{"v":1}'), row("a", 2, 0, '{"v":2}'), row("b", 1, 0, '{"b":1}'), row("b", 3, 1, '{"b":1}'), [...row("d", 1, 0, '{"d":1}').slice(0, 4), "old-hash", '{"d":1}'] as const];
    const documents = [row("a", 2, 0, '{"v":2}'), row("b", 3, 1, '{"b":1}'), row("c", 1, 0, '{"c":1}'), row("d", 1, 0, '{"d":1}')];
    const insert = (table: string) =>
      old.query(`INSERT INTO ${table} (collection, id, version, last_changed, is_deleted, hash, content) VALUES ('treatmentGroup', ?, ?, ?, ?, ?, ?)`);
    for (const r of history) insert("document_history").run(...r);
    for (const r of documents) insert("document").run(...r);
    old.close();

    const store = Store.open(path);
    const d = store.documents;
    const shown = (rows: Array<{ id: string; version: number; last_changed: string; is_deleted: number; content: string }>) =>
      rows.map((r) => [r.id, r.version, r.last_changed, r.is_deleted, r.content]);
    expect(shown(d.live("treatmentGroup"))).toEqual([row("a", 2, 0, '{"v":2}'), row("c", 1, 0, '{"c":1}'), row("d", 1, 0, '{"d":1}')].map(([id, v, t, del, , c]) => [id, v, t, del, c]));
    expect(shown(d.since("treatmentGroup", 1))).toEqual([
      ["a", 2, "2025-01-02T00:00:00Z", 0, '{"v":2}'],
      ["b", 3, "2025-01-03T00:00:00Z", 1, '{"b":1}'],
    ]);
    expect(shown([d.one("treatmentGroup", "b")!])).toEqual([["b", 3, "2025-01-03T00:00:00Z", 1, '{"b":1}']]);
    expect(d.history("treatmentGroup", "a").map((r) => [r.version, r.content])).toEqual([
      [2, '{"v":2}'],
      [1, '{"v":1}'],
    ]);
    expect(d.history("treatmentGroup", "c").map((r) => [r.version, r.content])).toEqual([[1, '{"c":1}']]);
    expect(d.asOf("treatmentGroup", 1).map((r) => [r.id, r.content])).toEqual([
      ["a", '{"v":1}'],
      ["b", '{"b":1}'],
      ["c", '{"c":1}'],
      ["d", '{"d":1}'],
    ]);
    const db = sqlite(path);
    const columns = (db.query("PRAGMA table_info(document)").all() as Array<{ name: string }>).map((c) => c.name);
    expect(columns).toEqual(["collection", "id", "version", "last_changed", "is_deleted", "hash"]);
    const indexes = (db.query("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'document' AND sql IS NOT NULL").all() as Array<{ name: string }>).map((i) => i.name);
    expect(indexes).toEqual(["document_by_version"]);
    expect(withoutHistory(path)).toEqual([]);
    expect(db.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
    expect(db.query("PRAGMA page_size").get()).toEqual({ page_size: 4096 });
    // A sync after the upgrade compares with the hashes kept, and deletes from the moved content.
    const next = commitDataset(store, { treatmentGroup: [{ id: "a", json: '{"v":2}' }, { id: "d", json: '{"d":1}' }] }, opts);
    expect(next).toMatchObject({ version: 4, counts: { treatmentGroup: { unchanged: 2, changed: 0, deleted: 1 } } });
    expect(shown(d.since("treatmentGroup", 3))).toEqual([["c", 4, next.lastChanged, 1, '{"c":1}']]);
    expect(withoutHistory(path)).toEqual([]);
    store.close();
  });

  test("a file from a newer nompd is refused with a clear message", () => {
    const path = tempDbPath(dir);
    Store.open(path).close();
    const raw = new Database(path);
    raw.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    expect(() => Store.open(path)).toThrow(StoreError);
    expect(() => Store.open(path)).toThrow(/newer nompd/);
  });

  test("a file that is not SQLite, or SQLite of another program, is refused", () => {
    const junk = join(dir, "junk.db");
    writeFileSync(junk, "this is not a database, just text that is long enough to fill a header".repeat(20));
    expect(() => Store.open(junk)).toThrow(StoreError);
    const other = join(dir, "other.db");
    const db = new Database(other);
    db.exec("CREATE TABLE t (x)");
    db.close();
    expect(() => Store.open(other)).toThrow(/not a Nompd database/);
  });
});

describe("versioned writes", () => {
  test("add, unchanged, change, soft delete, revive: one version per changing sync, history of each", () => {
    const path = tempDbPath(dir);
    const store = Store.open(path);
    const d = store.documents;
    const t0 = new Date("2025-04-10T08:30:00.123Z");
    const r1 = commitDataset(store, { ...empty, treatmentGroup: docs(["a", { v: 1 }], ["b", { v: 1 }], ["c", { v: 1 }]) }, { ...opts, now: t0 });
    expect(r1.version).toBe(1);
    expect(r1.lastChanged).toBe("2025-04-10T08:30:00Z");
    expect(r1.counts.treatmentGroup).toEqual({ added: 3, changed: 0, deleted: 0, revived: 0, unchanged: 0 });

    // Same content again: nothing written, no version.
    const same = commitDataset(store, { ...empty, treatmentGroup: docs(["a", { v: 1 }], ["b", { v: 1 }], ["c", { v: 1 }]) }, opts);
    expect(same.version).toBeNull();
    expect(store.currentVersion()).toBe(1);
    expect((sqlite(path).query("SELECT count(*) AS n FROM document_history").get() as { n: number }).n).toBe(3);

    // b changes, c goes away: version 2; a untouched keeps version 1.
    const r2 = commitDataset(store, { ...empty, treatmentGroup: docs(["a", { v: 1 }], ["b", { v: 2 }]) }, opts);
    expect(r2.version).toBe(2);
    expect(r2.counts.treatmentGroup).toEqual({ added: 0, changed: 1, deleted: 1, revived: 0, unchanged: 1 });
    expect(d.one("treatmentGroup", "a")!.version).toBe(1);
    const c = d.one("treatmentGroup", "c")!;
    expect(c.is_deleted).toBe(1);
    expect(c.version).toBe(2);
    expect(JSON.parse(c.content)).toEqual({ v: 1 }); // content kept
    expect(d.live("treatmentGroup").map((r) => r.id)).toEqual(["a", "b"]);
    expect(d.since("treatmentGroup", 1).map((r) => [r.id, r.version, r.is_deleted])).toEqual([
      ["b", 2, 0],
      ["c", 2, 1],
    ]);

    // c comes back: revived in version 3.
    const r3 = commitDataset(store, { ...empty, treatmentGroup: docs(["a", { v: 1 }], ["b", { v: 2 }], ["c", { v: 3 }]) }, opts);
    expect(r3.version).toBe(3);
    expect(r3.counts.treatmentGroup!.revived).toBe(1);
    expect(d.history("treatmentGroup", "c").map((r) => [r.version, r.is_deleted, JSON.parse(r.content).v])).toEqual([
      [3, 0, 3],
      [2, 1, 1],
      [1, 0, 1],
    ]);
    // As of version 2 the live set was a and b (b at its v2 content).
    expect(d.asOf("treatmentGroup", 2).map((r) => [r.id, JSON.parse(r.content).v])).toEqual([
      ["a", 1],
      ["b", 2],
    ]);
    expect(d.asOf("treatmentGroup", 0)).toEqual([]);
    expect(withoutHistory(path)).toEqual([]);
    store.close();
  });

  test("many documents at once: each stored whole, each compared on its own", () => {
    const path = tempDbPath(dir);
    const store = Store.open(path);
    // 250, staged by the staging that looks up stored hashes and by the one that keeps every content (a
    // real sync replacing the sample).
    const many = (changed: number) => docs(...Array.from({ length: 250 }, (_, i): [string, unknown] => [`g${String(i).padStart(3, "0")}`, { i, v: i === changed ? 2 : 1 }]));
    const first = commitDataset(store, { ...empty, treatmentGroup: many(-1) }, { ...opts, sample: true });
    expect(first.counts.treatmentGroup).toEqual({ added: 250, changed: 0, deleted: 0, revived: 0, unchanged: 0 });
    const replaced = commitDataset(store, { ...empty, treatmentGroup: many(-1) }, opts);
    expect(replaced).toMatchObject({ version: 2, replacedSample: true, counts: { treatmentGroup: { added: 250 } } });
    for (const changed of [0, 149, 249]) {
      const next = commitDataset(store, { ...empty, treatmentGroup: many(changed) }, opts);
      expect([changed, next.counts.treatmentGroup]).toEqual([changed, { added: 0, changed: 1, deleted: 0, revived: 0, unchanged: 249 }]);
      expect(store.documents.since("treatmentGroup", next.version! - 1).map((r) => [r.id, JSON.parse(r.content)])).toEqual([[`g${String(changed).padStart(3, "0")}`, { i: changed, v: 2 }]]);
      // Back to v 1 for the next round.
      commitDataset(store, { ...empty, treatmentGroup: many(-1) }, opts);
    }
    const live = store.documents.live("treatmentGroup");
    expect(live.map((r) => JSON.parse(r.content))).toEqual(Array.from({ length: 250 }, (_, i) => ({ i, v: 1 })));
    expect(withoutHistory(path)).toEqual([]);
    store.close();
  });

  test("the mass-deletion guard aborts and writes nothing; force lets it through", () => {
    const store = Store.open(tempDbPath(dir));
    commitDataset(store, { ...empty, reimbursementGroup: docs(["1", 1], ["2", 2], ["3", 3], ["4", 4]) }, opts);
    // Deleting 2 of 4 (50%) is allowed at the 0.5 limit; 3 of 4 is not.
    expect(() => commitDataset(store, { ...empty, reimbursementGroup: docs(["1", 1], ["9", 9]) }, opts)).toThrow(GuardError);
    expect(() => commitDataset(store, { ...empty, reimbursementGroup: docs(["1", 1]) }, opts)).toThrow(/would delete 3 of 4 live reimbursementGroup.*--force/);
    expect(store.currentVersion()).toBe(1);
    expect(store.documents.live("reimbursementGroup")).toHaveLength(4);
    const forced = commitDataset(store, { ...empty, reimbursementGroup: [] }, { ...opts, force: true });
    expect(forced.version).toBe(2);
    expect(store.documents.live("reimbursementGroup")).toHaveLength(0);
    store.close();
  });

  test("a commit that fails part-way leaves the previous version whole", () => {
    const path = tempDbPath(dir);
    const store = Store.open(path);
    commitDataset(store, { ...empty, treatmentGroup: docs(["a", 1]) }, opts);
    // Make the history insert of the second document fail inside the transaction.
    sqlite(path).exec(`CREATE TRIGGER boom BEFORE INSERT ON document_history WHEN NEW.id = 'zz' BEGIN SELECT RAISE(ABORT, 'disk trouble'); END`);
    expect(() => commitDataset(store, { ...empty, treatmentGroup: docs(["a", 2], ["zz", 1]) }, opts)).toThrow(/disk trouble/);
    expect(store.currentVersion()).toBe(1);
    expect(store.documents.live("treatmentGroup").map((r) => [r.id, r.content])).toEqual([["a", "1"]]);
    store.close();
  });

  test("a commit that waits past the busy timeout for another process's write fails saying so, and writes nothing", () => {
    const path = tempDbPath(dir);
    const store = Store.open(path);
    commitDataset(store, { ...empty, treatmentGroup: docs(["a", 1]) }, opts);
    const other = sqlite(path);
    other.exec("BEGIN IMMEDIATE"); // another process in the middle of a write, for longer than the timeout
    try {
      expect(() => commitDataset(store, { ...empty, treatmentGroup: docs(["a", 2]) }, opts)).toThrow(/is busy: another process has held its write lock.*Try again/);
    } finally {
      other.exec("ROLLBACK");
    }
    expect(store.currentVersion()).toBe(1);
    expect(store.documents.live("treatmentGroup").map((r) => r.content)).toEqual(["1"]);
    store.close();
  }, 30_000);

  /** The live treatment groups as [id, version, content]. */
  const liveGroups = (store: Store) => store.documents.live("treatmentGroup").map((r) => [r.id, r.version, r.content]);

  test("a document staged twice counts once, as its last arrival; a staging is finished once", () => {
    const store = Store.open(tempDbPath(dir));
    commitDataset(store, { ...empty, treatmentGroup: docs(["a", 1], ["b", 1]) }, opts);
    const staging = store.staging();
    // a: unchanged, then changed; b: changed, then unchanged; c: new, twice.
    for (const [id, v] of [["a", 1], ["b", 2], ["c", 1], ["a", 2], ["b", 1], ["c", 3]] as const) staging.put("treatmentGroup", id, JSON.stringify(v));
    staging.finish();
    expect(() => staging.finish()).toThrow("Staging.finish() twice");
    expect(() => staging.put("treatmentGroup", "d", "1")).toThrow("A document staged after Staging.finish()");
    const result = store.commit(["treatmentGroup"], opts);
    staging.clear();
    expect(result.counts.treatmentGroup).toEqual({ added: 1, changed: 1, deleted: 0, revived: 0, unchanged: 1 });
    expect(liveGroups(store)).toEqual([
      ["a", 2, "2"],
      ["b", 1, "1"],
      ["c", 2, "3"],
    ]);
    store.close();
  });

  test("a statement that fails in the middle of the commit on a constraint (not a trigger) leaves the previous version whole", () => {
    const path = tempDbPath(dir);
    const store = Store.open(path);
    commitDataset(store, { ...empty, treatmentGroup: docs(["a", 1], ["b", 1], ["c", 1]) }, opts);
    const historyRows = () => (sqlite(path).query("SELECT count(*) AS n FROM document_history").get() as { n: number }).n;
    const before = historyRows();
    // a changed, b unchanged, c gone. Then a history row of c at the version the commit will make appears
    // (as if another writer broke the rules): c's tombstone fails on the key, in the statement after the
    // one that wrote a's history row.
    const staging = store.staging();
    for (const [id, v] of [["a", 2], ["b", 1]] as const) staging.put("treatmentGroup", id, JSON.stringify(v));
    staging.finish();
    sqlite(path).exec("INSERT INTO document_history (collection, id, version, last_changed, is_deleted, hash, content) VALUES ('treatmentGroup', 'c', 2, '2025-01-01T00:00:00Z', 0, 'x', '2')");
    expect(() => store.commit(["treatmentGroup"], { ...opts, maxDeleteShare: 1 })).toThrow(/UNIQUE constraint failed: document_history/);
    staging.clear();
    expect(store.currentVersion()).toBe(1);
    expect(historyRows()).toBe(before + 1);
    expect(liveGroups(store)).toEqual([
      ["a", 1, "1"],
      ["b", 1, "1"],
      ["c", 1, "1"],
    ]);
    store.close();
  });

  test("a document gone upstream whose history row is missing fails the commit rather than losing its tombstone", () => {
    const path = tempDbPath(dir);
    const store = Store.open(path);
    commitDataset(store, { ...empty, treatmentGroup: docs(["a", 1], ["b", 1], ["c", 1]) }, opts);
    sqlite(path).exec("DELETE FROM document_history WHERE id = 'c'"); // as if another writer broke the rules
    expect(() => commitDataset(store, { ...empty, treatmentGroup: docs(["a", 1], ["b", 1]) }, opts)).toThrow(/NOT NULL constraint failed: document_history.content/);
    expect(store.currentVersion()).toBe(1);
    expect((sqlite(path).query("SELECT version, is_deleted FROM document WHERE id = 'c'").get())).toEqual({ version: 1, is_deleted: 0 });
    store.close();
  });

  test("a second connection (another process) sees the new version and generation changes", () => {
    const path = tempDbPath(dir);
    const reader = Store.open(path);
    const writer = Store.open(path);
    const g0 = reader.state().generation;
    commitDataset(writer, { ...empty, treatmentGroup: docs(["a", 1]) }, opts);
    // At once inside a read transaction, so nothing read there is labelled with the older version.
    expect(reader.snapshot((s) => [s.version, reader.documents.live("treatmentGroup").length])).toEqual([1, 1]);
    expect(reader.state().generation).not.toBe(g0);
    expect(reader.currentVersion()).toBe(1);
    reader.close();
    writer.close();
  });

  test("state() shows another connection's commit within OTHERS_RECHECK_MS, and this connection's own commit at once", async () => {
    const path = tempDbPath(dir);
    const reader = Store.open(path);
    const writer = Store.open(path);
    commitDataset(writer, { ...empty, treatmentGroup: docs(["a", 1]) }, opts);
    await Bun.sleep(OTHERS_RECHECK_MS * 5);
    expect(reader.state().version).toBe(1);
    commitDataset(writer, { ...empty, treatmentGroup: docs(["a", 2]) }, opts);
    await Bun.sleep(OTHERS_RECHECK_MS * 5);
    expect(reader.state().version).toBe(2);
    // This connection's own commit shows at once, whatever the interval.
    commitDataset(reader, { ...empty, treatmentGroup: docs(["a", 3]) }, opts);
    expect(reader.state().version).toBe(3);
    reader.close();
    writer.close();
  });
});
