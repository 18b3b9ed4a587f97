import { articleNumbers } from "../fhir/articleNumbers";
import { asArray, extensionsMatching, isObj, readCodeableConcept, readCoding, type CodeableConcept, type Obj } from "../fhir/read";
import type { Fallbacks } from "./fallbacks";
import { medicines } from "./medicines";
import type { ReimbursementGroup } from "../models";

function legalBasis(ra: Obj): CodeableConcept | null {
  // extensionsMatching compares case-insensitively: upstream spells the URL in more than one case.
  const ext = extensionsMatching(ra, "reimbursementRegulation")[0];
  return ext ? readCodeableConcept(ext.valueCodeableConcept) : null;
}

/** One `{coding: [c]}` per coding c of `basis`, which may be one CodeableConcept or an array of them. */
function indications(ra: Obj): CodeableConcept[] {
  const out: CodeableConcept[] = [];
  for (const basis of asArray(ra.basis)) {
    if (!isObj(basis)) continue;
    for (const c of asArray(basis.coding)) {
      const coding = readCoding(c);
      if (coding) out.push({ coding: [coding] });
    }
  }
  return out;
}

/** RegulatedAuthorization → ReimbursementGroup. The caller has checked the business key; `tally` counts fallbacks. */
export function toReimbursementGroup(ra: Obj, id: string, tally: Fallbacks): ReimbursementGroup {
  const numbers = articleNumbers(ra);
  if (numbers.length === 0) tally.reimbursementWithoutArticleNumbers++;
  return {
    id,
    legalBasis: legalBasis(ra),
    indications: indications(ra),
    medicines: medicines(numbers),
  };
}
