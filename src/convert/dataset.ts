import { businessKey, isObj, type Obj } from "../fhir/read";
import { ALL_COLLECTIONS, RAW_COLLECTIONS, type Collection, type RawCollection } from "../collections";
import { emptyFallbacks } from "./fallbacks";
import { toReimbursementGroup } from "./reimbursementGroup";
import { ActivityIndex, completeTreatmentGroup, readPlanDefinition, type PendingTreatmentGroup } from "./treatmentGroup";

/** A resource or model with its business key. */
export interface KeyedDocument<T = unknown> {
  id: string;
  content: T;
}

/** Why resources were left out, with counts: `{ "no identifier[0].value": 2 }`. */
export type SkipReasons = Record<string, number>;

export const SKIP_NOT_AN_OBJECT = "not a JSON object";
export const SKIP_WRONG_TYPE = "wrong resourceType";
export const SKIP_NO_KEY = "no identifier[0].value";
export const SKIP_DUPLICATE = "duplicate identifier[0].value (first kept)";
/** Deeper than any FHIR resource is: such a value cannot be stored or served safely. */
const MAX_DEPTH = 100;
const SKIP_TOO_DEEP = `nested deeper than ${MAX_DEPTH} levels`;

/**
 * Whether objects and arrays nest deeper than `limit`. The walk descends at most `limit` + 1 levels, so
 * a hostile value cannot overflow the stack; it allocates nothing, since it visits every resource.
 */
function deeperThan(value: unknown, limit: number): boolean {
  return nestsDeeper(value, 1, limit);
}

function nestsDeeper(value: unknown, depth: number, limit: number): boolean {
  if (depth > limit) return true;
  if (Array.isArray(value)) {
    for (const child of value) if (child !== null && typeof child === "object" && nestsDeeper(child, depth + 1, limit)) return true;
  } else if (value !== null && typeof value === "object") {
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue;
      const child = (value as Obj)[key];
      if (child !== null && typeof child === "object" && nestsDeeper(child, depth + 1, limit)) return true;
    }
  }
  return false;
}

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
    if (deeperThan(resource, MAX_DEPTH)) {
      count(skipped, SKIP_TOO_DEEP);
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
 * a treatment group is read as far as it can be at once and completed in finish(), when every
 * ActivityDefinition it may point at has arrived: until then only that pending group is held, not the
 * PlanDefinition. ActivityDefinitions are kept only as the few facts an alternative needs.
 */
export class DatasetBuilder {
  private readonly seen = Object.fromEntries(RAW_COLLECTIONS.map((c) => [c, new Set<string>()])) as Record<RawCollection, Set<string>>;
  readonly skipped = Object.fromEntries(ALL_COLLECTIONS.map((c) => [c, {}])) as Record<Collection, SkipReasons>;
  /** How often each mapping fallback was taken. */
  readonly fallbacks = emptyFallbacks();
  private readonly activities = new ActivityIndex();
  private plans: Array<PendingTreatmentGroup | null> = [];

  constructor(private readonly emit: DocumentSink) {}

  add(collection: RawCollection, resources: unknown[]): void {
    for (const { id, content } of keyResources(collection, resources, this.skipped[collection], this.seen[collection])) {
      this.emit(collection, id, content);
      if (collection === "PlanDefinition") this.plans.push(readPlanDefinition(content, id, this.fallbacks));
      else if (collection === "ActivityDefinition") this.activities.add(id, content);
      else this.emit("reimbursementGroup", id, toReimbursementGroup(content, id, this.fallbacks));
    }
  }

  /** Emits the treatment groups, in PlanDefinition order. */
  finish(): void {
    const plans = this.plans;
    this.plans = [];
    for (let i = 0; i < plans.length; i++) {
      const pending = plans[i]!;
      // Let go of each one as it is done: what finish() makes need not add to what the sync holds.
      plans[i] = null;
      this.emit("treatmentGroup", pending.group.id, completeTreatmentGroup(pending, this.activities, this.fallbacks));
    }
  }
}
