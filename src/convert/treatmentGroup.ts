import { articleNumbers } from "../fhir/articleNumbers";
import {
  asArray,
  datePart,
  extensionNumber,
  extensionsMatching,
  isObj,
  readCodeableConcept,
  readCoding,
  readPeriod,
  str,
  type CodeableConcept,
  type Coding,
  type Obj,
} from "../fhir/read";
import type { Fallbacks } from "./fallbacks";
import { medicines } from "./medicines";
import type { TreatmentAlternative, TreatmentGroup } from "../models";

const RHF_SYSTEM = "urn:oid:2.16.578.1.12.4.1.102";

/** What a treatment alternative needs of its ActivityDefinition: read once, the resource itself not kept. */
export interface ActivityFacts {
  treatmentId: string;
  name: string | null;
  description: string | null;
  articleNumbers: string[];
}

/**
 * Resolves `action.definitionCanonical` to an ActivityDefinition: exact match on the business key,
 * else on the canonical's last URL segment without any `|version`.
 */
export class ActivityIndex {
  private readonly byKey = new Map<string, ActivityFacts>();

  /** The first ActivityDefinition with a key wins. */
  add(key: string, ad: Obj): void {
    if (this.byKey.has(key)) return;
    this.byKey.set(key, { treatmentId: key, name: str(ad.name), description: str(ad.description), articleNumbers: articleNumbers(ad) });
  }

  resolve(canonical: string): ActivityFacts | null {
    const exact = this.byKey.get(canonical);
    if (exact) return exact;
    const withoutVersion = canonical.split("|")[0]!;
    const lastSegment = withoutVersion.slice(withoutVersion.lastIndexOf("/") + 1);
    return this.byKey.get(lastSegment) ?? null;
  }
}

function diseaseGroup(pd: Obj, tally: Fallbacks): string | null {
  for (const ext of extensionsMatching(pd, "diseaseGroup")) {
    if (typeof ext.valueString === "string") {
      tally.diseaseGroup.extension++;
      return ext.valueString;
    }
  }
  for (const type of asArray(pd.type)) {
    if (!isObj(type)) continue;
    const text = str(type.text);
    if (text !== null) {
      tally.diseaseGroup.typeText++;
      return text;
    }
    const first = asArray(type.coding)[0];
    if (isObj(first) && typeof first.display === "string") {
      tally.diseaseGroup.typeCodingDisplay++;
      return first.display;
    }
  }
  tally.diseaseGroup.none++;
  return null;
}

function jurisdictions(pd: Obj): Coding[] {
  const out: Coding[] = [];
  for (const ctx of asArray(pd.useContext)) {
    if (!isObj(ctx) || !isObj(ctx.valueCodeableConcept)) continue;
    for (const c of asArray(ctx.valueCodeableConcept.coding)) {
      const coding = readCoding(c);
      if (coding && coding.system === RHF_SYSTEM) out.push(coding);
    }
  }
  return out;
}

function indications(pd: Obj): CodeableConcept[] {
  const out: CodeableConcept[] = [];
  for (const goal of asArray(pd.goal)) {
    if (!isObj(goal)) continue;
    for (const addresses of asArray(goal.addresses)) {
      const cc = readCodeableConcept(addresses);
      if (cc) out.push(cc);
    }
  }
  return out;
}

function rankOf(action: Obj, position: number, tally: Fallbacks): number {
  for (const ext of extensionsMatching(action, "rank")) {
    const n = extensionNumber(ext);
    if (n !== null) {
      tally.rank.extension++;
      return n;
    }
  }
  tally.rank.position++;
  return position;
}

/**
 * A PlanDefinition read as far as it can be before its ActivityDefinitions are known: the treatment
 * group without its alternatives, and per action what its alternative needs besides the activity,
 * already in rank order. Much smaller than the resource, so a sync holds these, not the resources,
 * until every ActivityDefinition has arrived.
 */
export interface PendingTreatmentGroup {
  group: Omit<TreatmentGroup, "treatmentAlternatives">;
  actions: PendingAction[];
}

interface PendingAction {
  rank: number;
  canonical: string | null;
  /** The name when the activity gives none: the action's description, else its title. */
  name: string | null;
}

/** The part of a PlanDefinition's conversion that needs no ActivityDefinition. The caller has checked the business key. */
export function readPlanDefinition(pd: Obj, id: string, tally: Fallbacks): PendingTreatmentGroup {
  const actions: PendingAction[] = [];
  // The fallback rank is the 1-based position in action[] as sent, entries that are not objects included.
  asArray(pd.action).forEach((action, i) => {
    if (!isObj(action)) return;
    actions.push({ rank: rankOf(action, i + 1, tally), canonical: str(action.definitionCanonical) ?? str(action.definitionUri), name: str(action.description) ?? str(action.title) });
  });
  // Array.prototype.sort is stable, so equal ranks keep upstream order.
  actions.sort((a, b) => a.rank - b.rank);
  const group = {
    id,
    name: str(pd.name),
    description: str(pd.description),
    diseaseGroup: diseaseGroup(pd, tally),
    jurisdictions: jurisdictions(pd),
    validityPeriod: readPeriod(pd.effectivePeriod),
    reviewDate: datePart(pd.lastReviewDate),
    indications: indications(pd),
  };
  return { group, actions };
}

/** The treatment group of a pending one, its actions resolved to their ActivityDefinitions. */
export function completeTreatmentGroup(pending: PendingTreatmentGroup, activities: ActivityIndex, tally: Fallbacks): TreatmentGroup {
  const alternatives: TreatmentAlternative[] = pending.actions.map((action) => {
    const ad = action.canonical !== null ? activities.resolve(action.canonical) : null;
    if (!ad) tally.unresolvedCanonicals++;
    return {
      rank: action.rank,
      treatmentId: ad?.treatmentId ?? action.canonical,
      name: ad?.name ?? action.name,
      description: ad?.description ?? null,
      medicines: ad ? medicines(ad.articleNumbers) : [],
    };
  });
  return { ...pending.group, treatmentAlternatives: alternatives };
}
