import { listPath } from "../api/routes";
import { isOutputCollection, isRawCollection, type Collection } from "../collections";
import { SourceError } from "../errors";
import { businessKey, isObj } from "../fhir/read";
import type { FeedItem } from "../store/replica";
import { shown } from "../upstream/fhirSource";

/**
 * A primary's `sinceVersion` feeds, as a replica reads them: the same GET any client makes, with the
 * replica's key. Each answer is one snapshot of the primary (currentVersion and items never mix two
 * versions) and names its dataset (X-Nompd-Dataset).
 */

export interface PrimaryOptions {
  /** The primary's base URL (where /api/v1 is found). */
  url: string;
  apiKey: string | null;
}

/** One feed answer. */
export interface FeedAnswer {
  collection: Collection;
  datasetId: string;
  currentVersion: number;
  /** X-Nompd-Diff-Floor (0 when absent). */
  diffFloor: number;
  sample: boolean;
  items: FeedItem[];
}

/**
 * The primary cannot give a diff from the replica's version (409: the replica is ahead of a restored
 * primary; 410: the primary no longer keeps the changes since): start over from a full fetch.
 */
export class StartOver extends SourceError {}

/** A request without an answer for this long is given up (and retried); a long poll gets its wait on top. */
export const FEED_TIMEOUT_MS = 120_000;

function messageOf(body: string): string {
  try {
    const parsed = JSON.parse(body) as unknown;
    if (isObj(parsed) && typeof parsed.error === "string") return parsed.error;
  } catch {
    // Not our error body: say nothing of it (it may be a proxy's page).
  }
  return "";
}

/** GET `<primary>/api/v1/…?sinceVersion=N[&wait=S]`, read and checked. */
export async function fetchFeed(primary: PrimaryOptions, collection: Collection, since: number, wait: number | null, signal: AbortSignal): Promise<FeedAnswer> {
  const url = `${primary.url.replace(/\/+$/, "")}${listPath(collection)}?sinceVersion=${since}${wait === null ? "" : `&wait=${wait}`}`;
  const where = `${collection} at ${shown(url)}`;
  const headers: Record<string, string> = { accept: "application/json" };
  if (primary.apiKey !== null) headers["x-api-key"] = primary.apiKey;
  let res: Response;
  let body: string;
  try {
    // Redirects are not followed: the key would go wherever they point.
    res = await fetch(url, { headers, redirect: "manual", signal: AbortSignal.any([signal, AbortSignal.timeout(FEED_TIMEOUT_MS + (wait ?? 0) * 1000)]) });
    body = await res.text();
  } catch (err) {
    if (signal.aborted) throw err;
    const name = (err as Error)?.name;
    if (name === "TimeoutError") throw new SourceError(`${where}: no answer within ${Math.round(FEED_TIMEOUT_MS / 1000) + (wait ?? 0)} s`);
    throw new SourceError(`${where}: network error (${(err as Error)?.message ?? String(err)})`);
  }
  const said = messageOf(body);
  if (res.status === 409 || res.status === 410) throw new StartOver(`${where}: HTTP ${res.status}${said ? `, ${said}` : ""}`);
  if (res.status === 401 || res.status === 403) {
    throw new SourceError(`${where}: HTTP ${res.status}, the primary refused the key. Check NOMPD_FOLLOW_API_KEY (or --follow-api-key-file): a read-scope key of the primary.`);
  }
  if (res.status >= 300 && res.status < 400) {
    throw new SourceError(`${where}: HTTP ${res.status}, a redirect. Redirects are not followed (the key would go with them): set --follow to the address the primary answers at.`);
  }
  if (res.status === 404) throw new SourceError(`${where}: HTTP 404, no Nompd answers there. Check --follow: the primary's base URL, e.g. https://nompd.example/`);
  if (res.status !== 200) throw new SourceError(`${where}: HTTP ${res.status}${said ? `: ${said}` : ""}`);
  const datasetId = res.headers.get("x-nompd-dataset");
  if (!datasetId) throw new SourceError(`${where}: the answer has no X-Nompd-Dataset header, so it is not a Nompd's. Check --follow.`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new SourceError(`${where}: the answer is not JSON (cut off?)`);
  }
  if (!isObj(parsed) || !Number.isSafeInteger(parsed.currentVersion) || (parsed.currentVersion as number) < 0 || !Array.isArray(parsed.items)) {
    throw new SourceError(`${where}: the answer is not a Nompd list ({"currentVersion":N,"items":[…]}). Check --follow.`);
  }
  const floor = Number(res.headers.get("x-nompd-diff-floor") ?? 0);
  return {
    collection,
    datasetId,
    currentVersion: parsed.currentVersion as number,
    diffFloor: Number.isSafeInteger(floor) && floor > 0 ? floor : 0,
    sample: res.headers.get("x-nompd-sample") === "true",
    items: readItems(collection, parsed.items as unknown[], where),
  };
}

/**
 * The items with the ids they are stored under (a model's `id`; a raw resource's identifier[0].value, as
 * the sync keys it) and their data as JSON text. The primary's text is what JSON.stringify made of each
 * document, so stringifying the parsed data gives it back byte for byte.
 */
function readItems(collection: Collection, items: unknown[], where: string): FeedItem[] {
  const out: FeedItem[] = new Array(items.length);
  const seen = new Set<string>();
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const bad = (what: string) => new SourceError(`${where}: item ${i} ${what}. Nothing was applied.`);
    if (!isObj(item) || !isObj(item.data)) throw bad("has no data object");
    const { data, version, lastChanged, isDeleted } = item;
    if (!Number.isSafeInteger(version) || (version as number) < 1) throw bad("has no version");
    if (typeof lastChanged !== "string" || typeof isDeleted !== "boolean") throw bad("has no lastChanged or isDeleted");
    const id = isOutputCollection(collection) ? (typeof data.id === "string" && data.id !== "" ? data.id : null) : isRawCollection(collection) ? businessKey(data) : null;
    if (id === null) throw bad("has no id");
    if (seen.has(id)) throw bad(`repeats the id "${id}"`);
    seen.add(id);
    out[i] = { id, version: version as number, lastChanged, isDeleted, content: JSON.stringify(data) };
  }
  return out;
}
