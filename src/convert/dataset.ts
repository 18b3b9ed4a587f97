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

/**
 * Checks type and business key of each resource; skipped ones are counted by reason, never thrown.
 * `seen` carries the keys met so far when a collection arrives in several pages.
 */
export function keyResources(collection: RawCollection, resources: unknown[], skipped: SkipReasons, seen = new Set<string>()): KeyedDocument<Obj>[] {
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

/** Receives each keyed document as soon as it is known: raw resources and output models alike. */
export type DocumentSink = (collection: Collection, id: string, content: unknown) => void;

/**
 * Builds the dataset page by page as resources arrive, in any order of collections: each resource is
 * checked and keyed at once and handed to `emit`, which decides where it lives (the sync stages it
 * in SQLite, so a large upstream is never held in memory). A reimbursement group is converted at once;
 * treatment groups wait for finish(), when every ActivityDefinition they may point at has arrived, so
 * only PlanDefinitions are held until then. ActivityDefinitions are kept only as the few facts an
 * alternative needs.
 */
export class DatasetBuilder {
  private readonly seen = Object.fromEntries(RAW_COLLECTIONS.map((c) => [c, new Set<string>()])) as Record<RawCollection, Set<string>>;
  readonly skipped = Object.fromEntries(ALL_COLLECTIONS.map((c) => [c, {}])) as Record<Collection, SkipReasons>;
  private readonly activities = new ActivityIndex();
  private plans: KeyedDocument<Obj>[] = [];

  constructor(private readonly emit: DocumentSink) {}

  add(collection: RawCollection, resources: unknown[]): void {
    for (const { id, content } of keyResources(collection, resources, this.skipped[collection], this.seen[collection])) {
      this.emit(collection, id, content);
      if (collection === "PlanDefinition") this.plans.push({ id, content });
      else if (collection === "ActivityDefinition") this.activities.add(id, content);
      else this.emit("reimbursementGroup", id, toReimbursementGroup(content, id));
    }
  }

  /** Emits the treatment groups, in PlanDefinition order. */
  finish(): void {
    for (const { id, content } of this.plans) this.emit("treatmentGroup", id, toTreatmentGroup(content, id, this.activities));
    this.plans = [];
  }
}

/** Pure: raw upstream resources → keyed raw documents and output models, with skip counts. */
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
