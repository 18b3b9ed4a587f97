/** Small builders of upstream FHIR resources for store, sync and API tests. */

export const RHF = "urn:oid:2.16.578.1.12.4.1.102";
export const ICD10 = "urn:oid:2.16.578.1.12.4.1.1.7110";
export const VARENUMMER = "http://nompd.example/fhir/NamingSystem/FEST-Varenummer";

export function activity(id: string, name: string, varenummer: string[] = []) {
  return {
    resourceType: "ActivityDefinition",
    identifier: [{ value: id }],
    name,
    productCodeableConcept: { coding: varenummer.map((v) => ({ system: VARENUMMER, code: v })) },
  };
}

export function plan(id: string, name: string, opts: { diseaseGroup?: string; rhf?: string[]; icd?: string[]; actions?: string[]; description?: string } = {}) {
  return {
    resourceType: "PlanDefinition",
    identifier: [{ value: id }],
    name,
    ...(opts.description ? { description: opts.description } : {}),
    extension: opts.diseaseGroup ? [{ url: "http://nompd.example/fhir/StructureDefinition/diseaseGroup", valueString: opts.diseaseGroup }] : [],
    useContext: (opts.rhf ?? []).map((code) => ({ code: { code: "jurisdiction" }, valueCodeableConcept: { coding: [{ system: RHF, code, display: `RHF ${code}` }] } })),
    goal: [{ addresses: (opts.icd ?? []).map((code) => ({ coding: [{ system: ICD10, code, display: `ICD ${code}` }] })) }],
    action: (opts.actions ?? []).map((a, i) => ({
      extension: [{ url: "http://nompd.example/fhir/StructureDefinition/rank", valueInteger: i + 1 }],
      definitionCanonical: `http://nompd.example/fhir/ActivityDefinition/${a}`,
    })),
  };
}

export function authorization(id: string, icd: string[] = [], varenummer: string[] = []) {
  return {
    resourceType: "RegulatedAuthorization",
    identifier: [{ value: id }],
    extension: [
      { url: "http://nompd.example/fhir/StructureDefinition/reimbursementRegulation", valueCodeableConcept: { coding: [{ code: "950", display: "H-resept" }] } },
    ],
    basis: icd.map((code) => ({ coding: [{ system: ICD10, code }] })),
    subject: varenummer.map((v) => ({ identifier: { system: VARENUMMER, value: v } })),
  };
}

export function bundle(resources: unknown[]) {
  return { resourceType: "Bundle", type: "searchset", total: resources.length, entry: resources.map((resource) => ({ resource })) };
}

export interface Dataset {
  PlanDefinition: unknown[];
  ActivityDefinition: unknown[];
  RegulatedAuthorization: unknown[];
}

/** A small dataset: `groups` treatment groups over shared activities, `auths` reimbursement groups. */
export function smallDataset(groups = 4, auths = 6): Dataset {
  const ActivityDefinition = Array.from({ length: 5 }, (_, i) => activity(`ad-${i}`, `Legemiddel ${i} (Merke ${i})`, [`10000${i}`]));
  const PlanDefinition = Array.from({ length: groups }, (_, i) =>
    plan(`pd-${String(i).padStart(3, "0")}`, `Gruppe ${i}`, { diseaseGroup: i % 2 ? "MS" : "Revmatologi", rhf: ["100022"], icd: ["G35"], actions: ["ad-0", "ad-1", `ad-${2 + (i % 3)}`] }),
  );
  const RegulatedAuthorization = Array.from({ length: auths }, (_, i) => authorization(`ra-${String(i).padStart(3, "0")}`, ["G35"], [`20000${i}`]));
  return { PlanDefinition, ActivityDefinition, RegulatedAuthorization };
}

/**
 * A resource nested 150,000 levels deep, as JSON text (JSON.stringify itself cannot write a value this
 * deep): deeper than any real FHIR resource.
 */
export function deepResource(resourceType: string): string {
  return `{"resourceType":"${resourceType}","identifier":[{"value":"deep"}],"extension":[${'{"extension":['.repeat(150_000)}1${"]}".repeat(150_000)}]}`;
}
