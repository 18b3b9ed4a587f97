import type { TSchema } from "@sinclair/typebox";
import { ReimbursementGroup, TreatmentGroup } from "../../src/models";

/**
 * Wire order of the output models. JSON consumers see keys in insertion order, so the order is part of
 * the contract; the schemas in src/models.ts state it (property order), and this lists every place where
 * a value departs from it: keys missing, extra or out of order, or a value of the wrong kind.
 */
type Problems = string[];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function check(schema: TSchema, v: unknown, path: string, problems: Problems): void {
  if (schema.anyOf) {
    // Nullable: null, or the other branch.
    if (v === null && (schema.anyOf as TSchema[]).some((s) => s.type === "null")) return;
    const other = (schema.anyOf as TSchema[]).find((s) => s.type !== "null")!;
    check(other, v, path, problems);
    return;
  }
  if (schema.type === "array") {
    if (!Array.isArray(v)) problems.push(`${path}: expected an array, got ${JSON.stringify(v)}`);
    else v.forEach((item, i) => check(schema.items as TSchema, item, `${path}[${i}]`, problems));
    return;
  }
  if (schema.type === "object") {
    if (!isObject(v)) {
      problems.push(`${path}: expected an object, got ${JSON.stringify(v)}`);
      return;
    }
    const properties = schema.properties as Record<string, TSchema>;
    const required = new Set((schema.required as string[] | undefined) ?? []);
    const expected = Object.keys(properties).filter((k) => required.has(k) || k in v);
    const actual = Object.keys(v);
    if (actual.join(",") !== expected.join(",")) problems.push(`${path}: keys [${actual.join(", ")}], wire order is [${expected.join(", ")}]`);
    for (const k of expected) if (k in v) check(properties[k]!, v[k], `${path}.${k}`, problems);
  }
}

export function treatmentGroupOrder(v: unknown, path = "treatmentGroup"): Problems {
  const problems: Problems = [];
  check(TreatmentGroup, v, path, problems);
  return problems;
}

export function reimbursementGroupOrder(v: unknown, path = "reimbursementGroup"): Problems {
  const problems: Problems = [];
  check(ReimbursementGroup, v, path, problems);
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
