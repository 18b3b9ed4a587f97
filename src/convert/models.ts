import type { CodeableConcept, Coding, Period } from "../fhir/read";

/** Output models (SPEC §4). Every field is always present; key order is the wire order. */

export interface MedicinalReference {
  reference: null;
  type: "FEST/LegemiddelPakning";
  identifier: { system: "FEST/Varenummer"; value: string };
  display: null;
}

export interface TreatmentAlternative {
  rank: number;
  treatmentId: string | null;
  name: string | null;
  description: string | null;
  medicines: MedicinalReference[];
}

export interface TreatmentGroup {
  id: string;
  name: string | null;
  description: string | null;
  diseaseGroup: string | null;
  jurisdictions: Coding[];
  validityPeriod: Period | null;
  reviewDate: string | null;
  indications: CodeableConcept[];
  treatmentAlternatives: TreatmentAlternative[];
}

export interface ReimbursementGroup {
  id: string;
  legalBasis: CodeableConcept | null;
  indications: CodeableConcept[];
  medicines: MedicinalReference[];
}
