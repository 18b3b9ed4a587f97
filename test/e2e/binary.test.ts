import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TreatmentGroup } from "../../src/models";
import { createKey, ensureBinary, nompd, ROOT, serve, stopServersAfterAll, type RunningServer } from "../support/binary";
import { tempDir } from "../support/tmp";

/**
 * The compiled dist/nompd end to end: import sample v1 → full fetch → import a changed v2 → the diff
 * holds exactly the changes → v2 again makes no version → kill -9 in the middle of an import leaves the
 * served version intact.
 */

const dir = tempDir("nompd-e2e-");
stopServersAfterAll();
const db = join(dir, "e2e.db");
const SAMPLE = join(ROOT, "data", "sample");
const load = (name: string) => JSON.parse(readFileSync(join(SAMPLE, name), "utf8"));

const NATALIZUMAB = "4077eb19-b094-4712-89b1-c3b5a021ef8d";
let server: RunningServer;
let key = "";
let changedGroup = "";
let removedGroup = "";
let changedReimbursement = "";
const addedGroup = "e2e00000-0000-4000-8000-000000000001";

/** v2 of the sample: one group added, one changed, one removed, one reimbursement group changed. */
function writeV2(): string {
  const folder = join(dir, "v2");
  mkdirSync(folder, { recursive: true });
  const pd = load("PlanDefinition.json");
  const ra = load("RegulatedAuthorization.json");
  const ad = load("ActivityDefinition.json");
  const entries = pd.entry as Array<{ resource: any }>;
  const others = entries.filter((e) => e.resource.identifier[0].value !== NATALIZUMAB);
  const changed = others[0]!.resource;
  changed.description = "Endret beskrivelse: rangering oppdatert etter nytt anbud (æøå)";
  changedGroup = changed.identifier[0].value;
  const removed = others[1]!.resource;
  removedGroup = removed.identifier[0].value;
  pd.entry = entries.filter((e) => e.resource !== removed);
  pd.entry.push({ resource: { ...structuredClone(changed), identifier: [{ value: addedGroup }], name: "Ny gruppe", description: "Lagt til i v2" } });
  const raChanged = ra.entry[0].resource;
  raChanged.basis = [{ coding: [{ system: "urn:oid:2.16.578.1.12.4.1.1.7110", code: "Z99.9", display: "Ny indikasjon" }] }];
  changedReimbursement = raChanged.identifier[0].value;
  writeFileSync(join(folder, "PlanDefinition.json"), JSON.stringify(pd));
  writeFileSync(join(folder, "RegulatedAuthorization.json"), JSON.stringify(ra));
  writeFileSync(join(folder, "ActivityDefinition.json"), JSON.stringify(ad));
  return folder;
}

async function get(path: string): Promise<{ status: number; text: string; json: any }> {
  const res = await fetch(server.url + path, { headers: { "X-API-KEY": key } });
  const text = await res.text();
  return { status: res.status, text, json: text ? JSON.parse(text) : null };
}

beforeAll(async () => {
  ensureBinary();
  const imported = await nompd(["import", SAMPLE, "--db", db, "--json"]);
  expect(imported.exitCode).toBe(0);
  expect(JSON.parse(imported.stdout)).toMatchObject({ status: "succeeded", version: 1 });
  key = await createKey(db, "e2e");
  server = await serve(["--db", db, "--log-format", "json"]);
});

describe("dist/nompd end to end", () => {
  let v1Body = "";
  test("v1: the full sample list, with the seed page's natalizumab group exactly", async () => {
    const tg = await get("/api/v1/treatmentGroup");
    expect(tg.status).toBe(200);
    expect(tg.json.currentVersion).toBe(1);
    expect(tg.json.items.length).toBeGreaterThanOrEqual(12);
    const ids = tg.json.items.map((i: any) => i.data.id);
    expect(ids).toEqual([...ids].sort());
    const nat = tg.json.items.find((i: any) => i.data.id === NATALIZUMAB);
    expect(JSON.stringify(nat.data)).toBe(JSON.stringify(TreatmentGroup.examples[0]));
    const rg = await get("/api/v1/reimbursementGroup");
    expect(rg.json.items.length).toBeGreaterThanOrEqual(40);
    v1Body = tg.text;
  });

  test("v2: ?sinceVersion=1 returns exactly the changes, the removal as isDeleted", async () => {
    const v2 = writeV2();
    const imported = await nompd(["import", v2, "--db", db, "--json"]);
    expect(imported.exitCode).toBe(0);
    expect(JSON.parse(imported.stdout)).toMatchObject({ status: "succeeded", version: 2 });

    const tg = await get("/api/v1/treatmentGroup?sinceVersion=1");
    expect(tg.json.currentVersion).toBe(2);
    const got = tg.json.items.map((i: any) => [i.data.id, i.version, i.isDeleted]);
    // Same version: ordered by id (SQLite's byte order; the ids are ASCII).
    const expected = [
      [changedGroup, 2, false],
      [removedGroup, 2, true],
      [addedGroup, 2, false],
    ].sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
    expect(got).toEqual(expected);
    expect(tg.json.items.find((i: any) => i.data.id === changedGroup).data.description).toContain("æøå");

    const rg = await get("/api/v1/reimbursementGroup?sinceVersion=1");
    expect(rg.json.items.map((i: any) => [i.data.id, i.isDeleted])).toEqual([[changedReimbursement, false]]);
    expect(rg.json.items[0].data.indications).toEqual([{ coding: [{ system: "urn:oid:2.16.578.1.12.4.1.1.7110", code: "Z99.9", display: "Ny indikasjon" }] }]);

    const full = await get("/api/v1/treatmentGroup");
    expect(full.text).not.toBe(v1Body);
    expect(full.json.items.map((i: any) => i.data.id)).not.toContain(removedGroup);
  });

  test("importing v2 again creates no version", async () => {
    const again = await nompd(["import", join(dir, "v2"), "--db", db]);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain("no changes");
    expect((await get("/api/v1/treatmentGroup")).json.currentVersion).toBe(2);
    expect((await get("/api/v1/treatmentGroup?sinceVersion=2")).json.items).toEqual([]);
  });

  test("kill -9 in the middle of an import leaves the served version intact", async () => {
    const before = await get("/api/v1/reimbursementGroup");
    const beforeTg = await get("/api/v1/treatmentGroup");
    // A large import (v2 plus many new reimbursement groups) so that the write transaction is still
    // spilling pages into the WAL when it is killed.
    const big = join(dir, "big");
    mkdirSync(big, { recursive: true });
    for (const name of ["PlanDefinition.json", "ActivityDefinition.json", "RegulatedAuthorization.json"]) {
      writeFileSync(join(big, name), readFileSync(join(dir, "v2", name)));
    }
    const lines: string[] = [];
    for (let i = 0; i < 60_000; i++) {
      lines.push(
        JSON.stringify({
          resourceType: "RegulatedAuthorization",
          identifier: [{ value: `kill-test-${i}` }],
          description: "Refusjon etter blåreseptforskriften §2 – syntetisk post ".repeat(4),
          basis: [{ coding: [{ system: "urn:oid:2.16.578.1.12.4.1.1.7110", code: "G35", display: "Multippel sklerose" }] }],
          subject: [{ identifier: { system: "FEST-Varenummer", value: String(100000 + i) } }],
        }),
      );
    }
    writeFileSync(join(big, "extra.ndjson"), lines.join("\n"));

    const wal = db + "-wal";
    const walBefore = existsSync(wal) ? statSync(wal).size : 0;
    const proc = Bun.spawn([ensureBinary(), "import", big, "--db", db], { stdout: "ignore", stderr: "ignore" });
    // Kill once the write transaction has started spilling pages: the WAL grows past its old size.
    let killedMidWrite = false;
    while (proc.exitCode === null) {
      const size = existsSync(wal) ? statSync(wal).size : 0;
      if (size > walBefore + 4 * 1024 * 1024) {
        proc.kill("SIGKILL");
        killedMidWrite = true;
        break;
      }
      await Bun.sleep(2);
    }
    await proc.exited;
    expect(killedMidWrite).toBe(true);
    expect(proc.signalCode).toBe("SIGKILL");

    // The server still serves version 2, byte for byte.
    const after = await get("/api/v1/reimbursementGroup");
    expect(after.json.currentVersion).toBe(2);
    expect(after.text).toBe(before.text);
    expect((await get("/api/v1/treatmentGroup")).text).toBe(beforeTg.text);
    expect((await get("/api/v1/reimbursementGroup?sinceVersion=2")).json.items).toEqual([]);

    // The killed run is closed as failed by the next sync, which takes over the stale lock.
    const next = await nompd(["import", join(dir, "v2"), "--db", db, "--json"]);
    expect(next.exitCode).toBe(0);
    expect(JSON.parse(next.stdout)).toMatchObject({ status: "no_changes", version: 2 });
    const status = JSON.parse((await nompd(["status", "--db", db, "--json"])).stdout);
    expect(status.currentVersion).toBe(2);
    expect(status.recentRuns[1]).toMatchObject({ status: "failed", trigger: "import" });
    expect(status.recentRuns[1].error).toContain("stopped before it finished");
  });
});
