/**
 * Tolerant readers for the few FHIR shapes Nompd uses. The upstream is "R5-ish" and not strictly
 * conformant, so every reader accepts `unknown` and returns a narrow value or a neutral fallback
 * (null / []), never throwing on an unexpected shape.
 */

import type { CodeableConcept, Coding, Period } from "../models";

export type { CodeableConcept, Coding, Period };
export type Json = unknown;
export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** An array as is, a single object as a one-element array, anything else as []. */
export function asArray(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (v === undefined || v === null) return [];
  return [v];
}

export function str(v: unknown): string | null {
  return typeof v === "string" ? v : null;
}

/** `identifier[0].value`, the business key of every resource; null when absent or not a non-empty string. */
export function businessKey(resource: Obj): string | null {
  const first = asArray(resource.identifier)[0];
  if (!isObj(first)) return null;
  const value = first.value;
  return typeof value === "string" && value.trim() !== "" ? value : null;
}

export function readCoding(v: unknown): Coding | null {
  if (!isObj(v)) return null;
  return { system: str(v.system), code: str(v.code), display: str(v.display) };
}

export function readCodings(v: unknown): Coding[] {
  const out: Coding[] = [];
  for (const c of asArray(v)) {
    const coding = readCoding(c);
    if (coding) out.push(coding);
  }
  return out;
}

export function readCodeableConcept(v: unknown): CodeableConcept | null {
  if (!isObj(v)) return null;
  const cc: CodeableConcept = { coding: readCodings(v.coding) };
  const text = str(v.text);
  if (text !== null) cc.text = text;
  return cc;
}

/** The date part (`YYYY-MM-DD`) of a FHIR date or dateTime; null for anything else. */
export function datePart(v: unknown): string | null {
  if (typeof v !== "string") return null;
  const m = /^(\d{4}(?:-\d{2}(?:-\d{2})?)?)/.exec(v.trim());
  return m ? m[1]! : null;
}

export function readPeriod(v: unknown): Period | null {
  if (!isObj(v)) return null;
  return { start: datePart(v.start), end: datePart(v.end) };
}

/** Extensions (and modifierExtensions) whose URL contains `fragment`, compared case-insensitively. */
export function extensionsMatching(resource: Obj, fragment: string): Obj[] {
  const needle = fragment.toLowerCase();
  const out: Obj[] = [];
  collectMatching(resource.extension, fragment, needle, out);
  collectMatching(resource.modifierExtension, fragment, needle, out);
  return out;
}

// Called for every resource of a sync: no intermediate arrays, and a URL that holds the fragment as
// spelled (the usual case) is not lower-cased. A URL that contains `fragment` also contains it lower-cased.
function collectMatching(extensions: unknown, fragment: string, needle: string, out: Obj[]): void {
  if (extensions === undefined || extensions === null) return;
  if (!Array.isArray(extensions)) {
    if (urlMatches(extensions, fragment, needle)) out.push(extensions as Obj);
    return;
  }
  for (const ext of extensions) if (urlMatches(ext, fragment, needle)) out.push(ext as Obj);
}

function urlMatches(ext: unknown, fragment: string, needle: string): boolean {
  if (!isObj(ext)) return false;
  const url = ext.url;
  return typeof url === "string" && (url.includes(fragment) || url.toLowerCase().includes(needle));
}

/** A number from valueInteger / valuePositiveInt / valueUnsignedInt / valueDecimal / numeric valueString. */
export function extensionNumber(ext: Obj): number | null {
  for (const key of ["valueInteger", "valuePositiveInt", "valueUnsignedInt", "valueDecimal"]) {
    const v = ext[key];
    if (typeof v === "number" && Number.isFinite(v)) return v;
  }
  const s = ext.valueString;
  if (typeof s === "string" && s.trim() !== "") {
    const n = Number(s.trim());
    if (Number.isFinite(n)) return n;
  }
  return null;
}
