import { Type, type Static, type TSchema } from "@sinclair/typebox";
import { FhirResource, ReimbursementGroup, TreatmentGroup, versionChange, type CodeableConcept } from "./models";

/**
 * Every collection Nompd keeps, once: the three upstream FHIR collections (stored raw, as upstream sent
 * them) and the two output collections converted from them. The store, the sync, the HTTP routes, the
 * OpenAPI document, the metrics and the command line all read their lists from here. Adding a
 * collection means an entry here, and for an output collection its converter in convert/dataset.ts.
 */

export interface RawCollectionDef {
  kind: "raw";
  /** The FHIR service under the upstream base URL: `<base>/<service>/<name>`. */
  service: string;
  schema: TSchema;
  summary: string;
  /** JSON paths (SQLite json_extract) whose first non-null value names an item in lists of changes. */
  label: string[];
}

export interface FilterDef<T> {
  description: string;
  /** The index keys an item is found under. */
  keys(item: T): string[];
}

export interface OutputCollectionDef<T> {
  kind: "output";
  schema: TSchema;
  summary: string;
  /** JSON paths (SQLite json_extract) whose first non-null value names an item in lists of changes. */
  label: string[];
  /** Filter parameters of the full list: name → how an item is found. */
  filters: Record<string, FilterDef<T>>;
}

const indicationKeys = (concepts: CodeableConcept[]) =>
  concepts.flatMap((cc) => cc.coding.flatMap((c) => (c.code === null ? [] : [c.code, `${c.system ?? ""}|${c.code}`])));

/** How a filter value is compared: disease groups ignore letter case; all values ignore surrounding space. */
export function normalizeFilterValue(filter: string, value: string): string {
  return filter === "diseaseGroup" ? value.trim().toLocaleLowerCase("nb") : value.trim();
}

const INDICATION = "Items with this indication: an ICD-10 code (G35) or system|code (urn:oid:2.16.578.1.12.4.1.1.7110|G35)";
const VARENUMMER = "Items that list this FEST varenummer (package), e.g. 166028";

const treatmentGroup: OutputCollectionDef<TreatmentGroup> = {
  kind: "output",
  schema: TreatmentGroup,
  summary: "Treatment groups (hospital treatment-group rankings)",
  label: ["$.name", "$.diseaseGroup"],
  filters: {
    diseaseGroup: {
      description: "Treatment groups of this disease group (case-insensitive), e.g. MS",
      keys: (g) => (g.diseaseGroup === null ? [] : [normalizeFilterValue("diseaseGroup", g.diseaseGroup)]),
    },
    jurisdiction: {
      description: "Treatment groups valid in this regional health authority (RHF code, urn:oid:2.16.578.1.12.4.1.102), e.g. 100022",
      keys: (g) => g.jurisdictions.flatMap((j) => (j.code === null ? [] : [j.code])),
    },
    indication: { description: INDICATION, keys: (g) => indicationKeys(g.indications) },
    varenummer: { description: VARENUMMER, keys: (g) => g.treatmentAlternatives.flatMap((a) => a.medicines.map((m) => m.identifier.value)) },
  },
};

const reimbursementGroup: OutputCollectionDef<ReimbursementGroup> = {
  kind: "output",
  schema: ReimbursementGroup,
  summary: "Reimbursement groups (H-resept reimbursement authorizations)",
  label: ["$.indications[0].coding[0].display", "$.indications[0].coding[0].code"],
  filters: {
    indication: { description: INDICATION, keys: (g) => indicationKeys(g.indications) },
    varenummer: { description: VARENUMMER, keys: (g) => g.medicines.map((m) => m.identifier.value) },
  },
};

const raw = (service: string, name: string, label: string[]): RawCollectionDef => ({
  kind: "raw",
  service,
  schema: FhirResource,
  label,
  summary: `Raw upstream ${name} resources, exactly as upstream sent them`,
});

/** The three upstream collections, in the order they are fetched and reported. */
export const RAW = {
  PlanDefinition: raw("HreseptGuidelines", "PlanDefinition", ["$.name", "$.title"]),
  ActivityDefinition: raw("HreseptGuidelines", "ActivityDefinition", ["$.name", "$.title"]),
  RegulatedAuthorization: raw("HreseptReimbursement", "RegulatedAuthorization", ["$.basis.coding[0].display", "$.description"]),
} as const;

/** The two output collections. */
export const OUTPUT = { treatmentGroup, reimbursementGroup } as const;

export type RawCollection = keyof typeof RAW;
export type OutputCollection = keyof typeof OUTPUT;
export type Collection = RawCollection | OutputCollection;

export const RAW_COLLECTIONS = Object.keys(RAW) as RawCollection[];
export const OUTPUT_COLLECTIONS = Object.keys(OUTPUT) as OutputCollection[];
export const ALL_COLLECTIONS: readonly Collection[] = [...RAW_COLLECTIONS, ...OUTPUT_COLLECTIONS];

/** One item a dataset version changed (GET /api/v1/versions/{version}), in one of these collections. */
export const VersionChange = versionChange(
  Type.Union(
    ALL_COLLECTIONS.map((c) => Type.Literal(c)),
    { description: "A collection: an output one (treatmentGroup, reimbursementGroup) or an upstream one" },
  ),
);
export type VersionChange = Static<typeof VersionChange>;

export function isRawCollection(v: string): v is RawCollection {
  return Object.hasOwn(RAW, v);
}

export function isOutputCollection(v: string): v is OutputCollection {
  return Object.hasOwn(OUTPUT, v);
}

/** A collection's entry, whichever kind it is. */
export function collectionDef(c: Collection): RawCollectionDef | OutputCollectionDef<unknown> {
  return isOutputCollection(c) ? OUTPUT[c] : RAW[c];
}
