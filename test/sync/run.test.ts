import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Store } from "../../src/store/db";
import { SyncAlreadyRunningError } from "../../src/errors";
import { processStart } from "../../src/platform";
import { dryRunSync, runSync } from "../../src/sync/run";
import { fileSource } from "../../src/upstream/files";
import type { Source } from "../../src/upstream/source";
import { plan, smallDataset } from "../support/fhir";
import { commitDocs, sqlite } from "../support/db";
import { datasetSource } from "../support/source";
import { tempDbPath, tempDir } from "../support/tmp";

const dir = tempDir();
const opts = { trigger: "import" as const, force: false, maxDeleteShare: 0.5 };

/** `source`, with `meanwhile` run once its first page has reached the sync (which then compares against what is stored). */
function afterFirstPage(source: Source, meanwhile: () => void): Source {
  return {
    async fetch(sink, progress, signal) {
      let first = true;
      return source.fetch(
        (collection, resources) => {
          sink(collection, resources);
          if (first) meanwhile();
          first = false;
        },
        progress,
        signal,
      );
    },
  };
}

describe("sync runs", () => {
  test("a successful run is recorded with counts per collection and skip reasons", async () => {
    const path = tempDbPath(dir);
    const store = Store.open(path);
    const data = smallDataset(3, 2);
    data.RegulatedAuthorization.push({ resourceType: "RegulatedAuthorization", identifier: [] });
    data.PlanDefinition.push({ resourceType: "PlanDefinition" });
    const { run, failure } = await runSync(store, datasetSource(dir, data), opts);
    expect(failure).toBeNull();
    expect(run.status).toBe("succeeded");
    expect(run.version).toBe(1);
    expect(run.counts.PlanDefinition).toMatchObject({ fetched: 4, added: 3, skipped: 1, skippedReasons: { "no identifier[0].value": 1 } });
    expect(run.counts.RegulatedAuthorization).toMatchObject({ fetched: 3, added: 2, skipped: 1 });
    expect(run.counts.treatmentGroup).toMatchObject({ fetched: 3, added: 3 });
    expect(run.finishedAt).not.toBeNull();
    // lastChanged of what the sync changed is the time the sync started.
    const changed = sqlite(path).query("SELECT DISTINCT last_changed FROM document").all() as Array<{ last_changed: string }>;
    expect(changed).toEqual([{ last_changed: run.startedAt }]);

    const again = await runSync(store, datasetSource(dir, data), opts);
    expect(again.run.status).toBe("no_changes");
    expect(again.run.version).toBe(1);
    expect(store.currentVersion()).toBe(1);
    expect(store.runs.recent().map((r) => r.status)).toEqual(["no_changes", "succeeded"]);
    store.close();
  });

  test("a failing source is recorded as failed and changes nothing", async () => {
    const store = Store.open(tempDbPath(dir));
    await runSync(store, datasetSource(dir, smallDataset()), opts);
    const broken = join(dir, "broken.json");
    writeFileSync(broken, '{"resourceType": "Bundle", "entry": [');
    const { run, failure } = await runSync(store, fileSource([broken], { maxBytes: 1 << 26 }), opts);
    expect(failure).toBe("source");
    expect(run.status).toBe("failed");
    expect(run.error).toContain("broken.json");
    expect(store.currentVersion()).toBe(1);
    store.close();
  });

  test("an upstream that suddenly answers empty is stopped by the guard, and goes through with force", async () => {
    const store = Store.open(tempDbPath(dir));
    await runSync(store, datasetSource(dir, smallDataset()), opts);
    const empty = { PlanDefinition: [], ActivityDefinition: [], RegulatedAuthorization: [] };
    const stopped = await runSync(store, datasetSource(dir, empty), opts);
    expect(stopped.failure).toBe("guard");
    expect(stopped.run.status).toBe("aborted_by_guard");
    expect(stopped.run.error).toContain("--force");
    expect(store.documents.live("treatmentGroup")).toHaveLength(4);
    // The stopped run records what the sync would have done, to every collection.
    expect(stopped.run.counts.treatmentGroup).toMatchObject({ deleted: 4 });
    expect(stopped.run.counts.reimbursementGroup).toMatchObject({ deleted: 6 });
    expect(stopped.run.counts.RegulatedAuthorization).toMatchObject({ deleted: 6 });
    const forced = await runSync(store, datasetSource(dir, empty), { ...opts, force: true });
    expect(forced.run.status).toBe("succeeded");
    expect(store.documents.live("treatmentGroup")).toHaveLength(0);
    store.close();
  });
});

describe("dry runs", () => {
  const dry = { force: false, maxDeleteShare: 0.5 };
  const fileBytes = (path: string) => (existsSync(path) ? readFileSync(path) : null);

  test("a dry run reports what a sync would do and writes nothing, also while another connection holds the write lock", async () => {
    const path = tempDbPath(dir);
    const store = Store.open(path);
    await runSync(store, datasetSource(dir, smallDataset()), opts);
    const changed = smallDataset();
    changed.PlanDefinition.pop();
    changed.RegulatedAuthorization[0] = { ...(changed.RegulatedAuthorization[0] as object), status: "retired" };
    const writer = sqlite(path);
    writer.exec("BEGIN IMMEDIATE");
    const before = [fileBytes(path), fileBytes(`${path}-wal`)];
    const report = await dryRunSync(store, datasetSource(dir, changed), dry);
    expect([fileBytes(path), fileBytes(`${path}-wal`)]).toEqual(before);
    writer.exec("ROLLBACK");
    expect(report).toMatchObject({ dryRun: true, outcome: "would_succeed", currentVersion: 1, wouldBeVersion: 2, guard: null });
    expect(report.counts.PlanDefinition).toMatchObject({ fetched: 3, added: 0, changed: 0, deleted: 1, unchanged: 3 });
    expect(report.counts.RegulatedAuthorization).toMatchObject({ fetched: 6, changed: 1, unchanged: 5 });
    expect(report.counts.treatmentGroup).toMatchObject({ fetched: 3, deleted: 1, unchanged: 3 });
    expect(store.currentVersion()).toBe(1);
    expect(store.runs.recent()).toHaveLength(1);
    store.close();
  });

  test("no changes, and the guard's verdict with what the sync would delete", async () => {
    const store = Store.open(tempDbPath(dir));
    await runSync(store, datasetSource(dir, smallDataset()), opts);
    const same = await dryRunSync(store, datasetSource(dir, smallDataset()), dry);
    expect(same).toMatchObject({ outcome: "no_changes", currentVersion: 1, wouldBeVersion: null, guard: null });
    expect(same.counts.treatmentGroup).toMatchObject({ fetched: 4, unchanged: 4, added: 0, changed: 0, deleted: 0 });
    const empty = { PlanDefinition: [], ActivityDefinition: [], RegulatedAuthorization: [] };
    const stopped = await dryRunSync(store, datasetSource(dir, empty), dry);
    expect(stopped).toMatchObject({ outcome: "stopped_by_guard", currentVersion: 1, wouldBeVersion: null });
    expect(stopped.guard).toContain("--force");
    expect(stopped.counts.treatmentGroup).toMatchObject({ deleted: 4 });
    const forced = await dryRunSync(store, datasetSource(dir, empty), { ...dry, force: true });
    expect(forced).toMatchObject({ outcome: "would_succeed", wouldBeVersion: 2, guard: null });
    expect(store.documents.live("treatmentGroup")).toHaveLength(4);
    store.close();
  });

  test("a writer that ignores the sync lock and commits while a sync reads: the sync fails saying so, and writes nothing", async () => {
    // The sync ticks off documents that arrive unchanged against the hashes it read when the first one
    // came; a version written meanwhile would make those ticks untrue.
    for (const dry of [false, true]) {
      const path = tempDbPath(dir);
      const store = Store.open(path);
      await runSync(store, datasetSource(dir, smallDataset()), opts);
      const other = Store.open(path);
      const meanwhile = afterFirstPage(datasetSource(dir, smallDataset()), () =>
        commitDocs(other, { treatmentGroup: [{ id: "intruder", json: "{}" }] }, { maxDeleteShare: 1, force: true, runId: null }),
      );
      const changed =
        /The database changed while this sync read its source: it compared with version 1, and version 2 was committed meanwhile \(by a sync, if this was a dry run; otherwise by a program writing to the file without Nompd's sync lock\)\. Nothing was written; run it again\./;
      if (dry) {
        await expect(dryRunSync(store, meanwhile, { force: false, maxDeleteShare: 0.5 })).rejects.toThrow(changed);
      } else {
        const { run, failure } = await runSync(store, meanwhile, opts);
        expect(failure).toBe("conflict");
        expect(run.status).toBe("failed");
        expect(run.error).toMatch(changed);
      }
      expect(store.currentVersion()).toBe(2);
      expect(store.documents.live("treatmentGroup").map((r) => r.id)).toContain("intruder");
      other.close();
      store.close();
    }
  });

  test("a new file made a replica (serve --follow) while a sync reads: the sync fails saying so, and writes nothing", async () => {
    const path = tempDbPath(dir);
    const store = Store.open(path);
    const other = Store.open(path);
    const meanwhile = afterFirstPage(datasetSource(dir, smallDataset()), () => other.replica.follow("http://primary.example:8080"));
    const { run, failure } = await runSync(store, meanwhile, opts);
    expect(failure).toBe("conflict");
    expect(run.status).toBe("failed");
    expect(run.error).toContain("This database follows http://primary.example:8080: it is a read-only replica");
    expect(store.currentVersion()).toBe(0);
    expect(store.documents.live("treatmentGroup")).toEqual([]);
    other.close();
    store.close();
  });

  test("the sample loaded into an empty database after a dry run began: the dry run refuses, rather than count against it", async () => {
    const path = tempDbPath(dir);
    const store = Store.open(path);
    const other = Store.open(path);
    const meanwhile: Source = {
      async fetch(sink, progress, signal) {
        // Before the first document arrives: the dry run reads the sample's hashes then.
        expect((await runSync(other, datasetSource(dir, smallDataset()), { ...opts, sample: true })).run.version).toBe(1);
        return datasetSource(dir, smallDataset()).fetch(sink, progress, signal);
      },
    };
    await expect(dryRunSync(store, meanwhile, dry)).rejects.toThrow(/The database changed while this sync read its source: the embedded sample dataset was loaded into it after this sync began/);
    other.close();
    store.close();
  });

  test("a sync that commits while a dry run fetches: the report's current version is the one it compared with", async () => {
    const path = tempDbPath(dir);
    const store = Store.open(path);
    await runSync(store, datasetSource(dir, smallDataset()), opts);
    const other = Store.open(path);
    const meanwhile: Source = {
      async fetch(sink, progress, signal) {
        expect((await runSync(other, datasetSource(dir, smallDataset(5)), opts)).run.version).toBe(2);
        return datasetSource(dir, smallDataset(6)).fetch(sink, progress, signal);
      },
    };
    const report = await dryRunSync(store, meanwhile, dry);
    expect(report).toMatchObject({ outcome: "would_succeed", currentVersion: 2, wouldBeVersion: 3 });
    // Compared with version 2 (five groups), not version 1 (four).
    expect(report.counts.treatmentGroup).toMatchObject({ added: 1, unchanged: 5 });
    other.close();
    store.close();
  });

  test("into the sample: every document would be added, and an answer without a collection is stopped", async () => {
    const store = Store.open(tempDbPath(dir));
    await runSync(store, datasetSource(dir, smallDataset(4, 6)), { ...opts, sample: true });
    const report = await dryRunSync(store, datasetSource(dir, smallDataset(4, 3)), dry);
    expect(report).toMatchObject({ outcome: "would_succeed", currentVersion: 1, wouldBeVersion: 2 });
    expect(report.counts.RegulatedAuthorization).toMatchObject({ added: 3, changed: 0, deleted: 0, unchanged: 0 });
    expect(report.counts.treatmentGroup).toMatchObject({ added: 4, unchanged: 0 });
    const stopped = await dryRunSync(store, datasetSource(dir, { ...smallDataset(), RegulatedAuthorization: [] }), dry);
    expect(stopped).toMatchObject({ outcome: "stopped_by_guard", wouldBeVersion: null });
    expect(stopped.guard).toContain("replace the sample dataset with no RegulatedAuthorization");
    expect(store.state()).toMatchObject({ sample: true, version: 1 });
    store.close();
  });
});

describe("replacing the sample dataset", () => {
  test("the first real sync replaces the sample whole: every document added, the sample's history gone, a new dataset id", async () => {
    const path = tempDbPath(dir);
    const store = Store.open(path);
    const sample = await runSync(store, datasetSource(dir, smallDataset(4, 6)), { ...opts, sample: true });
    expect(sample.run.version).toBe(1);
    const sampleId = store.datasetId;
    // Three groups of the sample come back unchanged, one is new; three authorizations of six remain.
    const real = smallDataset(4, 3);
    real.PlanDefinition[3] = plan("pd-real", "Ekte gruppe", { diseaseGroup: "MS", actions: ["ad-0"] });
    const { run } = await runSync(store, datasetSource(dir, real), opts);
    expect(run.status).toBe("succeeded");
    expect(run.version).toBe(2);
    expect(run.counts.PlanDefinition).toMatchObject({ added: 4, changed: 0, deleted: 0, revived: 0, unchanged: 0 });
    expect(run.counts.RegulatedAuthorization).toMatchObject({ added: 3, changed: 0, deleted: 0, revived: 0, unchanged: 0 });
    expect(run.counts.treatmentGroup).toMatchObject({ added: 4, changed: 0, deleted: 0, revived: 0, unchanged: 0 });
    const state = store.state();
    expect(state).toMatchObject({ sample: false, version: 2, diffFloor: 2, oldestVersion: 2 });
    expect(state.datasetId).not.toBe(sampleId);
    // Documents equal to the sample's are stored whole, and nothing of the sample is left.
    const db = sqlite(path);
    expect(db.query("SELECT count(*) AS n FROM document WHERE version <> 2").get()).toEqual({ n: 0 });
    expect(db.query("SELECT count(*) AS n FROM document_history WHERE content IS NULL").get()).toEqual({ n: 0 });
    expect(db.query("SELECT DISTINCT version FROM document_history").all()).toEqual([{ version: 2 }]);
    expect(db.query("SELECT version FROM dataset_version").all()).toEqual([{ version: 2 }]);
    expect(store.documents.live("RegulatedAuthorization")).toHaveLength(3);
    store.close();
  });

  test("an answer with none of a collection the sample has is stopped by the guard, and goes through with force", async () => {
    const store = Store.open(tempDbPath(dir));
    await runSync(store, datasetSource(dir, smallDataset()), { ...opts, sample: true });
    const noAuthorizations = { ...smallDataset(), RegulatedAuthorization: [] };
    const stopped = await runSync(store, datasetSource(dir, noAuthorizations), opts);
    expect(stopped.failure).toBe("guard");
    expect(stopped.run.error).toContain("replace the sample dataset with no RegulatedAuthorization");
    expect(store.state()).toMatchObject({ sample: true, version: 1 });
    const forced = await runSync(store, datasetSource(dir, noAuthorizations), { ...opts, force: true });
    expect(forced.run.status).toBe("succeeded");
    expect(forced.run.counts.RegulatedAuthorization).toMatchObject({ added: 0, deleted: 0 });
    expect(store.state()).toMatchObject({ sample: false, version: 2 });
    expect(store.documents.live("RegulatedAuthorization")).toHaveLength(0);
    store.close();
  });
});

describe("one sync at a time", () => {
  test("a second sync while one runs is refused, in this process and from another connection", async () => {
    const path = tempDbPath(dir);
    const store = Store.open(path);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow: Source = {
      async fetch(sink) {
        await gate;
        return datasetSource(dir, smallDataset()).fetch(sink);
      },
    };
    const first = runSync(store, slow, opts);
    await expect(runSync(store, datasetSource(dir, smallDataset()), opts)).rejects.toThrow(SyncAlreadyRunningError);
    const other = Store.open(path);
    await expect(runSync(other, datasetSource(dir, smallDataset()), opts)).rejects.toThrow(/already running/);
    release();
    expect((await first).run.status).toBe("succeeded");
    // Free again once the first finished.
    expect((await runSync(other, datasetSource(dir, smallDataset()), opts)).run.status).toBe("no_changes");
    // The refused triggers left no run records.
    expect(store.runs.recent()).toHaveLength(2);
    other.close();
    store.close();
  });

  test("a lock whose pid now names another process (started at another time) is taken over; a live holder's is not", async () => {
    const path = tempDbPath(dir);
    const store = Store.open(path);
    const db = sqlite(path);
    const host = (await import("node:os")).hostname();
    const parent = process.ppid; // alive, and not this process
    expect(processStart(parent)).not.toBeNull();
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
    db.query("INSERT INTO sync_lock (id, pid, host, trigger, started_at, process_start, renewed_at) VALUES (1, ?, ?, 'cli', ?, ?, ?)").run(parent, host, now, processStart(parent), now);
    await expect(runSync(store, datasetSource(dir, smallDataset()), opts)).rejects.toThrow(SyncAlreadyRunningError);
    db.query("UPDATE sync_lock SET process_start = '1'").run();
    expect((await runSync(store, datasetSource(dir, smallDataset()), opts)).run.status).toBe("succeeded");
    store.close();
  });

  test("a live holder on this host whose start time matches is never expired by the lease", async () => {
    const path = tempDbPath(dir);
    const store = Store.open(path, { lockLeaseMs: 100 });
    const parent = process.ppid;
    const long = "2025-01-01T00:00:00Z";
    sqlite(path)
      .query("INSERT INTO sync_lock (id, pid, host, trigger, started_at, process_start, renewed_at, token) VALUES (1, ?, ?, 'cli', ?, ?, ?, 't')")
      .run(parent, (await import("node:os")).hostname(), long, processStart(parent), long);
    expect(store.lock.current()).toMatchObject({ stale: false });
    await expect(runSync(store, datasetSource(dir, smallDataset()), opts)).rejects.toThrow(SyncAlreadyRunningError);
    store.close();
  });

  test("the holder renews its lock while it works, and removes it when done", async () => {
    const path = tempDbPath(dir);
    const store = Store.open(path, { lockLeaseMs: 200 });
    const db = sqlite(path);
    const held = store.lock.acquire("cli");
    db.query("UPDATE sync_lock SET renewed_at = '2025-01-01T00:00:00Z'").run();
    await Bun.sleep(150);
    const renewed = (db.query("SELECT renewed_at FROM sync_lock").get() as { renewed_at: string }).renewed_at;
    expect(Date.now() - Date.parse(renewed)).toBeLessThan(5_000);
    held.release();
    expect(store.lock.current()).toBeNull();
    store.close();
  });

  test("a lock from another host is kept while renewed, and taken over once not renewed for the lease", async () => {
    const path = tempDbPath(dir);
    const store = Store.open(path);
    const db = sqlite(path);
    const recent = new Date(Date.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, "Z");
    const old = new Date(Date.now() - 6 * 60_000).toISOString().replace(/\.\d{3}Z$/, "Z");
    db.query("INSERT INTO sync_lock (id, pid, host, trigger, started_at, process_start, renewed_at) VALUES (1, 1, 'gone-container', 'schedule', ?, NULL, ?)").run(old, recent);
    expect(store.lock.current()).toMatchObject({ host: "gone-container", stale: false });
    await expect(runSync(store, datasetSource(dir, smallDataset()), opts)).rejects.toThrow(/process 1 on gone-container/);
    db.query("UPDATE sync_lock SET renewed_at = ?").run(old);
    expect(store.lock.current()).toMatchObject({ stale: true });
    expect((await runSync(store, datasetSource(dir, smallDataset()), opts)).run.status).toBe("succeeded");
    expect(store.lock.current()).toBeNull();
    store.close();
  });

  test("a lock left by a killed process is taken over and its run closed as failed", async () => {
    const path = tempDbPath(dir);
    const store = Store.open(path);
    const db = sqlite(path);
    const dead = Bun.spawnSync(["true"]).pid; // a pid that has exited
    // Renewed just now: it is the dead pid, not the lease, that makes this lock stale.
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
    db.query("INSERT INTO sync_lock (id, pid, host, trigger, started_at, renewed_at, token) VALUES (1, ?, ?, 'cli', ?, ?, 'dead')").run(dead, (await import("node:os")).hostname(), now, now);
    expect(store.lock.current()).toMatchObject({ stale: true });
    db.query("INSERT INTO sync_run (trigger, started_at, status, lock_token) VALUES ('cli', '2025-01-01T00:00:00Z', 'running', 'dead')").run();
    const { run } = await runSync(store, datasetSource(dir, smallDataset()), opts);
    expect(run.status).toBe("succeeded");
    const abandoned = store.runs.recent().find((r) => r.id !== run.id)!;
    expect(abandoned.status).toBe("failed");
    expect(abandoned.error).toContain("stopped before it finished");
    expect(store.lock.current()).toBeNull();
    store.close();
  });

  test("a sync whose lock was taken over writes nothing and is recorded as failed (fencing)", async () => {
    const path = tempDbPath(dir);
    const store = Store.open(path);
    const db = sqlite(path);
    await runSync(store, datasetSource(dir, smallDataset()), opts);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const changed = smallDataset();
    changed.PlanDefinition.pop();
    const paused: Source = {
      async fetch(sink, progress, signal) {
        await gate;
        return datasetSource(dir, changed).fetch(sink, progress, signal);
      },
    };
    const running = runSync(store, paused, opts);
    await Bun.sleep(20);
    // Another process takes the lock over (as after a lease ran out): a new token.
    db.query("UPDATE sync_lock SET token = 'someone-else', pid = 1, host = 'elsewhere'").run();
    release();
    const { run, failure } = await running;
    expect(failure).toBe("internal");
    expect(run.status).toBe("failed");
    expect(run.error).toContain("lost the sync lock to another process");
    expect(store.currentVersion()).toBe(1);
    expect(store.documents.live("treatmentGroup")).toHaveLength(smallDataset().PlanDefinition.length);
    // The other process's lock is not removed by the loser.
    expect((db.query("SELECT token FROM sync_lock").get() as { token: string }).token).toBe("someone-else");
    store.close();
  });
});
