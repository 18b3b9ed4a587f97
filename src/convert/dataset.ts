import { businessKey, isObj, type Obj } from "../fhir/read";
import type { ReimbursementGroup, TreatmentGroup } from "./models";
import { toReimbursementGroup } from "./reimbursementGroup";
import { ActivityIndex, toTreatmentGroup } from "./treatmentGroup";

/** The three upstream collections, in the order they are fetched and reported. */
export const RAW_COLLECTIONS = ["PlanDefinition", "ActivityDefinition", "RegulatedAuthorization"] as const;
export type RawCollection = (typeof RAW_COLLECTIONS)[number];

/** The two output collections. */
export const OUTPUT_COLLECTIONS = ["treatmentGroup", "reimbursementGroup"] as const;
export type OutputCollection = (typeof OUTPUT_COLLECTIONS)[number];

export type Collection = RawCollection | OutputCollection;
export const ALL_COLLECTIONS: readonly Collection[] = [...RAW_COLLECTIONS, ...OUTPUT_COLLECTIONS];

export function isRawCollection(v: string): v is RawCollection {
  return (RAW_COLLECTIONS as readonly string[]).includes(v);
}

/** Resources as fetched, one array per collection, before any checks. */
export type RawResources = Record<RawCollection, unknown[]>;

export interface KeyedDocument<T = unknown> {
  id: string;
  content: T;
}

/** Why resources were left out, with counts: `{ "no identifier[0].value": 2 }`. */
export type SkipReasons = Record<string, number>;

export interface ConvertedDataset {
  raw: Record<RawCollection, KeyedDocument<Obj>[]>;
  treatmentGroup: KeyedDocument<TreatmentGroup>[];
  reimbursementGroup: KeyedDocument<ReimbursementGroup>[];
  skipped: Record<Collection, SkipReasons>;
}

export const SKIP_NOT_AN_OBJECT = "not a JSON object";
export const SKIP_WRONG_TYPE = "wrong resourceType";
export const SKIP_NO_KEY = "no identifier[0].value";
export const SKIP_DUPLICATE = "duplicate identifier[0].value (first kept)";

function count(reasons: SkipReasons, reason: string): void {
  reasons[reason] = (reasons[reason] ?? 0) + 1;
}

/** Checks type and business key of each resource; skipped ones are counted by reason, never thrown. */
export function keyResources(collection: RawCollection, resources: unknown[], skipped: SkipReasons): KeyedDocument<Obj>[] {
  const seen = new Set<string>();
  const out: KeyedDocument<Obj>[] = [];
  for (const resource of resources) {
    if (!isObj(resource)) {
      count(skipped, SKIP_NOT_AN_OBJECT);
      continue;
    }
    if (resource.resourceType !== collection) {
      count(skipped, SKIP_WRONG_TYPE);
      continue;
    }
    const id = businessKey(resource);
    if (id === null) {
      count(skipped, SKIP_NO_KEY);
      continue;
    }
    if (seen.has(id)) {
      count(skipped, SKIP_DUPLICATE);
      continue;
    }
    seen.add(id);
    out.push({ id, content: resource });
  }
  return out;
}

/** Pure: raw upstream resources → keyed raw documents and output models, with skip counts. */
export function convertDataset(resources: RawResources): ConvertedDataset {
  const skipped = Object.fromEntries(ALL_COLLECTIONS.map((c) => [c, {}])) as Record<Collection, SkipReasons>;
  const raw = Object.fromEntries(
    // A collection the source did not deliver at all is read as empty.
    RAW_COLLECTIONS.map((c) => [c, keyResources(c, resources[c] ?? [], skipped[c])]),
  ) as Record<RawCollection, KeyedDocument<Obj>[]>;

  const activities = new ActivityIndex(raw.ActivityDefinition.map((d) => d.content));
  return {
    raw,
    treatmentGroup: raw.PlanDefinition.map(({ id, content }) => ({ id, content: toTreatmentGroup(content, id, activities) })),
    reimbursementGroup: raw.RegulatedAuthorization.map(({ id, content }) => ({ id, content: toReimbursementGroup(content, id) })),
    skipped,
  };
}
