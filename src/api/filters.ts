import type { CodeableConcept, Coding } from "../fhir/read";
import type { ReimbursementGroup, TreatmentGroup } from "../convert/models";

/** Filter parameters of the full lists (SPEC §7.2), and which collection each applies to. */
export const FILTERS = {
  diseaseGroup: ["treatmentGroup"],
  jurisdiction: ["treatmentGroup"],
  indication: ["treatmentGroup", "reimbursementGroup"],
  varenummer: ["treatmentGroup", "reimbursementGroup"],
} as const;
export type FilterName = keyof typeof FILTERS;
export const FILTER_NAMES = Object.keys(FILTERS) as FilterName[];

/** The index keys an item is found under, per filter. Matching is exact, except diseaseGroup (case-insensitive). */
export function filterKeys(collection: "treatmentGroup" | "reimbursementGroup", item: TreatmentGroup | ReimbursementGroup): Record<FilterName, string[]> {
  const indicationKeys = (concepts: CodeableConcept[]) =>
    concepts.flatMap((cc) => cc.coding.flatMap((c: Coding) => (c.code === null ? [] : [c.code, `${c.system ?? ""}|${c.code}`])));
  if (collection === "treatmentGroup") {
    const tg = item as TreatmentGroup;
    return {
      diseaseGroup: tg.diseaseGroup === null ? [] : [normalizeDiseaseGroup(tg.diseaseGroup)],
      jurisdiction: tg.jurisdictions.flatMap((j) => (j.code === null ? [] : [j.code])),
      indication: indicationKeys(tg.indications),
      varenummer: tg.treatmentAlternatives.flatMap((a) => a.medicines.map((m) => m.identifier.value)),
    };
  }
  const rg = item as ReimbursementGroup;
  return {
    diseaseGroup: [],
    jurisdiction: [],
    indication: indicationKeys(rg.indications),
    varenummer: rg.medicines.map((m) => m.identifier.value),
  };
}

export function normalizeDiseaseGroup(value: string): string {
  return value.trim().toLocaleLowerCase("nb");
}

/** The key a filter value is looked up by. */
export function lookupKey(filter: FilterName, value: string): string {
  return filter === "diseaseGroup" ? normalizeDiseaseGroup(value) : value.trim();
}
