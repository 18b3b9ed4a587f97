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

export const ratio = (op: Target["op"], limit: number): Target => ({ op, limit, unit: "×" });

export function met(row: Row): boolean {
  if (row.broken !== undefined || !Number.isFinite(row.value)) return false;
  const { op, limit } = row.target;
  return op === "≥" ? row.value >= limit : op === "≤" ? row.value <= limit : row.value < limit;
}

export const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "n/a";

function valueText(row: Row): string {
  if (row.broken !== undefined) return "broken";
  return row.target.unit === "×" ? `${fmt(row.value, 2)}×` : `${fmt(row.value)} ${row.target.unit}`;
}

function targetText(t: Target): string {
  return t.unit === "×" ? `${t.op} ${fmt(t.limit, 1)}×` : `${t.op} ${fmt(t.limit)} ${t.unit}`;
}

const verdict = (row: Row) => (row.broken !== undefined ? "BROKEN" : met(row) ? "met" : "MISSED");

/** Collects rows, echoing each to stderr as it is measured. */
export class Report {
  readonly rows: Row[] = [];

  add(row: Row): void {
    this.rows.push(row);
    const why = row.broken !== undefined ? `: ${row.broken}` : "";
    console.error(`  ${row.what}: ${valueText(row)} (target ${targetText(row.target)}: ${verdict(row)}${why})  ${row.detail}`);
  }

  /** "9 met, 3 missed, 1 broken". */
  summary(): string {
    const broken = this.rows.filter((r) => r.broken !== undefined).length;
    const hits = this.rows.filter(met).length;
    return `${hits} met, ${this.rows.length - hits - broken} missed${broken > 0 ? `, ${broken} BROKEN (see above)` : ""}`;
  }

  /** The Markdown table that docs/PERFORMANCE.md takes. */
  table(): string {
    const lines = ["| measurement | result | target | | behind it |", "|---|---|---|---|---|"];
    for (const r of this.rows) {
      const detail = r.broken !== undefined ? `${r.broken}${r.detail ? `; ${r.detail}` : ""}` : r.detail;
      lines.push(`| ${r.what} | ${valueText(r)} | ${targetText(r.target)} | ${verdict(r)} | ${detail.replaceAll("|", "\\|")} |`);
    }
    return lines.join("\n");
  }
}
