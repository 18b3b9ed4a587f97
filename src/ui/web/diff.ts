import type { CodeableConcept, Coding, MedicinalReference, Period, ReimbursementGroup, TreatmentAlternative, TreatmentGroup } from "../../models";

/**
 * What changed in one item between two versions, as lines a person reads ("rank 2 → 1: Ocrelizumab"),
 * not as a JSON diff. Pure functions: no DOM, tested on their own (test/ui/diff.test.ts).
 */

const q = (s: string | null | undefined) => (s === null || s === undefined || s === "" ? "(none)" : `“${s}”`);

function setDiff(before: string[], after: string[]): { added: string[]; removed: string[] } {
  const b = new Set(before);
  const a = new Set(after);
  return { added: after.filter((x) => !b.has(x)), removed: before.filter((x) => !a.has(x)) };
}

function listLine(what: string, before: string[], after: string[]): string[] {
  const { added, removed } = setDiff(before, after);
  const parts = [...(added.length ? [`added ${added.join(", ")}`] : []), ...(removed.length ? [`removed ${removed.join(", ")}`] : [])];
  return parts.length ? [`${what}: ${parts.join("; ")}`] : [];
}

const codingText = (c: Coding): string => [c.code, c.display].filter((x) => x !== null && x !== "").join(" ") || "(no code)";
export const conceptText = (cc: CodeableConcept): string => cc.coding.map(codingText).join(", ") || cc.text || "(no code)";
export const periodText = (p: Period | null): string => (p === null ? "(none)" : `${p.start ?? "…"} – ${p.end ?? "…"}`);
const varenummer = (ms: MedicinalReference[]) => ms.map((m) => m.identifier.value);

function field(name: string, before: string | null, after: string | null): string[] {
  return before === after ? [] : [`${name}: ${q(before)} → ${q(after)}`];
}

/** An alternative's identity across versions: its treatment id, else its name. */
const altKey = (a: TreatmentAlternative) => a.treatmentId ?? `name:${a.name ?? ""}`;
const altName = (a: TreatmentAlternative) => a.name ?? a.treatmentId ?? "(unnamed alternative)";

export function treatmentGroupChanges(before: TreatmentGroup, after: TreatmentGroup): string[] {
  const lines = [
    ...field("name", before.name, after.name),
    ...field("disease group", before.diseaseGroup, after.diseaseGroup),
    ...field("description", before.description, after.description),
    ...(periodText(before.validityPeriod) === periodText(after.validityPeriod) ? [] : [`validity: ${periodText(before.validityPeriod)} → ${periodText(after.validityPeriod)}`]),
    ...field("review date", before.reviewDate, after.reviewDate),
    ...listLine("regions", before.jurisdictions.map(codingText), after.jurisdictions.map(codingText)),
    ...listLine("indications", before.indications.map(conceptText), after.indications.map(conceptText)),
  ];
  const old = new Map(before.treatmentAlternatives.map((a) => [altKey(a), a]));
  const now = new Map(after.treatmentAlternatives.map((a) => [altKey(a), a]));
  const ranked: string[] = [];
  for (const a of after.treatmentAlternatives) {
    const b = old.get(altKey(a));
    if (!b) {
      ranked.push(`new alternative at rank ${a.rank}: ${altName(a)}${a.medicines.length ? ` (varenummer ${varenummer(a.medicines).join(", ")})` : ""}`);
      continue;
    }
    if (b.rank !== a.rank) ranked.push(`rank ${b.rank} → ${a.rank}: ${altName(a)}`);
    if (b.name !== a.name) ranked.push(`name of the alternative at rank ${a.rank}: ${q(b.name)} → ${q(a.name)}`);
    if (b.description !== a.description) ranked.push(`description of ${altName(a)}: ${q(b.description)} → ${q(a.description)}`);
    ranked.push(...listLine(`medicines of ${altName(a)}`, varenummer(b.medicines), varenummer(a.medicines)));
  }
  for (const b of before.treatmentAlternatives) {
    if (!now.has(altKey(b))) ranked.push(`alternative removed (was rank ${b.rank}): ${altName(b)}`);
  }
  return [...lines, ...ranked];
}

export function reimbursementGroupChanges(before: ReimbursementGroup, after: ReimbursementGroup): string[] {
  return [
    ...field("legal basis", before.legalBasis && conceptText(before.legalBasis), after.legalBasis && conceptText(after.legalBasis)),
    ...listLine("indications", before.indications.map(conceptText), after.indications.map(conceptText)),
    ...listLine("medicines (varenummer)", varenummer(before.medicines), varenummer(after.medicines)),
  ];
}

/** The lines for an item of an output collection; a change no line names (none should) is still said. */
export function changesOf(collection: string, before: unknown, after: unknown): string[] {
  const lines =
    collection === "treatmentGroup"
      ? treatmentGroupChanges(before as TreatmentGroup, after as TreatmentGroup)
      : collection === "reimbursementGroup"
        ? reimbursementGroupChanges(before as ReimbursementGroup, after as ReimbursementGroup)
        : [];
  if (lines.length === 0 && JSON.stringify(before) !== JSON.stringify(after)) return ["the item changed in a way the page does not describe; compare its history through the API"];
  return lines;
}
