/**
 * Large synthetic upstream datasets for benchmarks, shaped like the national H-resept APIs (and like
 * data/sample): N treatment groups with ranked alternatives, their ActivityDefinitions, and M
 * reimbursement authorizations. Deterministic for given sizes.
 *
 *   bun bench/generate.ts --groups 1000 --auths 5000 --out /tmp/dataset   # writes three Bundle files
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const BASE = "http://nompd.example/fhir";
const RHF = [
  ["100020", "Helse Sør-Øst RHF"],
  ["100021", "Helse Vest RHF"],
  ["100022", "Helse Nord RHF"],
  ["100023", "Helse Midt-Norge RHF"],
] as const;
const DISEASES = [
  ["MS", "G35", "Multippel sklerose"],
  ["Revmatologi", "M05.9", "Seropositiv revmatoid artritt, uspesifisert"],
  ["Psoriasis", "L40.0", "Psoriasis vulgaris"],
  ["IBD", "K50.9", "Crohns sykdom, uspesifisert"],
  ["Hepatitt C", "B18.2", "Kronisk virushepatitt C"],
  ["HIV", "B20", "HIV-sykdom som gir infeksjonssykdommer"],
  ["Astma", "J45.0", "Overveiende allergisk astma"],
  ["Migrene", "G43.9", "Migrene, uspesifisert"],
] as const;

export interface Dataset {
  PlanDefinition: unknown[];
  ActivityDefinition: unknown[];
  RegulatedAuthorization: unknown[];
}

const uuid = (kind: number, i: number) => `${kind.toString(16).padStart(8, "0")}-0000-4000-8000-${i.toString(16).padStart(12, "0")}`;

export function activityDefinition(i: number, variant = 0) {
  return {
    resourceType: "ActivityDefinition",
    id: `ad-${i}`,
    identifier: [{ system: `${BASE}/NamingSystem/hresept-id`, value: uuid(2, i) }],
    status: "active",
    kind: "MedicationRequest",
    name: `Legemiddel ${i} (Merkenavn ${i % 97})${variant ? ` v${variant}` : ""}`,
    description: i % 3 === 0 ? `Behandlingsalternativ nr. ${i}, førstevalg ved stabil sykdom` : undefined,
    productCodeableConcept: {
      coding: [
        { system: "http://www.whocc.no/atc", code: `L04AA${String(i % 90).padStart(2, "0")}` },
        { system: `${BASE}/NamingSystem/FEST-Varenummer`, code: String(100000 + ((i * 2) % 900000)), display: `Pakning ${i} 40 mg 2 stk` },
        { system: `${BASE}/NamingSystem/FEST-Varenummer`, code: String(100001 + ((i * 2) % 900000)), display: `Pakning ${i} 80 mg 1 stk` },
      ],
    },
  };
}

export function planDefinition(i: number, alternatives: number, activityCount: number, variant = 0) {
  const [group, icd, display] = DISEASES[i % DISEASES.length]!;
  const rhfs = i % 5 === 0 ? [RHF[i % 4]!] : RHF;
  return {
    resourceType: "PlanDefinition",
    id: `pd-${i}`,
    identifier: [{ system: `${BASE}/NamingSystem/hresept-id`, value: uuid(1, i) }],
    status: "active",
    name: `Behandlingsgruppe ${i}${variant ? ` (revisjon ${variant})` : ""}`,
    title: `${group}: rangering ${i}`,
    description: `Rangering av legemidler for ${display.toLowerCase()} – anbud ${2025 + (i % 2)}`,
    extension: [{ url: `${BASE}/StructureDefinition/diseaseGroup`, valueString: group }],
    useContext: rhfs.map(([code, name]) => ({
      code: { system: "http://terminology.hl7.org/CodeSystem/usage-context-type", code: "jurisdiction" },
      valueCodeableConcept: { coding: [{ system: "urn:oid:2.16.578.1.12.4.1.102", code, display: name }] },
    })),
    effectivePeriod: { start: "2025-05-01", end: "2027-04-30" },
    lastReviewDate: "2025-04-10",
    goal: [{ addresses: [{ coding: [{ system: "urn:oid:2.16.578.1.12.4.1.1.7110", code: icd, display }], text: display }] }],
    action: Array.from({ length: alternatives }, (_, r) => ({
      title: `Alternativ ${r + 1}`,
      extension: [{ url: `${BASE}/StructureDefinition/rank`, valueInteger: r + 1 }],
      definitionCanonical: `${BASE}/ActivityDefinition/${uuid(2, (i * alternatives + r) % activityCount)}`,
    })),
  };
}

export function regulatedAuthorization(i: number, variant = 0) {
  const [, icd, display] = DISEASES[i % DISEASES.length]!;
  return {
    resourceType: "RegulatedAuthorization",
    id: `ra-${i}`,
    identifier: [{ system: `${BASE}/NamingSystem/hresept-id`, value: uuid(3, i) }],
    status: { coding: [{ code: "active" }] },
    description: `Refusjon etter H-reseptordningen, vedtak ${i}${variant ? ` endret ${variant}` : ""}`,
    extension: [
      {
        url: `${BASE}/StructureDefinition/reimbursementRegulation`,
        valueCodeableConcept: { coding: [{ system: `${BASE}/CodeSystem/refusjonshjemmel`, code: "950", display: "H-resept" }] },
      },
    ],
    basis: [{ coding: [{ system: "urn:oid:2.16.578.1.12.4.1.1.7110", code: icd, display }] }],
    // A variant also lists one more package, so that it changes the reimbursement group, not only the raw resource.
    subject: (variant ? [0, 1, 2] : [0, 1]).map((k) => ({ identifier: { system: `${BASE}/NamingSystem/FEST-Varenummer`, value: String(100000 + ((i * 2 + k) % 900000)) } })),
  };
}

/** `groups` treatment groups with `alternatives` each, over groups × alternatives / 2 activities, and `auths` authorizations. */
export function generateDataset(opts: { groups: number; alternatives?: number; auths: number }): Dataset {
  const alternatives = opts.alternatives ?? 5;
  const activityCount = Math.max(1, Math.ceil((opts.groups * alternatives) / 2));
  return {
    PlanDefinition: Array.from({ length: opts.groups }, (_, i) => planDefinition(i, alternatives, activityCount)),
    ActivityDefinition: Array.from({ length: activityCount }, (_, i) => activityDefinition(i)),
    RegulatedAuthorization: Array.from({ length: opts.auths }, (_, i) => regulatedAuthorization(i)),
  };
}

export function writeBundles(dir: string, dataset: Dataset): void {
  mkdirSync(dir, { recursive: true });
  for (const [type, resources] of Object.entries(dataset)) {
    const bundle = { resourceType: "Bundle", type: "searchset", total: resources.length, entry: resources.map((resource: unknown) => ({ resource })) };
    writeFileSync(join(dir, `${type}.json`), JSON.stringify(bundle));
  }
}

if (import.meta.main) {
  const arg = (name: string, dflt: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i === -1 ? dflt : process.argv[i + 1]!;
  };
  const dataset = generateDataset({ groups: Number(arg("groups", "1000")), alternatives: Number(arg("alternatives", "5")), auths: Number(arg("auths", "2000")) });
  const out = arg("out", "bench-dataset");
  writeBundles(out, dataset);
  console.log(`wrote ${dataset.PlanDefinition.length} PlanDefinition, ${dataset.ActivityDefinition.length} ActivityDefinition, ${dataset.RegulatedAuthorization.length} RegulatedAuthorization to ${out}/`);
}
