import { t } from "elysia";

/**
 * Response schemas for the OpenAPI document. Handlers answer prepared bytes (Response objects), which
 * Elysia does not re-validate; these schemas describe them, with the examples of the public docs.
 */

const Coding = t.Object(
  { system: t.Nullable(t.String()), code: t.Nullable(t.String()), display: t.Nullable(t.String()) },
  { title: "Coding" },
);
const CodeableConcept = t.Object({ coding: t.Array(Coding), text: t.Optional(t.String()) }, { title: "CodeableConcept" });
const Period = t.Object({ start: t.Nullable(t.String({ format: "date" })), end: t.Nullable(t.String({ format: "date" })) }, { title: "Period" });
const MedicinalReference = t.Object(
  {
    reference: t.Null(),
    type: t.Literal("FEST/LegemiddelPakning"),
    identifier: t.Object({ system: t.Literal("FEST/Varenummer"), value: t.String({ description: "FEST varenummer" }) }),
    display: t.Null(),
  },
  { title: "MedicinalReference" },
);

export const TreatmentGroup = t.Object(
  {
    id: t.String({ description: "Business key: identifier[0].value of the PlanDefinition" }),
    name: t.Nullable(t.String()),
    description: t.Nullable(t.String()),
    diseaseGroup: t.Nullable(t.String()),
    jurisdictions: t.Array(Coding, { description: "Regional health authorities (RHF, urn:oid:2.16.578.1.12.4.1.102)" }),
    validityPeriod: t.Nullable(Period),
    reviewDate: t.Nullable(t.String({ format: "date" })),
    indications: t.Array(CodeableConcept),
    treatmentAlternatives: t.Array(
      t.Object(
        {
          rank: t.Number(),
          treatmentId: t.Nullable(t.String()),
          name: t.Nullable(t.String()),
          description: t.Nullable(t.String()),
          medicines: t.Array(MedicinalReference),
        },
        { title: "TreatmentAlternative" },
      ),
      { description: "Sorted by rank" },
    ),
  },
  { title: "TreatmentGroup" },
);

export const ReimbursementGroup = t.Object(
  {
    id: t.String({ description: "Business key: identifier[0].value of the RegulatedAuthorization" }),
    legalBasis: t.Nullable(CodeableConcept),
    indications: t.Array(CodeableConcept),
    medicines: t.Array(MedicinalReference),
  },
  { title: "ReimbursementGroup" },
);

export const RawResource = t.Object({ resourceType: t.String() }, { additionalProperties: true, title: "FHIR resource", description: "The resource exactly as upstream sent it" });

function versionedItem<T extends ReturnType<typeof t.Object>>(data: T, title: string) {
  return t.Object(
    {
      data,
      version: t.Integer({ description: "The dataset version in which this item last changed" }),
      lastChanged: t.String({ format: "date-time", description: "UTC time of that sync, e.g. 2025-04-10T08:30:00Z" }),
      isDeleted: t.Boolean({ description: "Always false without sinceVersion; true for items deleted after sinceVersion" }),
    },
    { title },
  );
}

export const VersionedTreatmentGroup = versionedItem(TreatmentGroup, "VersionedTreatmentGroup");
export const VersionedReimbursementGroup = versionedItem(ReimbursementGroup, "VersionedReimbursementGroup");
export const VersionedRawResource = versionedItem(RawResource, "VersionedRawResource");

export function envelopeOf<T extends ReturnType<typeof t.Object>>(item: T, title: string, example?: unknown) {
  return t.Object(
    {
      currentVersion: t.Integer({ description: "The server's current dataset version: store it for the next ?sinceVersion" }),
      items: t.Array(item),
    },
    { title, ...(example ? { examples: [example] } : {}) },
  );
}

export const ErrorBody = t.Object({ error: t.String({ description: "What is wrong and what to do" }) }, { title: "Error" });

export const NATALIZUMAB_EXAMPLE = {
  currentVersion: 5,
  items: [
    {
      data: {
        id: "4077eb19-b094-4712-89b1-c3b5a021ef8d",
        name: "Natalizumab",
        description: "Rangering av natalizumab s.c og i.v formulering",
        diseaseGroup: "MS",
        jurisdictions: [{ system: "urn:oid:2.16.578.1.12.4.1.102", code: "100022", display: "Helse Nord RHF" }],
        validityPeriod: { start: "2025-05-01", end: "2027-04-30" },
        reviewDate: "2025-04-10",
        indications: [
          { coding: [{ system: "urn:oid:2.16.578.1.12.4.1.1.7110", code: "G35", display: "Multippel sklerose" }], text: "Multiple sclerosis" },
        ],
        treatmentAlternatives: [
          {
            rank: 1,
            treatmentId: "6d3c0e9f-dd3f-49e6-8c6c-c3ef1ccdfa1a",
            name: "Natalizumab (Tysabri)",
            description: null,
            medicines: [
              { reference: null, type: "FEST/LegemiddelPakning", identifier: { system: "FEST/Varenummer", value: "166028" }, display: null },
            ],
          },
        ],
      },
      version: 5,
      lastChanged: "2025-04-10T08:30:00Z",
      isDeleted: false,
    },
  ],
};

export const REIMBURSEMENT_EXAMPLE = {
  currentVersion: 5,
  items: [
    {
      data: {
        id: "a1d0c6e2-4c1b-4f4e-9d55-2f6d1b7c9e10",
        legalBasis: { coding: [{ system: "http://nompd.example/fhir/CodeSystem/refusjonshjemmel", code: "950", display: "H-resept" }] },
        indications: [{ coding: [{ system: "urn:oid:2.16.578.1.12.4.1.1.7110", code: "G35", display: "Multippel sklerose" }] }],
        medicines: [{ reference: null, type: "FEST/LegemiddelPakning", identifier: { system: "FEST/Varenummer", value: "166028" }, display: null }],
      },
      version: 5,
      lastChanged: "2025-04-10T08:30:00Z",
      isDeleted: false,
    },
  ],
};

export const INVALID_KEY_EXAMPLE = { error: "Invalid or missing API key." };
