/**
 * Wire order of the output models (SPEC §4). JSON consumers see keys in insertion order, so the order is
 * part of the contract; these helpers list every place where a value departs from it.
 */

export const TREATMENT_GROUP_KEYS = [
  "id",
  "name",
  "description",
  "diseaseGroup",
  "jurisdictions",
  "validityPeriod",
  "reviewDate",
  "indications",
  "treatmentAlternatives",
];
export const TREATMENT_ALTERNATIVE_KEYS = ["rank", "treatmentId", "name", "description", "medicines"];
export const REIMBURSEMENT_GROUP_KEYS = ["id", "legalBasis", "indications", "medicines"];
export const MEDICINAL_REFERENCE_KEYS = ["reference", "type", "identifier", "display"];
export const MEDICINAL_IDENTIFIER_KEYS = ["system", "value"];
export const CODING_KEYS = ["system", "code", "display"];
export const PERIOD_KEYS = ["start", "end"];

type Problems = string[];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function keys(v: unknown, expected: string[], path: string, problems: Problems): v is Record<string, unknown> {
  if (!isObject(v)) {
    problems.push(`${path}: expected an object, got ${JSON.stringify(v)}`);
    return false;
  }
  const actual = Object.keys(v);
  if (actual.join(",") !== expected.join(",")) problems.push(`${path}: keys [${actual.join(", ")}], wire order is [${expected.join(", ")}]`);
  return true;
}

function list(v: unknown, path: string, problems: Problems, each: (item: unknown, path: string) => void): void {
  if (!Array.isArray(v)) {
    problems.push(`${path}: expected an array, got ${JSON.stringify(v)}`);
    return;
  }
  v.forEach((item, i) => each(item, `${path}[${i}]`));
}

function coding(v: unknown, path: string, problems: Problems): void {
  keys(v, CODING_KEYS, path, problems);
}

function codeableConcept(v: unknown, path: string, problems: Problems): void {
  const expected = isObject(v) && "text" in v ? ["coding", "text"] : ["coding"];
  if (!keys(v, expected, path, problems)) return;
  list(v.coding, `${path}.coding`, problems, (c, p) => coding(c, p, problems));
}

function medicinalReference(v: unknown, path: string, problems: Problems): void {
  if (!keys(v, MEDICINAL_REFERENCE_KEYS, path, problems)) return;
  keys(v.identifier, MEDICINAL_IDENTIFIER_KEYS, `${path}.identifier`, problems);
}

export function treatmentGroupOrder(v: unknown, path = "treatmentGroup"): Problems {
  const problems: Problems = [];
  if (!keys(v, TREATMENT_GROUP_KEYS, path, problems)) return problems;
  list(v.jurisdictions, `${path}.jurisdictions`, problems, (c, p) => coding(c, p, problems));
  if (v.validityPeriod !== null) keys(v.validityPeriod, PERIOD_KEYS, `${path}.validityPeriod`, problems);
  list(v.indications, `${path}.indications`, problems, (c, p) => codeableConcept(c, p, problems));
  list(v.treatmentAlternatives, `${path}.treatmentAlternatives`, problems, (alt, p) => {
    if (!keys(alt, TREATMENT_ALTERNATIVE_KEYS, p, problems)) return;
    list(alt.medicines, `${p}.medicines`, problems, (m, mp) => medicinalReference(m, mp, problems));
  });
  return problems;
}

export function reimbursementGroupOrder(v: unknown, path = "reimbursementGroup"): Problems {
  const problems: Problems = [];
  if (!keys(v, REIMBURSEMENT_GROUP_KEYS, path, problems)) return problems;
  if (v.legalBasis !== null) codeableConcept(v.legalBasis, `${path}.legalBasis`, problems);
  list(v.indications, `${path}.indications`, problems, (c, p) => codeableConcept(c, p, problems));
  list(v.medicines, `${path}.medicines`, problems, (m, p) => medicinalReference(m, p, problems));
  return problems;
}

/** Every object's keys in order, by path: a readable diff when only the order differs. */
export function keyOrder(v: unknown, path = "$", out: string[] = []): string[] {
  if (Array.isArray(v)) {
    v.forEach((item, i) => keyOrder(item, `${path}[${i}]`, out));
  } else if (isObject(v)) {
    out.push(`${path}: ${Object.keys(v).join(",")}`);
    for (const [k, item] of Object.entries(v)) keyOrder(item, `${path}.${k}`, out);
  }
  return out;
}
