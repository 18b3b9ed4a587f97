import { describe, expect, test } from "bun:test";
import { SourceError, UsageError } from "../../src/errors";
import { Store } from "../../src/store/db";
import type { FeedItem, ReplicaTarget } from "../../src/store/replica";
import { commitDocs, sqlite, withoutHistory } from "../support/db";
import { tempDbPath, tempDir } from "../support/tmp";

/** A replica's writes: the apply of a primary's version (whole or as a diff), and what it notes about following. */
const dir = tempDir("nompd-replica-");
const PRIMARY = "a0000000-0000-4000-8000-000000000001";

const item = (id: string, version: number, isDeleted = false, name = id): FeedItem => ({
  id,
  version,
  lastChanged: `2025-04-${String(version).padStart(2, "0")}T02:00:00Z`,
  isDeleted,
  content: JSON.stringify({ id, name: `${name} – ærlig` }),
});
const target = (version: number, more: Partial<ReplicaTarget> = {}): ReplicaTarget => ({ datasetId: PRIMARY, version, diffFloor: 0, sample: false, ...more });

function replica(): Store {
  const store = Store.open(tempDbPath(dir));
  store.replica.follow("http://primary.example/");
  return store;
}

function apply(store: Store, base: number | null, version: number, items: FeedItem[], more: Partial<ReplicaTarget> = {}) {
  const staging = store.replica.staging();
  try {
    staging.put("treatmentGroup", items);
    return store.replica.apply({ base, target: target(version, more), at: new Date("2025-05-01T00:00:00Z") });
  } finally {
    staging.clear();
  }
}

describe("apply", () => {
  test("the whole dataset: documents and history with the primary's versions, times, deletions and content; its dataset id and version", () => {
    const store = replica();
    const before = store.datasetId;
    const result = apply(store, null, 4, [item("a", 1), item("b", 4, true), item("c", 3)]);
    expect(result).toMatchObject({ applied: true, counts: { treatmentGroup: { added: 2, deleted: 1 } } });
    const state = store.state();
    expect(state).toMatchObject({ datasetId: PRIMARY, version: 4, oldestVersion: 4, diffFloor: 0, follows: "http://primary.example/" });
    expect(before).not.toBe(PRIMARY);
    expect(store.documents.since("treatmentGroup", 0)).toEqual([
      { id: "a", version: 1, last_changed: "2025-04-01T02:00:00Z", is_deleted: 0, content: item("a", 1).content },
      { id: "c", version: 3, last_changed: "2025-04-03T02:00:00Z", is_deleted: 0, content: item("c", 3).content },
      { id: "b", version: 4, last_changed: "2025-04-04T02:00:00Z", is_deleted: 1, content: item("b", 4).content },
    ]);
    expect(store.documents.history("treatmentGroup", "b")).toHaveLength(1);
    expect(store.replica.holdsVersion(4)).toBe(true);
    expect(store.replica.holdsVersion(3)).toBe(false);
    expect(store.replica.status()).toMatchObject({ primary: "http://primary.example/", primaryVersion: 4, appliedAt: "2025-05-01T00:00:00Z", unreachableSince: null });
  });

  test("a diff: changes, deletions, revivals and additions, counted; history rows at the primary's versions", () => {
    const store = replica();
    apply(store, null, 2, [item("a", 1), item("b", 2), item("gone", 2, true)]);
    const result = apply(store, 2, 5, [item("a", 3, false, "changed"), item("b", 5, true), item("gone", 4), item("new", 5)]);
    expect(result).toMatchObject({ applied: true, counts: { treatmentGroup: { added: 1, changed: 1, deleted: 1, revived: 1 } } });
    expect(store.currentVersion()).toBe(5);
    expect(store.documents.history("treatmentGroup", "a").map((r) => r.version)).toEqual([3, 1]);
    expect(store.documents.one("treatmentGroup", "gone")).toMatchObject({ version: 4, is_deleted: 0 });
    expect(store.documents.since("treatmentGroup", 2).map((r) => [r.id, r.version])).toEqual([
      ["a", 3],
      ["gone", 4],
      ["b", 5],
      ["new", 5],
    ]);
    // Version 3 and 4 were taken in the same step as 5: their state is not known here.
    expect([2, 3, 4, 5].map((v) => store.replica.holdsVersion(v))).toEqual([true, false, false, true]);
    expect(withoutHistory(store.path)).toEqual([]);
  });

  test("a diff from another version or dataset than the one stored applies nothing (another process moved first)", () => {
    const store = replica();
    apply(store, null, 2, [item("a", 1)]);
    expect(apply(store, 1, 3, [item("a", 3)])).toMatchObject({ applied: false });
    expect(apply(store, 2, 3, [item("a", 3)], { datasetId: "another" })).toMatchObject({ applied: false });
    expect(store.currentVersion()).toBe(2);
    expect(store.documents.one("treatmentGroup", "a")?.version).toBe(1);
  });

  test("items outside the versions asked for are refused whole: nothing is written", () => {
    const store = replica();
    apply(store, null, 2, [item("a", 1)]);
    expect(() => apply(store, 2, 3, [item("b", 3), item("c", 4)])).toThrow(SourceError);
    expect(() => apply(store, 2, 3, [item("b", 3), item("c", 2)])).toThrow(/outside the versions 3\.\.3/);
    expect(store.currentVersion()).toBe(2);
    expect(store.documents.one("treatmentGroup", "b")).toBeNull();
  });

  test("a swap to a new dataset replaces everything at once", () => {
    const store = replica();
    apply(store, null, 3, [item("a", 1), item("b", 3)]);
    apply(store, null, 1, [item("x", 1)], { datasetId: "restored" });
    expect(store.state()).toMatchObject({ datasetId: "restored", version: 1, oldestVersion: 1 });
    expect(store.documents.since("treatmentGroup", 0).map((r) => r.id)).toEqual(["x"]);
    expect(store.documents.history("treatmentGroup", "a")).toEqual([]);
  });

  test("the primary's diff floor is mirrored: old diffs refused, the tombstones it forgot forgotten here too", () => {
    const store = replica();
    apply(store, null, 2, [item("a", 1), item("old-tombstone", 2, true)]);
    apply(store, 2, 6, [item("b", 6)], { diffFloor: 4 });
    expect(store.state()).toMatchObject({ diffFloor: 4, oldestVersion: 5 });
    expect(store.documents.one("treatmentGroup", "old-tombstone")).toBeNull();
    expect(store.documents.one("treatmentGroup", "a")).not.toBeNull();
    expect(withoutHistory(store.path)).toEqual([]);
  });

  test("the sample mark of the primary is mirrored", () => {
    const store = replica();
    apply(store, null, 1, [item("a", 1)], { sample: true });
    expect(store.state().sample).toBe(true);
    apply(store, null, 2, [item("a", 2)], { datasetId: "real", sample: false });
    expect(store.state().sample).toBe(false);
  });
});

describe("following", () => {
  test("a database with data of its own is refused; an empty one, one with the sample, or a replica's are taken", () => {
    const own = Store.open(tempDbPath(dir));
    commitDocs(own, { treatmentGroup: [{ id: "a", json: '{"id":"a"}' }] }, { maxDeleteShare: 1, force: true, runId: null });
    expect(() => own.replica.follow("http://primary.example/")).toThrow(UsageError);
    expect(own.state().follows).toBeNull();

    const sample = Store.open(tempDbPath(dir));
    commitDocs(sample, { treatmentGroup: [{ id: "a", json: '{"id":"a"}' }] }, { maxDeleteShare: 1, force: true, runId: null, sample: true });
    sample.replica.follow("http://primary.example/");
    expect(sample.state().follows).toBe("http://primary.example/");

    const r = replica();
    apply(r, null, 3, [item("a", 3)]);
    r.replica.follow("http://another-replica.example/");
    expect(r.state().follows).toBe("http://another-replica.example/");
  });

  test("failures are noted from the first in a row; an answer clears them; status is read by another connection too", () => {
    const store = replica();
    store.replica.noteFailure("first", new Date("2025-05-01T00:00:00Z"));
    store.replica.noteFailure("second", new Date("2025-05-01T00:01:00Z"));
    expect(store.replica.status()).toMatchObject({ unreachableSince: "2025-05-01T00:00:00Z", lastError: "second" });
    const other = sqlite(store.path);
    expect((other.query("SELECT value FROM meta WHERE key = 'follow_error'").get() as any).value).toBe("second");
    store.replica.noteContact(7, true, new Date("2025-05-01T00:02:00Z"));
    expect(store.replica.status()).toMatchObject({ primaryVersion: 7, caughtUpAt: "2025-05-01T00:02:00Z", lastContact: "2025-05-01T00:02:00Z", unreachableSince: null, lastError: null });
    store.replica.noteContact(8, false, new Date("2025-05-01T00:03:00Z"));
    expect(store.replica.status()).toMatchObject({ primaryVersion: 8, caughtUpAt: "2025-05-01T00:02:00Z" });
  });
});
