import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { TreatmentGroup } from "../../src/models";
import { convertDataset, type RawResources } from "../support/convert";
import { ROOT } from "../support/binary";
import { tempDir } from "../support/tmp";

/** The bundled sample (data/sample/): what its generator writes, and what the product promises of it. */
const FILES = ["PlanDefinition.json", "ActivityDefinition.json", "RegulatedAuthorization.json"];
const read = (dir: string, name: string) => readFileSync(join(dir, name), "utf8");
const sampleDir = join(ROOT, "data", "sample");

function resources(): RawResources {
  const out = {} as RawResources;
  for (const name of FILES) {
    const bundle = JSON.parse(read(sampleDir, name));
    out[name.replace(".json", "") as keyof RawResources] = bundle.entry.map((e: { resource: unknown }) => e.resource);
  }
  return out;
}

describe("data/sample", () => {
  test("is exactly what data/make-sample.ts writes", () => {
    const dir = tempDir();
    const run = Bun.spawnSync([process.execPath, join(ROOT, "data", "make-sample.ts"), dir], { stdout: "pipe", stderr: "pipe" });
    expect(run.exitCode).toBe(0);
    for (const name of FILES) expect(read(dir, name)).toBe(read(sampleDir, name));
  });

  test("holds the seed page's natalizumab group exactly, and a realistic spread of everything else", () => {
    const converted = convertDataset(resources());
    for (const skipped of Object.values(converted.skipped)) expect(skipped).toEqual({});
    const groups = converted.treatmentGroup.map((d) => d.content);
    const natalizumab = groups.find((g) => g.id === "4077eb19-b094-4712-89b1-c3b5a021ef8d");
    expect(JSON.stringify(natalizumab)).toBe(JSON.stringify(TreatmentGroup.examples[0]));

    expect(groups.length).toBeGreaterThanOrEqual(12);
    expect(new Set(groups.map((g) => g.diseaseGroup)).size).toBeGreaterThanOrEqual(6);
    expect(new Set(groups.flatMap((g) => g.jurisdictions.map((j) => j.code)))).toEqual(new Set(["100020", "100021", "100022", "100023"]));
    for (const g of groups) {
      if (g === natalizumab) continue; // one alternative, as on the seed page
      expect(g.treatmentAlternatives.length).toBeGreaterThanOrEqual(3);
      expect(g.treatmentAlternatives.length).toBeLessThanOrEqual(10);
      // Every alternative resolves to an ActivityDefinition with at least one package.
      for (const a of g.treatmentAlternatives) expect(a.medicines.length).toBeGreaterThan(0);
    }
    const reimbursements = converted.reimbursementGroup.map((d) => d.content);
    expect(reimbursements.length).toBeGreaterThanOrEqual(40);
    for (const r of reimbursements) {
      expect(r.indications.length).toBeGreaterThan(0);
      expect(r.indications.every((i) => i.coding[0]!.system === "urn:oid:2.16.578.1.12.4.1.1.7110")).toBe(true);
      expect(r.legalBasis?.coding[0]?.code).toBe("950");
      expect(r.medicines.length).toBeGreaterThan(0);
    }
    expect(JSON.stringify(groups)).toMatch(/[æøåÆØÅ]/);
  });
});
