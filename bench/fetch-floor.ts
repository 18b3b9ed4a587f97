/**
 * The floor of a sync: what fetching the upstream costs with nothing else. Reads the three collections
 * at once from the same upstream Nompd syncs from, with the same headers, following each Bundle's `next`
 * link to the end, and parses every page as JSON. No conversion, no hashing, no SQLite.
 * Usage: bun bench/fetch-floor.ts UPSTREAM_URL API_KEY. Prints {"pages":…,"resources":…}.
 */
const [base, key] = process.argv.slice(2) as [string, string];
const PATHS = ["HreseptGuidelines/PlanDefinition", "HreseptGuidelines/ActivityDefinition", "HreseptReimbursement/RegulatedAuthorization"];
const headers = { accept: "application/fhir+json", "X-API-KEY": key };

let pages = 0;
let resources = 0;
await Promise.all(
  PATHS.map(async (path) => {
    let url: string | undefined = `${base}/${path}`;
    while (url) {
      const response = await fetch(url, { headers });
      if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
      const bundle = (await response.json()) as { entry?: unknown[]; link?: Array<{ relation: string; url: string }> };
      pages++;
      resources += bundle.entry?.length ?? 0;
      const next = bundle.link?.find((l) => l.relation === "next")?.url;
      url = next === undefined ? undefined : new URL(next, url).toString();
    }
  }),
);
console.log(JSON.stringify({ pages, resources }));
export {};
