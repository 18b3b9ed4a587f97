/** The URL as safe to show: no user info, no query (page tokens are opaque but long). */
export function shown(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}${u.search ? "?…" : ""}`;
  } catch {
    return "(unparseable URL)";
  }
}
