/** Focused tests of the tolerant FHIR readers, article numbers and resource keying (src/fhir/, src/convert/). */
import { describe, expect, test } from "bun:test";
import { articleNumbers } from "../../src/fhir/articleNumbers";
import {
  asArray,
  businessKey,
  datePart,
  extensionNumber,
  extensionsMatching,
  readCodeableConcept,
  readCoding,
  readCodings,
  readPeriod,
  str,
} from "../../src/fhir/read";
import { convertDataset } from "../support/convert";
import {
  keyResources,
  SKIP_DUPLICATE,
  SKIP_NO_KEY,
  SKIP_NOT_AN_OBJECT,
  SKIP_WRONG_TYPE,
  type SkipReasons,
} from "../../src/convert/dataset";
import { medicinalReference } from "../../src/convert/medicines";
import { reimbursementGroupOrder, treatmentGroupOrder } from "./wireOrder";

const VARENUMMER = "http://nompd.example/fhir/NamingSystem/FEST-Varenummer";

/** Values of every JSON type (and a few that only exist in memory), for "never throws" checks. */
const ODD_VALUES: unknown[] = [
  undefined,
  null,
  0,
  -1,
  1.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  "",
  " ",
  "x",
  true,
  false,
  [],
  [null],
  [undefined],
  ["x"],
  [1],
  [[]],
  {},
  { coding: "x" },
  { coding: [null, "x", 1] },
  { value: 1 },
  { url: 1 },
  { url: null, valueString: "x" },
  [{ url: "rank" }],
  [{ url: "diseaseGroup", valueString: 1 }],
];

describe("read.ts", () => {
  test("asArray: arrays as they are, one value as a one-element list, null and undefined as []", () => {
    const list = [1, 2];
    expect(asArray(list)).toBe(list);
    expect(asArray(undefined)).toEqual([]);
    expect(asArray(null)).toEqual([]);
    expect(asArray({ a: 1 })).toEqual([{ a: 1 }]);
    expect(asArray("x")).toEqual(["x"]);
    expect(asArray(0)).toEqual([0]);
  });

  test("str keeps strings unchanged (no trimming, no normalisation) and turns anything else into null", () => {
    expect(str(" Blå\u0061\u030A ")).toBe(" Blå\u0061\u030A ");
    expect(str("")).toBe("");
    for (const v of [null, undefined, 1, true, [], {}, ["x"]]) expect(str(v)).toBeNull();
  });

  test("businessKey is identifier[0].value when it is a non-empty string", () => {
    expect(businessKey({ identifier: [{ value: "a" }, { value: "b" }] })).toBe("a");
    expect(businessKey({ identifier: [{ system: "s", value: "æøå-1" }] })).toBe("æøå-1");
    expect(businessKey({})).toBeNull();
    expect(businessKey({ identifier: [] })).toBeNull();
    expect(businessKey({ identifier: [{}] })).toBeNull();
    expect(businessKey({ identifier: [{ value: "" }] })).toBeNull();
    expect(businessKey({ identifier: [{ value: 7 }] })).toBeNull();
    expect(businessKey({ identifier: [null, { value: "b" }] })).toBeNull();
    expect(businessKey({ identifier: [{ system: "s" }, { value: "b" }] })).toBeNull();
    expect(businessKey({ identifier: "a" })).toBeNull();
    for (const v of ODD_VALUES) expect(() => businessKey({ identifier: v })).not.toThrow();
  });

  test("readCoding gives {system, code, display} in that order, null for absent or non-string fields", () => {
    const c = readCoding({ display: "Multippel sklerose", code: "G35", system: "urn:oid:2.16.578.1.12.4.1.1.7110", extra: 1 });
    expect(JSON.stringify(c)).toBe('{"system":"urn:oid:2.16.578.1.12.4.1.1.7110","code":"G35","display":"Multippel sklerose"}');
    expect(readCoding({ code: 35, system: ["s"] })).toEqual({ system: null, code: null, display: null });
    for (const v of [null, undefined, "G35", 1, [], [{ code: "G35" }]]) expect(readCoding(v)).toBeNull();
  });

  test("readCodings keeps the coding objects in order and leaves out null, strings and numbers", () => {
    expect(readCodings([null, "G35", { code: "A" }, 3, { code: "B" }]).map((c) => c.code)).toEqual(["A", "B"]);
    expect(readCodings({ code: "A" }).map((c) => c.code)).toEqual(["A"]);
    for (const v of ODD_VALUES) expect(() => readCodings(v)).not.toThrow();
  });

  test("readCodeableConcept keeps text only when upstream has a string text", () => {
    const withText = readCodeableConcept({ text: "Multiple sclerosis", coding: [{ code: "G35" }] });
    expect(JSON.stringify(withText)).toBe('{"coding":[{"system":null,"code":"G35","display":null}],"text":"Multiple sclerosis"}');
    const withoutText = readCodeableConcept({ coding: [{ code: "G35" }] })!;
    expect("text" in withoutText).toBe(false);
    expect("text" in readCodeableConcept({ coding: [], text: 5 })!).toBe(false);
    expect(readCodeableConcept({ text: "" })).toEqual({ coding: [], text: "" });
    for (const v of [null, undefined, "G35", 1, [], [{ coding: [] }]]) expect(readCodeableConcept(v)).toBeNull();
  });

  test("datePart takes the date part of a date or dateTime without time zone conversion", () => {
    expect(datePart("2025-04-10")).toBe("2025-04-10");
    expect(datePart("2025-01-01T00:00:00+01:00")).toBe("2025-01-01");
    expect(datePart("2024-12-31T23:30:00-05:00")).toBe("2024-12-31");
    expect(datePart("2026-12-31T23:59:59.999Z")).toBe("2026-12-31");
    for (const v of ["", "i går", "T12:00:00", 20250410, null, undefined, {}, ["2025-04-10"]]) expect(datePart(v)).toBeNull();
  });

  test("readPeriod gives {start, end} in that order for an object, null otherwise", () => {
    expect(JSON.stringify(readPeriod({ end: "2027-04-30", start: "2025-05-01T08:00:00Z" }))).toBe('{"start":"2025-05-01","end":"2027-04-30"}');
    expect(readPeriod({ start: "2025-05-01" })).toEqual({ start: "2025-05-01", end: null });
    for (const v of [null, undefined, "2025-05-01", 1, [], [{ start: "2025-05-01" }]]) expect(readPeriod(v)).toBeNull();
  });

  test("extensionsMatching matches a URL fragment case-insensitively and skips malformed extensions", () => {
    const a = { url: "http://x/StructureDefinition/reimbursementRegulation", valueString: "a" };
    const b = { url: "HTTP://X/REIMBURSEMENTREGULATION", valueString: "b" };
    const found = extensionsMatching({ extension: [null, "reimbursementRegulation", { url: 5 }, a, { url: "http://x/other" }, b] }, "reimbursementRegulation");
    expect(found).toEqual([a, b]);
    expect(extensionsMatching({ extension: a }, "REIMBURSEMENTregulation")).toEqual([a]);
    for (const v of ODD_VALUES) expect(() => extensionsMatching({ extension: v, modifierExtension: v }, "rank")).not.toThrow();
  });

  test("extensionNumber reads valueInteger, valuePositiveInt, valueDecimal and a numeric valueString", () => {
    expect(extensionNumber({ valueInteger: 3 })).toBe(3);
    expect(extensionNumber({ valuePositiveInt: 4 })).toBe(4);
    expect(extensionNumber({ valueDecimal: 2.5 })).toBe(2.5);
    expect(extensionNumber({ valueString: "2" })).toBe(2);
    expect(extensionNumber({ valueString: "høy" })).toBeNull();
    expect(extensionNumber({ valueString: "" })).toBeNull();
    expect(extensionNumber({ valueString: "Infinity" })).toBeNull();
    expect(extensionNumber({ valueInteger: "3" })).toBeNull();
    expect(extensionNumber({ valueInteger: Number.NaN })).toBeNull();
    expect(extensionNumber({})).toBeNull();
  });
});

describe("articleNumbers.ts", () => {
  const ad = (extra: Record<string, unknown>) => ({ resourceType: "ActivityDefinition", identifier: [{ value: "ad" }], ...extra });
  const ra = (extra: Record<string, unknown>) => ({ resourceType: "RegulatedAuthorization", identifier: [{ value: "ra" }], ...extra });

  test("each place on its own", () => {
    expect(articleNumbers(ad({ articleNumbers: ["1", "2"] }))).toEqual(["1", "2"]);
    expect(articleNumbers(ad({ articleNumber: "3" }))).toEqual(["3"]);
    expect(articleNumbers(ad({ extension: [{ url: "http://x/articleNumber", valueString: "4" }] }))).toEqual(["4"]);
    expect(articleNumbers(ad({ productCodeableConcept: { coding: [{ system: VARENUMMER, code: "5" }] } }))).toEqual(["5"]);
    expect(articleNumbers(ad({ productReference: { identifier: { system: VARENUMMER, value: "6" } } }))).toEqual(["6"]);
    expect(articleNumbers(ra({ subject: [{ identifier: { system: VARENUMMER, value: "7" } }] }))).toEqual(["7"]);
  });

  test("the first place that yields any number wins", () => {
    const codes = { productCodeableConcept: { coding: [{ system: VARENUMMER, code: "9" }] } };
    expect(articleNumbers(ad({ articleNumbers: ["1"], ...codes }))).toEqual(["1"]);
    expect(articleNumbers(ad({ extension: [{ url: "http://x/articleNumber", valueString: "4" }], ...codes }))).toEqual(["4"]);
    expect(articleNumbers(ad({ articleNumbers: [], ...codes }))).toEqual(["9"]);
    expect(articleNumbers(ra({ articleNumber: "3", subject: [{ identifier: { system: VARENUMMER, value: "9" } }] }))).toEqual(["3"]);
  });

  test("de-duplicated in order of first occurrence; other systems ignored", () => {
    expect(articleNumbers(ad({ articleNumbers: ["2", "1", "2", "3", "1"] }))).toEqual(["2", "1", "3"]);
    const coding = [
      { system: "http://www.whocc.no/atc", code: "L04AA23" },
      { system: VARENUMMER, code: "8" },
      { code: "9" },
      { system: VARENUMMER, code: "8" },
    ];
    expect(articleNumbers(ad({ productCodeableConcept: { coding } }))).toEqual(["8"]);
  });

  test("product fields count only on an ActivityDefinition, subject only on a RegulatedAuthorization", () => {
    const product = { productCodeableConcept: { coding: [{ system: VARENUMMER, code: "5" }] } };
    const subject = { subject: [{ identifier: { system: VARENUMMER, value: "7" } }] };
    expect(articleNumbers(ra(product))).toEqual([]);
    expect(articleNumbers(ad(subject))).toEqual([]);
  });

  test("no article numbers anywhere gives []", () => {
    expect(articleNumbers(ra({}))).toEqual([]);
    expect(articleNumbers(ad({}))).toEqual([]);
  });

  test("wrong types in any place never throw", () => {
    const fields = ["articleNumbers", "articleNumber", "extension", "modifierExtension", "productCodeableConcept", "productReference", "subject"];
    for (const field of fields) {
      for (const v of ODD_VALUES) {
        for (const make of [ad, ra]) {
          let out: unknown;
          expect(() => {
            out = articleNumbers(make({ [field]: v }));
          }).not.toThrow();
          expect(Array.isArray(out) && out.every((n) => typeof n === "string" && n !== "")).toBe(true);
        }
        const nested = [{ coding: v }, { identifier: v }, [{ identifier: v }], { coding: [v] }, [{ identifier: [v] }]];
        for (const n of nested) {
          expect(() => articleNumbers(ad({ [field]: n }))).not.toThrow();
          expect(() => articleNumbers(ra({ [field]: n }))).not.toThrow();
        }
      }
    }
  });
});

describe("medicinalReference", () => {
  test("the fixed FEST shape, in wire order", () => {
    expect(JSON.stringify(medicinalReference("166028"))).toBe(
      '{"reference":null,"type":"FEST/LegemiddelPakning","identifier":{"system":"FEST/Varenummer","value":"166028"},"display":null}',
    );
  });
});

describe("keyResources", () => {
  test("skips and counts by reason, first of a duplicate kept", () => {
    const skipped: SkipReasons = {};
    const first = { resourceType: "PlanDefinition", identifier: [{ value: "a" }], name: "first" };
    const kept = keyResources(
      "PlanDefinition",
      [
        null,
        "PlanDefinition",
        [first],
        { resourceType: "ActivityDefinition", identifier: [{ value: "b" }] },
        { resourceType: "PlanDefinition" },
        { resourceType: "PlanDefinition", identifier: [{ value: "" }] },
        first,
        { resourceType: "PlanDefinition", identifier: [{ value: "a" }], name: "second" },
        { resourceType: "PlanDefinition", identifier: [{ value: "c" }] },
      ],
      skipped,
    );
    expect(kept.map((d) => d.id)).toEqual(["a", "c"]);
    expect(kept[0]!.content).toBe(first);
    expect(skipped).toEqual({ [SKIP_NOT_AN_OBJECT]: 3, [SKIP_WRONG_TYPE]: 1, [SKIP_NO_KEY]: 2, [SKIP_DUPLICATE]: 1 });
  });

  test("adds to counts already present", () => {
    const skipped: SkipReasons = { [SKIP_NO_KEY]: 2 };
    keyResources("RegulatedAuthorization", [{ resourceType: "RegulatedAuthorization" }], skipped);
    expect(skipped).toEqual({ [SKIP_NO_KEY]: 3 });
  });
});

describe("convertDataset never throws on wrong types", () => {
  const PD_FIELDS = ["name", "description", "extension", "modifierExtension", "type", "useContext", "effectivePeriod", "lastReviewDate", "goal", "action"];
  const ACTION_FIELDS = ["extension", "definitionCanonical", "definitionUri", "description", "title"];
  const AD_FIELDS = ["name", "description", "extension", "articleNumbers", "articleNumber", "productCodeableConcept", "productReference"];
  const RA_FIELDS = ["extension", "basis", "subject", "articleNumbers", "articleNumber"];

  const base = () => ({
    PlanDefinition: [
      {
        resourceType: "PlanDefinition",
        identifier: [{ value: "pd" }],
        goal: [{ addresses: [{ coding: [{ code: "G35" }] }] }],
        useContext: [{ valueCodeableConcept: { coding: [{ system: "urn:oid:2.16.578.1.12.4.1.102", code: "100022" }] } }],
        action: [{ definitionCanonical: "http://x/ActivityDefinition/ad" }] as Record<string, unknown>[],
      } as Record<string, unknown>,
    ],
    ActivityDefinition: [{ resourceType: "ActivityDefinition", identifier: [{ value: "ad" }], name: "A" } as Record<string, unknown>],
    RegulatedAuthorization: [{ resourceType: "RegulatedAuthorization", identifier: [{ value: "ra" }] } as Record<string, unknown>],
  });

  function check(input: ReturnType<typeof base>, where: string): void {
    let result: ReturnType<typeof convertDataset> | undefined;
    try {
      result = convertDataset(input);
    } catch (e) {
      throw new Error(`${where} threw: ${e}`);
    }
    // Every field stays present, in wire order, with the documented types.
    const problems = [
      ...result.treatmentGroup.flatMap((d) => treatmentGroupOrder(d.content, where)),
      ...result.reimbursementGroup.flatMap((d) => reimbursementGroupOrder(d.content, where)),
    ];
    expect(problems).toEqual([]);
    expect(result.treatmentGroup.map((d) => d.id)).toEqual(["pd"]);
    expect(result.reimbursementGroup.map((d) => d.id)).toEqual(["ra"]);
    for (const { content } of result.treatmentGroup) {
      for (const alt of content.treatmentAlternatives) expect(Number.isFinite(alt.rank)).toBe(true);
    }
  }

  test("in every PlanDefinition, action, ActivityDefinition and RegulatedAuthorization field", () => {
    for (const v of ODD_VALUES) {
      for (const f of PD_FIELDS) {
        const input = base();
        input.PlanDefinition[0]![f] = v;
        check(input, `PlanDefinition.${f} = ${String(JSON.stringify(v))}`);
      }
      for (const f of ACTION_FIELDS) {
        const input = base();
        (input.PlanDefinition[0]!.action as Record<string, unknown>[])[0]![f] = v;
        check(input, `action.${f} = ${String(JSON.stringify(v))}`);
      }
      for (const f of AD_FIELDS) {
        const input = base();
        input.ActivityDefinition[0]![f] = v;
        check(input, `ActivityDefinition.${f} = ${String(JSON.stringify(v))}`);
      }
      for (const f of RA_FIELDS) {
        const input = base();
        input.RegulatedAuthorization[0]![f] = v;
        check(input, `RegulatedAuthorization.${f} = ${String(JSON.stringify(v))}`);
      }
    }
  });

  test("in nested places: goal entries, addresses, codings, useContext values, rank extensions", () => {
    for (const v of ODD_VALUES) {
      const nested: Array<[string, (i: ReturnType<typeof base>) => void]> = [
        ["goal[0]", (i) => (i.PlanDefinition[0]!.goal = [v])],
        ["goal[0].addresses", (i) => (i.PlanDefinition[0]!.goal = [{ addresses: v }])],
        ["goal[0].addresses[0].coding", (i) => (i.PlanDefinition[0]!.goal = [{ addresses: [{ coding: v, text: v }] }])],
        ["useContext[0].valueCodeableConcept", (i) => (i.PlanDefinition[0]!.useContext = [{ valueCodeableConcept: v }])],
        ["useContext[0].valueCodeableConcept.coding", (i) => (i.PlanDefinition[0]!.useContext = [{ valueCodeableConcept: { coding: [v] } }])],
        ["type.coding", (i) => (i.PlanDefinition[0]!.type = { coding: v, text: v })],
        ["effectivePeriod.start", (i) => (i.PlanDefinition[0]!.effectivePeriod = { start: v, end: v })],
        ["action[0]", (i) => (i.PlanDefinition[0]!.action = [v, { definitionCanonical: "ad" }])],
        ["rank extension value", (i) => (i.PlanDefinition[0]!.action = [{ extension: [{ url: "http://x/rank", valueInteger: v, valueDecimal: v, valueString: v }] }])],
        ["diseaseGroup extension value", (i) => (i.PlanDefinition[0]!.extension = [{ url: "http://x/diseaseGroup", valueString: v }])],
        ["basis[0].coding", (i) => (i.RegulatedAuthorization[0]!.basis = [{ coding: v }])],
        ["reimbursementRegulation value", (i) => (i.RegulatedAuthorization[0]!.extension = [{ url: "http://x/reimbursementRegulation", valueCodeableConcept: v }])],
        ["subject[0].identifier", (i) => (i.RegulatedAuthorization[0]!.subject = [{ identifier: v }])],
      ];
      for (const [where, mutate] of nested) {
        const input = base();
        mutate(input);
        check(input, `${where} = ${String(JSON.stringify(v))}`);
      }
    }
  });
});
