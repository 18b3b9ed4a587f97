/*
 * The size limit of one upstream page or import file (--max-page-mib), and how every error that meets it
 * names it: kept apart from fromSettings.ts, which reads the settings, so that what enforces the limit
 * (transport.ts, files.ts) needs nothing of them.
 */

const MIB = 1024 * 1024;

/** The largest upstream page or import file read (--max-page-mib), in bytes. */
export function maxPageBytes(settings: { maxPageMib: number }): number {
  return settings.maxPageMib * MIB;
}

/** The limit a page or a file went over, in the words of every such error: "the 64 MiB allowed for one page (--max-page-mib)". */
export function pageLimit(maxBytes: number, unit: "page" | "file"): string {
  return `the ${Math.floor(maxBytes / MIB)} MiB allowed for one ${unit} (--max-page-mib)`;
}
