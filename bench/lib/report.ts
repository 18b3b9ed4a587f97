/**
 * The rows of `make bench`: each is one figure judged against its target, almost always a ratio
 * against a limit measured in the same run. A row whose measurement could not be trusted (a path that
 * answered the wrong status, a floor that fetched the wrong number of pages) is "broken", never "met".
 */

export interface Target {
  /** How the value must compare with `limit` to meet the target. */
  op: "≥" | "≤" | "<";
  limit: number;
  /** "×" for a ratio, or a unit such as "MB". */
  unit: string;
}

export interface Row {
  part: string;
  what: string;
  value: number;
  target: Target;
  /** The figures behind the value: Nompd's and the limit's, with their units. */
  detail: string;
  /** Why the measurement is not valid; the row then counts as missed. */
  broken?: string;
}

/** A row measured and judged by a benchmark of its own (bench/follow.ts), shown as it says. */
export interface JudgedRow {
  part: string;
  what: string;
  result: string;
  target: string;
  /** null: a figure without a target. */
  met: boolean | null;
}

export const ratio = (op: Target["op"], limit: number): Target => ({ op, limit, unit: "×" });

export function met(row: Row): boolean {
  if (row.broken !== undefined || !Number.isFinite(row.value)) return false;
  const { op, limit } = row.target;
  return op === "≥" ? row.value >= limit : op === "≤" ? row.value <= limit : row.value < limit;
}

export const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "n/a";

/** The value, with as many more digits as it takes not to print it as its target when it differs (0.899×, not 0.90×). */
function valueText(row: Row): string {
  if (row.broken !== undefined) return "broken";
  const ratioShown = row.target.unit === "×";
  let digits = ratioShown ? 2 : 0;
  while (digits < 4 && row.value !== row.target.limit && fmt(row.value, digits) === fmt(row.target.limit, digits)) digits++;
  return ratioShown ? `${fmt(row.value, digits)}×` : `${fmt(row.value, digits)} ${row.target.unit}`;
}

function targetText(t: Target): string {
  return t.unit === "×" ? `${t.op} ${fmt(t.limit, 1)}×` : `${t.op} ${fmt(t.limit)} ${t.unit}`;
}

/** A row as the table shows it. */
interface Line {
  what: string;
  result: string;
  target: string;
  verdict: "met" | "MISSED" | "BROKEN" | "";
  detail: string;
}

/** Collects rows, echoing each to stderr as it is measured. */
export class Report {
  private readonly lines: Line[] = [];

  add(row: Row): void {
    const verdict = row.broken !== undefined ? "BROKEN" : met(row) ? "met" : "MISSED";
    const detail = row.broken !== undefined ? `${row.broken}${row.detail ? `; ${row.detail}` : ""}` : row.detail;
    this.push({ what: row.what, result: valueText(row), target: targetText(row.target), verdict, detail });
  }

  addJudged(row: JudgedRow): void {
    this.push({ what: row.what, result: row.result, target: row.target, verdict: row.met === null ? "" : row.met ? "met" : "MISSED", detail: "" });
  }

  private push(line: Line): void {
    this.lines.push(line);
    const judged = line.verdict === "" ? "" : ` (target ${line.target}: ${line.verdict})`;
    console.error(`  ${line.what}: ${line.result}${judged}${line.detail ? `  ${line.detail}` : ""}`);
  }

  /** "9 met, 3 missed, 1 BROKEN (see above)". */
  summary(): string {
    const count = (v: Line["verdict"]) => this.lines.filter((l) => l.verdict === v).length;
    const broken = count("BROKEN");
    return `${count("met")} met, ${count("MISSED")} missed${broken > 0 ? `, ${broken} BROKEN (see above)` : ""}`;
  }

  /** The Markdown table that docs/PERFORMANCE.md takes. */
  table(): string {
    const out = ["| measurement | result | target | | behind it |", "|---|---|---|---|---|"];
    for (const l of this.lines) out.push(`| ${l.what} | ${l.result} | ${l.target} | ${l.verdict} | ${l.detail.replaceAll("|", "\\|")} |`);
    return out.join("\n");
  }
}
