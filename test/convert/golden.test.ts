/**
 * Golden conversion tests (the conversion rules in README and src/convert/). Every file in test/fixtures/convert/ is one scenario:
 * `{ description, input: { PlanDefinition?, ActivityDefinition?, RegulatedAuthorization? }, expected }`,
 * where `expected` holds the full output models in output order and wire order, and the skip reasons of
 * every collection that skipped anything.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ALL_COLLECTIONS, RAW_COLLECTIONS } from "../../src/collections";
import { convertDataset, type ConvertedDataset, type RawResources } from "../support/convert";
import {
  SKIP_DUPLICATE,
  SKIP_NO_KEY,
  SKIP_NOT_AN_OBJECT,
  SKIP_WRONG_TYPE,
  type SkipReasons,
} from "../../src/convert/dataset";
import { keyOrder, reimbursementGroupOrder, treatmentGroupOrder } from "./wireOrder";

const FIXTURES = join(import.meta.dir, "..", "fixtures", "convert");
const SKIP_REASONS: readonly string[] = [SKIP_NOT_AN_OBJECT, SKIP_WRONG_TYPE, SKIP_NO_KEY, SKIP_DUPLICATE];

/** Each conversion topic must keep at least one scenario. */
const REQUIRED_TOPICS = [
  "natalizumab-seed",
  "disease-group-",
  "rank-",
  "canonical-",
  "alternative-name-",
  "validity-period-",
  "indications-",
  "reimbursement-basis-",
  "legal-basis-",
  "article-numbers-",
  "minimal-",
  "skipped-",
  "norwegian-text-",
  "tolerance-",
];

interface Fixture {
  description: string;
  input: Partial<RawResources>;
  expected: {
    treatmentGroup: unknown[];
    reimbursementGroup: unknown[];
    skipped: Record<string, SkipReasons>;
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Reads one fixture and checks its own shape, so that a malformed fixture fails loudly instead of passing. */
function loadFixture(file: string): Fixture {
  const text = readFileSync(join(FIXTURES, file), "utf8");
  const f = JSON.parse(text) as unknown;
  const fail = (what: string): never => {
    throw new Error(`${file}: ${what}`);
  };
  if (!isObject(f)) return fail("not a JSON object");
  const extra = Object.keys(f).filter((k) => !["description", "input", "expected"].includes(k));
  if (extra.length > 0) fail(`unknown top-level keys ${extra.join(", ")}`);
  if (typeof f.description !== "string" || f.description.trim() === "") fail("description must be a non-empty string");
  if (!isObject(f.input)) return fail("input must be an object");
  for (const [k, v] of Object.entries(f.input)) {
    if (!(RAW_COLLECTIONS as readonly string[]).includes(k)) fail(`input.${k} is not an upstream collection`);
    if (!Array.isArray(v)) fail(`input.${k} must be an array`);
  }
  if (!isObject(f.expected)) return fail("expected must be an object");
  const e = f.expected;
  if (Object.keys(e).join(",") !== "treatmentGroup,reimbursementGroup,skipped") {
    fail("expected must have exactly treatmentGroup, reimbursementGroup, skipped (in that order)");
  }
  if (!Array.isArray(e.treatmentGroup) || !Array.isArray(e.reimbursementGroup)) fail("expected output collections must be arrays");
  if (!isObject(e.skipped)) return fail("expected.skipped must be an object");
  for (const [collection, reasons] of Object.entries(e.skipped)) {
    if (!(ALL_COLLECTIONS as readonly string[]).includes(collection)) fail(`expected.skipped.${collection} is not a collection`);
    if (!isObject(reasons) || Object.keys(reasons).length === 0) fail(`expected.skipped.${collection} must be a non-empty object`);
    for (const [reason, n] of Object.entries(reasons as object)) {
      if (!SKIP_REASONS.includes(reason)) fail(`expected.skipped.${collection} has unknown reason ${JSON.stringify(reason)}`);
      if (!Number.isInteger(n) || (n as number) < 1) fail(`expected.skipped.${collection}.${reason} must be a count ≥ 1`);
    }
  }
  return f as unknown as Fixture;
}

function rawResources(input: Partial<RawResources>): RawResources {
  return {
    PlanDefinition: input.PlanDefinition ?? [],
    ActivityDefinition: input.ActivityDefinition ?? [],
    RegulatedAuthorization: input.RegulatedAuthorization ?? [],
  };
}

function nonEmptySkipped(skipped: ConvertedDataset["skipped"]): Record<string, SkipReasons> {
  return Object.fromEntries(Object.entries(skipped).filter(([, reasons]) => Object.keys(reasons).length > 0));
}

const files = readdirSync(FIXTURES)
  .filter((name) => name.endsWith(".json"))
  .sort();

describe("fixture set", () => {
  test("the folder holds only JSON fixtures, and at least one per conversion topic", () => {
    expect(readdirSync(FIXTURES).filter((name) => !name.endsWith(".json"))).toEqual([]);
    const missing = REQUIRED_TOPICS.filter((topic) => !files.some((f) => f.startsWith(topic)));
    expect(missing).toEqual([]);
  });

  test("every expected document is written in wire order", () => {
    const problems = files.flatMap((file) => {
      const f = loadFixture(file);
      return [
        ...f.expected.treatmentGroup.flatMap((g, i) => treatmentGroupOrder(g, `${file} treatmentGroup[${i}]`)),
        ...f.expected.reimbursementGroup.flatMap((g, i) => reimbursementGroupOrder(g, `${file} reimbursementGroup[${i}]`)),
      ];
    });
    expect(problems).toEqual([]);
  });
});

/** Loads and converts one fixture once, on first use, so that a broken fixture or a throwing conversion fails its own tests only. */
function scenario(file: string) {
  let cached: { fixture: Fixture; input: RawResources; inputCopy: RawResources; result: ConvertedDataset } | undefined;
  return () => {
    if (!cached) {
      const fixture = loadFixture(file);
      const input = rawResources(fixture.input);
      const inputCopy = structuredClone(input);
      cached = { fixture, input, inputCopy, result: convertDataset(input) };
    }
    return cached;
  };
}

for (const file of files) {
  const name = file.replace(/\.json$/, "");
  describe(name, () => {
    const load = scenario(file);
    const outputs = () => {
      const { result } = load();
      return {
        treatmentGroups: result.treatmentGroup.map((d) => d.content),
        reimbursementGroups: result.reimbursementGroup.map((d) => d.content),
      };
    };

    test("treatment groups", () => {
      const { fixture } = load();
      const { treatmentGroups } = outputs();
      expect(treatmentGroups).toStrictEqual(fixture.expected.treatmentGroup as typeof treatmentGroups);
    });

    test("reimbursement groups", () => {
      const { fixture } = load();
      const { reimbursementGroups } = outputs();
      expect(reimbursementGroups).toStrictEqual(fixture.expected.reimbursementGroup as typeof reimbursementGroups);
    });

    test("skipped resources, by collection and reason", () => {
      const { fixture, result } = load();
      expect(nonEmptySkipped(result.skipped)).toEqual(fixture.expected.skipped);
    });

    test("wire order (JSON key order) equals the expected documents'", () => {
      const { fixture } = load();
      const { treatmentGroups, reimbursementGroups } = outputs();
      const problems = [
        ...treatmentGroups.flatMap((g, i) => treatmentGroupOrder(g, `treatmentGroup[${i}]`)),
        ...reimbursementGroups.flatMap((g, i) => reimbursementGroupOrder(g, `reimbursementGroup[${i}]`)),
      ];
      expect(problems).toEqual([]);
      const actual = { treatmentGroup: treatmentGroups, reimbursementGroup: reimbursementGroups };
      const expected = { treatmentGroup: fixture.expected.treatmentGroup, reimbursementGroup: fixture.expected.reimbursementGroup };
      expect(keyOrder(actual)).toEqual(keyOrder(expected));
      expect(JSON.stringify(actual)).toBe(JSON.stringify(expected));
    });

    test("documents are keyed by their id, and every input resource is either kept or counted as skipped", () => {
      const { input, result } = load();
      for (const doc of [...result.treatmentGroup, ...result.reimbursementGroup]) expect(doc.id).toBe(doc.content.id);
      for (const collection of RAW_COLLECTIONS) {
        const skipped = Object.values(result.skipped[collection]).reduce((a, b) => a + b, 0);
        expect(result.raw[collection].length + skipped).toBe(input[collection].length);
      }
      expect(result.treatmentGroup.map((d) => d.id)).toEqual(result.raw.PlanDefinition.map((d) => d.id));
      expect(result.reimbursementGroup.map((d) => d.id)).toEqual(result.raw.RegulatedAuthorization.map((d) => d.id));
    });

    test("conversion is pure: the input is not changed and a second run gives the same output", () => {
      const { input, inputCopy, result } = load();
      expect(input).toStrictEqual(inputCopy);
      const again = convertDataset(structuredClone(inputCopy));
      expect(JSON.stringify(again.treatmentGroup)).toBe(JSON.stringify(result.treatmentGroup));
      expect(JSON.stringify(again.reimbursementGroup)).toBe(JSON.stringify(result.reimbursementGroup));
    });
  });
}
