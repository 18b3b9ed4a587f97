import { Type, type SchemaOptions, type Static, type TSchema } from "@sinclair/typebox";

/**
 * The output models, each declared once as a JSON Schema (TypeBox). The TypeScript types are derived
 * from these schemas, the OpenAPI document publishes them as named components, and the order of each
 * object's properties here is the order of its keys on the wire (the converters build objects in this
 * order, and the tests check every converted item against it).
 */

/** The schema, or null; `options` (a description, say) apply to the whole. */
export const Nullable = <T extends TSchema>(schema: T, options?: SchemaOptions) => Type.Union([schema, Type.Null()], options);

/** A whole number ≥ 0. */
export const count = (description?: string) => Type.Integer({ minimum: 0, ...(description ? { description } : {}) });

export const Coding = Type.Object(
  { system: Nullable(Type.String()), code: Nullable(Type.String()), display: Nullable(Type.String()) },
  { $id: "Coding", additionalProperties: false },
);

export const CodeableConcept = Type.Object(
  { coding: Type.Array(Coding), text: Type.Optional(Type.String()) },
  { $id: "CodeableConcept", additionalProperties: false },
);

export const Period = Type.Object(
  { start: Nullable(Type.String({ format: "date" })), end: Nullable(Type.String({ format: "date" })) },
  { $id: "Period", additionalProperties: false },
);

export const MedicinalReference = Type.Object(
  {
    reference: Type.Null(),
    type: Type.Literal("FEST/LegemiddelPakning"),
    identifier: Type.Object(
      { system: Type.Literal("FEST/Varenummer"), value: Type.String({ description: "FEST varenummer" }) },
      { additionalProperties: false },
    ),
    display: Type.Null(),
  },
  { $id: "MedicinalReference", additionalProperties: false },
);

export const TreatmentAlternative = Type.Object(
  {
    rank: Type.Number({ description: "From the action's rank extension, else its 1-based position" }),
    treatmentId: Nullable(Type.String()),
    name: Nullable(Type.String()),
    description: Nullable(Type.String()),
    medicines: Type.Array(MedicinalReference),
  },
  { $id: "TreatmentAlternative", additionalProperties: false },
);

export const TreatmentGroup = Type.Object(
  {
    id: Type.String({ description: "Business key: identifier[0].value of the PlanDefinition" }),
    name: Nullable(Type.String()),
    description: Nullable(Type.String()),
    diseaseGroup: Nullable(Type.String()),
    jurisdictions: Type.Array(Coding, { description: "Regional health authorities (RHF, urn:oid:2.16.578.1.12.4.1.102)" }),
    validityPeriod: Nullable(Period),
    reviewDate: Nullable(Type.String({ format: "date" })),
    indications: Type.Array(CodeableConcept),
    treatmentAlternatives: Type.Array(TreatmentAlternative, { description: "Sorted by rank" }),
  },
  {
    $id: "TreatmentGroup",
    additionalProperties: false,
    description: "A hospital treatment-group ranking (one PlanDefinition with its ActivityDefinitions)",
    examples: [
      {
        id: "4077eb19-b094-4712-89b1-c3b5a021ef8d",
        name: "Natalizumab",
        description: "Rangering av natalizumab s.c og i.v formulering",
        diseaseGroup: "MS",
        jurisdictions: [{ system: "urn:oid:2.16.578.1.12.4.1.102", code: "100022", display: "Helse Nord RHF" }],
        validityPeriod: { start: "2025-05-01", end: "2027-04-30" },
        reviewDate: "2025-04-10",
        indications: [{ coding: [{ system: "urn:oid:2.16.578.1.12.4.1.1.7110", code: "G35", display: "Multippel sklerose" }], text: "Multiple sclerosis" }],
        treatmentAlternatives: [
          {
            rank: 1,
            treatmentId: "6d3c0e9f-dd3f-49e6-8c6c-c3ef1ccdfa1a",
            name: "Natalizumab (Tysabri)",
            description: null,
            medicines: [{ reference: null, type: "FEST/LegemiddelPakning", identifier: { system: "FEST/Varenummer", value: "166028" }, display: null }],
          },
        ],
      },
    ],
  },
);

export const ReimbursementGroup = Type.Object(
  {
    id: Type.String({ description: "Business key: identifier[0].value of the RegulatedAuthorization" }),
    legalBasis: Nullable(CodeableConcept),
    indications: Type.Array(CodeableConcept),
    medicines: Type.Array(MedicinalReference),
  },
  {
    $id: "ReimbursementGroup",
    additionalProperties: false,
    description: "An H-resept reimbursement authorization (one RegulatedAuthorization)",
    examples: [
      {
        id: "a1d0c6e2-4c1b-4f4e-9d55-2f6d1b7c9e10",
        legalBasis: { coding: [{ system: "http://nompd.example/fhir/CodeSystem/refusjonshjemmel", code: "950", display: "H-resept" }] },
        indications: [{ coding: [{ system: "urn:oid:2.16.578.1.12.4.1.1.7110", code: "G35", display: "Multippel sklerose" }] }],
        medicines: [{ reference: null, type: "FEST/LegemiddelPakning", identifier: { system: "FEST/Varenummer", value: "166028" }, display: null }],
      },
    ],
  },
);

export const FhirResource = Type.Object(
  { resourceType: Type.String() },
  { $id: "FhirResource", additionalProperties: true, description: "An upstream FHIR resource, exactly as upstream sent it" },
);

const Counts = Type.Object(
  {
    fetched: Type.Integer({ minimum: 0 }),
    added: Type.Integer({ minimum: 0 }),
    changed: Type.Integer({ minimum: 0 }),
    deleted: Type.Integer({ minimum: 0 }),
    revived: Type.Integer({ minimum: 0 }),
    unchanged: Type.Integer({ minimum: 0 }),
    skipped: Type.Integer({ minimum: 0 }),
    skippedReasons: Type.Record(Type.String(), Type.Integer({ minimum: 0 }), { description: "Why resources were left out, with counts" }),
  },
  { $id: "CollectionCounts", additionalProperties: false },
);

export const RUN_TRIGGERS = ["schedule", "startup", "http", "cli", "import", "first-run"] as const;
export const RUN_STATUSES = ["running", "succeeded", "no_changes", "failed", "aborted_by_guard", "aborted"] as const;

export const SyncRun = Type.Object(
  {
    id: Type.Integer({ minimum: 1 }),
    trigger: Type.Union(RUN_TRIGGERS.map((v) => Type.Literal(v)), { description: "What started the run" }),
    startedAt: Type.String({ format: "date-time" }),
    finishedAt: Nullable(Type.String({ format: "date-time" })),
    status: Type.Union(RUN_STATUSES.map((v) => Type.Literal(v)), { description: "aborted: stopped by a shutdown; aborted_by_guard: stopped by the mass-deletion guard" }),
    version: Nullable(Type.Integer({ minimum: 0, description: "The dataset version after the run" })),
    counts: Type.Record(Type.String(), Counts, { description: "Per collection" }),
    error: Nullable(Type.String()),
  },
  { $id: "SyncRun", additionalProperties: false, description: "One sync run, as recorded" },
);

export const Fallbacks = Type.Object(
  {
    diseaseGroup: Type.Object(
      { extension: count(), typeText: count(), typeCodingDisplay: count(), none: count() },
      { additionalProperties: false, description: "Where each treatment group's disease group came from" },
    ),
    rank: Type.Object({ extension: count(), position: count() }, { additionalProperties: false, description: "Where each treatment alternative's rank came from" }),
    unresolvedCanonicals: count("Treatment alternatives whose definitionCanonical named no known ActivityDefinition"),
    reimbursementWithoutArticleNumbers: count("Reimbursement groups without any article number (no medicines)"),
  },
  { $id: "Fallbacks", additionalProperties: false, description: "How often the conversion fell back from the first place its rules name" },
);

export const DryRunReport = Type.Object(
  {
    dryRun: Type.Literal(true),
    outcome: Type.Union([Type.Literal("would_succeed"), Type.Literal("no_changes"), Type.Literal("stopped_by_guard")]),
    currentVersion: count(),
    wouldBeVersion: Nullable(Type.Integer({ minimum: 1, description: "The version the sync would make, or null when it would make none" })),
    counts: Type.Record(Type.String(), Counts, { description: "Per collection: what the sync would do" }),
    fallbacks: Fallbacks,
    guard: Nullable(Type.String({ description: "The mass-deletion guard's verdict when it would stop the sync" })),
    ignored: Type.Record(Type.String(), count(), { description: "Resources of other types met and left out, by resourceType" }),
  },
  { $id: "DryRunReport", additionalProperties: false, description: "What a sync would do; nothing was written" },
);

export const Time = (description?: string) => Type.String({ format: "date-time", ...(description ? { description } : {}) });

/** A key's scope: read (the consumer API) or admin (also /api/internal). */
export const Scope = Type.Union([Type.Literal("read"), Type.Literal("admin")]);

export const ApiKey = Type.Object(
  {
    name: Type.String(),
    scope: Scope,
    createdAt: Time(),
    revokedAt: Nullable(Time()),
    lastUsedAt: Nullable(Time("Noted at most once a minute")),
  },
  { $id: "ApiKey", additionalProperties: false, description: "An API key's record (never the key itself)" },
);

const VersionCounts = Type.Object({ added: count(), changed: count(), deleted: count(), revived: count() }, { additionalProperties: false });

export const DatasetVersion = Type.Object(
  {
    version: Type.Integer({ minimum: 1 }),
    createdAt: Time("When the sync that made it started (the lastChanged of its items)"),
    runId: Nullable(Type.Integer({ minimum: 1, description: "The sync run that made it; null for versions older than the run records, or whose run was pruned" })),
    counts: Nullable(Type.Record(Type.String(), VersionCounts, { description: "Per collection; null for versions made before counts were recorded" })),
  },
  { $id: "DatasetVersion", additionalProperties: false, description: "One dataset version and what it changed" },
);

/**
 * One item a dataset version changed. `collection` is the schema of the collection names: the registry
 * (collections.ts) builds it, and the entry with it (VersionChange there), as the registry reads these
 * models and so cannot be read by them.
 */
export function versionChange<C extends TSchema>(collection: C) {
  return Type.Object(
    {
      collection,
      id: Type.String(),
      label: Nullable(Type.String({ description: "The item's name (treatment group), indication (reimbursement group) or name/title (upstream resource)" })),
      change: Type.Union([Type.Literal("added"), Type.Literal("changed"), Type.Literal("deleted"), Type.Literal("revived")]),
    },
    { additionalProperties: false },
  );
}

/** Every named model, for the OpenAPI document's components and for validators that resolve $ref. */
export const MODELS = [Coding, CodeableConcept, Period, MedicinalReference, TreatmentAlternative, TreatmentGroup, ReimbursementGroup, FhirResource, Counts, SyncRun, Fallbacks, DryRunReport] as const;

export type Coding = Static<typeof Coding>;
export type CodeableConcept = Static<typeof CodeableConcept>;
export type Period = Static<typeof Period>;
export type MedicinalReference = Static<typeof MedicinalReference>;
export type TreatmentAlternative = Static<typeof TreatmentAlternative>;
export type TreatmentGroup = Static<typeof TreatmentGroup>;
export type ReimbursementGroup = Static<typeof ReimbursementGroup>;
export type CollectionCounts = Static<typeof Counts>;
export type SyncRun = Static<typeof SyncRun>;
export type Fallbacks = Static<typeof Fallbacks>;
export type DryRunReport = Static<typeof DryRunReport>;
export type Scope = Static<typeof Scope>;
export type ApiKey = Static<typeof ApiKey>;
export type DatasetVersion = Static<typeof DatasetVersion>;
