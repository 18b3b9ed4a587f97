import { describe, expect, test } from "bun:test";
import { reimbursementGroupOrder, treatmentGroupOrder } from "./wireOrder";

describe("the wire-order check follows the model schemas", () => {
  const group = () => ({
    id: "a",
    name: null,
    description: null,
    diseaseGroup: "MS",
    jurisdictions: [{ system: "s", code: "1", display: null }],
    validityPeriod: { start: "2025-01-01", end: null },
    reviewDate: null,
    indications: [{ coding: [], text: "x" }],
    treatmentAlternatives: [{ rank: 1, treatmentId: null, name: null, description: null, medicines: [] }],
  });

  test("a value in schema order passes", () => {
    expect(treatmentGroupOrder(group())).toEqual([]);
    expect(reimbursementGroupOrder({ id: "r", legalBasis: null, indications: [], medicines: [] })).toEqual([]);
  });

  test("keys out of order, missing, extra, or of the wrong kind are each named", () => {
    const g = group() as Record<string, unknown>;
    g.jurisdictions = [{ code: "1", system: "s", display: null }];
    g.validityPeriod = { end: null, start: null };
    g.treatmentAlternatives = "none";
    expect(treatmentGroupOrder(g)).toEqual([
      "treatmentGroup.jurisdictions[0]: keys [code, system, display], wire order is [system, code, display]",
      "treatmentGroup.validityPeriod: keys [end, start], wire order is [start, end]",
      'treatmentGroup.treatmentAlternatives: expected an array, got "none"',
    ]);
    expect(reimbursementGroupOrder({ id: "r", indications: [], medicines: [], extra: 1 })).toEqual([
      "reimbursementGroup: keys [id, indications, medicines, extra], wire order is [id, legalBasis, indications, medicines]",
    ]);
  });
});
