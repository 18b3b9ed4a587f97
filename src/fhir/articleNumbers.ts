import { asArray, extensionsMatching, isObj, type Obj } from "./read";

/**
 * FEST article numbers (varenummer) of an ActivityDefinition or RegulatedAuthorization.
 * Upstream's place for them is not pinned down, so the places are tried in order and the first that
 * yields any number wins. De-duplicated, upstream order kept.
 */
export function articleNumbers(resource: Obj): string[] {
  // The places in order, written out rather than as a list of closures: this runs for every
  // ActivityDefinition and RegulatedAuthorization of a sync.
  let found = unique(fromProperty(resource));
  if (found.length === 0) found = unique(fromExtensions(resource));
  if (found.length === 0) found = unique(fromVarenummerIdentifiers(resource));
  return found;
}

/** First occurrence of each value kept, in order. */
function unique(values: string[]): string[] {
  // Lists of a few numbers are the rule; a Set pays off only for long ones.
  if (values.length > 16) return [...new Set(values)];
  const out: string[] = [];
  for (const v of values) if (!out.includes(v)) out.push(v);
  return out;
}

function numberString(v: unknown): string | null {
  if (typeof v === "string") return v.trim() === "" ? null : v.trim();
  if (typeof v === "number" && Number.isInteger(v) && v >= 0) return String(v);
  return null;
}

function fromProperty(resource: Obj): string[] {
  const out: string[] = [];
  for (const v of asArray(resource.articleNumbers)) {
    const s = numberString(v);
    if (s) out.push(s);
  }
  const single = numberString(resource.articleNumber);
  if (single) out.push(single);
  return out;
}

function fromExtensions(resource: Obj): string[] {
  const out: string[] = [];
  for (const ext of extensionsMatching(resource, "articleNumber")) {
    const s =
      numberString(ext.valueString) ??
      numberString(ext.valueCode) ??
      numberString(ext.valueInteger) ??
      (isObj(ext.valueIdentifier) ? numberString(ext.valueIdentifier.value) : null) ??
      (isObj(ext.valueCoding) ? numberString(ext.valueCoding.code) : null);
    if (s) out.push(s);
  }
  return out;
}

function isVarenummerSystem(system: unknown): boolean {
  return typeof system === "string" && system.toLowerCase().includes("varenummer");
}

function fromVarenummerIdentifiers(resource: Obj): string[] {
  const out: string[] = [];
  const pushIdentifier = (identifier: unknown) => {
    for (const id of asArray(identifier)) {
      if (isObj(id) && isVarenummerSystem(id.system)) {
        const s = numberString(id.value);
        if (s) out.push(s);
      }
    }
  };
  if (resource.resourceType === "ActivityDefinition") {
    const product = resource.productCodeableConcept;
    if (isObj(product)) {
      for (const c of asArray(product.coding)) {
        if (isObj(c) && isVarenummerSystem(c.system)) {
          const s = numberString(c.code);
          if (s) out.push(s);
        }
      }
    }
    const ref = resource.productReference;
    if (isObj(ref)) pushIdentifier(ref.identifier);
  } else if (resource.resourceType === "RegulatedAuthorization") {
    for (const subject of asArray(resource.subject)) {
      if (isObj(subject)) pushIdentifier(subject.identifier);
    }
  }
  return out;
}
