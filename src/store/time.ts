/** UTC time as ISO-8601 with seconds and `Z` (`2025-04-10T08:30:00Z`), the format of every stored time. */
export function isoSeconds(date: Date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}
