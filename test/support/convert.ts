import { ALL_COLLECTIONS, RAW_COLLECTIONS, type Collection, type RawCollection } from "../../src/collections";
import { DatasetBuilder, type KeyedDocument, type SkipReasons } from "../../src/convert/dataset";
import type { Obj } from "../../src/fhir/read";
import type { ReimbursementGroup, TreatmentGroup } from "../../src/models";

/** Resources as fetched, one array per collection, before any checks. */
export type RawResources = Record<RawCollection, unknown[]>;

export interface ConvertedDataset {
  raw: Record<RawCollection, KeyedDocument<Obj>[]>;
  treatmentGroup: KeyedDocument<TreatmentGroup>[];
  reimbursementGroup: KeyedDocument<ReimbursementGroup>[];
  skipped: Record<Collection, SkipReasons>;
}

/** Raw upstream resources → keyed raw documents and output models, with skip counts: a sync without a store. */
export function convertDataset(resources: RawResources): ConvertedDataset {
  const out: Record<Collection, KeyedDocument<unknown>[]> = Object.fromEntries(ALL_COLLECTIONS.map((c) => [c, []])) as never;
  const builder = new DatasetBuilder((collection, id, content) => out[collection].push({ id, content }));
  // A collection the source did not deliver at all is read as empty.
  for (const c of RAW_COLLECTIONS) builder.add(c, resources[c] ?? []);
  builder.finish();
  return {
    raw: { PlanDefinition: out.PlanDefinition, ActivityDefinition: out.ActivityDefinition, RegulatedAuthorization: out.RegulatedAuthorization },
    treatmentGroup: out.treatmentGroup,
    reimbursementGroup: out.reimbursementGroup,
    skipped: builder.skipped,
  } as ConvertedDataset;
}
