import { describe, expect, test } from "bun:test";
import type { ReimbursementGroup, TreatmentGroup } from "../../src/models";
import { changesOf, reimbursementGroupChanges, treatmentGroupChanges } from "../../src/ui/web/diff";

/** The status page's before/after of one item: lines a person reads. */

const med = (v: string) => ({ reference: null, type: "FEST/LegemiddelPakning" as const, identifier: { system: "FEST/Varenummer" as const, value: v }, display: null });
const alt = (rank: number, id: string, name: string, meds: string[] = []) => ({ rank, treatmentId: id, name, description: null, medicines: meds.map(med) });
const rhf = (code: string, display: string) => ({ system: "urn:oid:2.16.578.1.12.4.1.102", code, display });
const icd = (code: string, display: string) => ({ coding: [{ system: "urn:oid:2.16.578.1.12.4.1.1.7110", code, display }] });

const group: TreatmentGroup = {
  id: "g",
  name: "MS - høyaktiv sykdom",
  description: "Rangering",
  diseaseGroup: "MS",
  jurisdictions: [rhf("100020", "Helse Sør-Øst RHF")],
  validityPeriod: { start: "2025-02-01", end: "2026-01-31" },
  reviewDate: "2025-01-14",
  indications: [icd("G35", "Multippel sklerose")],
  treatmentAlternatives: [alt(1, "a", "Ocrelizumab (Ocrevus)", ["562880"]), alt(2, "b", "Ofatumumab (Kesimpta)", ["153216"]), alt(3, "c", "Natalizumab (Tysabri)", ["166028"])],
};

describe("treatment groups", () => {
  test("a swap of ranks reads as rank moves, in the new order", () => {
    const after = structuredClone(group);
    after.treatmentAlternatives = [alt(1, "b", "Ofatumumab (Kesimpta)", ["153216"]), alt(2, "a", "Ocrelizumab (Ocrevus)", ["562880"]), alt(3, "c", "Natalizumab (Tysabri)", ["166028"])];
    expect(treatmentGroupChanges(group, after)).toEqual(["rank 2 → 1: Ofatumumab (Kesimpta)", "rank 1 → 2: Ocrelizumab (Ocrevus)"]);
  });

  test("fields, regions, indications, alternatives added and removed, medicines", () => {
    const after = structuredClone(group);
    after.name = "MS – høyaktiv";
    after.validityPeriod = { start: "2025-02-01", end: "2027-01-31" };
    after.reviewDate = null;
    after.jurisdictions.push(rhf("100022", "Helse Nord RHF"));
    after.indications = [icd("G35", "Multippel sklerose"), icd("G37", "Annen demyeliniserende sykdom")];
    after.treatmentAlternatives = [alt(1, "a", "Ocrelizumab (Ocrevus)", ["562880", "583916"]), alt(2, "b", "Ofatumumab (Kesimpta)", []), alt(3, "d", "Kladribin (Mavenclad)", ["084122"])];
    expect(treatmentGroupChanges(group, after)).toEqual([
      "name: “MS - høyaktiv sykdom” → “MS – høyaktiv”",
      "validity: 2025-02-01 – 2026-01-31 → 2025-02-01 – 2027-01-31",
      "review date: “2025-01-14” → (none)",
      "regions: added 100022 Helse Nord RHF",
      "indications: added G37 Annen demyeliniserende sykdom",
      "medicines of Ocrelizumab (Ocrevus): added 583916",
      "medicines of Ofatumumab (Kesimpta): removed 153216",
      "new alternative at rank 3: Kladribin (Mavenclad) (varenummer 084122)",
      "alternative removed (was rank 3): Natalizumab (Tysabri)",
    ]);
  });

  test("no change, no line", () => {
    expect(treatmentGroupChanges(group, structuredClone(group))).toEqual([]);
  });
});

describe("reimbursement groups", () => {
  const rg: ReimbursementGroup = { id: "r", legalBasis: { coding: [{ system: null, code: "950", display: "H-resept" }] }, indications: [icd("G35", "Multippel sklerose")], medicines: [med("166028")] };

  test("legal basis, indications and varenummer", () => {
    const after = structuredClone(rg);
    after.legalBasis = null;
    after.indications = [];
    after.medicines.push(med("305668"));
    expect(reimbursementGroupChanges(rg, after)).toEqual([
      "legal basis: “950 H-resept” → (none)",
      "indications: removed G35 Multippel sklerose",
      "medicines (varenummer): added 305668",
    ]);
  });

  test("a change no line describes is still said", () => {
    expect(changesOf("reimbursementGroup", rg, { ...rg, extra: 1 })).toEqual(["the item changed in a way the page does not describe; compare its history through the API"]);
  });
});
