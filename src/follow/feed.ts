import { listPath } from "../api/paths";
import { isOutputCollection, type Collection } from "../collections";
import { SourceError } from "../errors";
import { businessKey, isObj } from "../fhir/read";
import type { FeedItem } from "../store/replica";
import { shown } from "../upstream/shown";

/** A dataset id, as every Nompd makes them (crypto.randomUUID) and its answers carry them. */
const DATASET_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A primary's `sinceVersion` feeds, as a replica reads them: the same GET any client makes, with the
 * replica's key. Each answer is one snapshot of the primary (currentVersion and items never mix two
 * versions) and names its dataset (X-Nompd-Dataset).
 *
 * An answer is read as it arrives and handed on a thousand items at a time, each item's data as the
 * very text the primary sent: a whole dataset (a list of 65,000 resources is tens of MB) is never held
 * in memory at once, and what is stored is the primary's bytes, not a re-serialisation of them.
 */

export interface PrimaryOptions {
  /** The primary's base URL (where /api/v1 is found). */
  url: string;
  apiKey: string | null;
}

/** One feed answer, its items handed to the sink as they arrived. */
export interface FeedAnswer {
  collection: Collection;
  datasetId: string;
  currentVersion: number;
  /** X-Nompd-Diff-Floor (0 when absent). */
  diffFloor: number;
  sample: boolean;
  /** How many items the answer held. */
  items: number;
}

/**
 * Where an answer's items go: given the answer's dataset id (from its headers, before its body is read),
 * a function that takes its items a batch at a time; it may throw to refuse that dataset.
 */
export type FeedSink = (datasetId: string) => (items: FeedItem[]) => void;

/**
 * The primary cannot give a diff from the replica's version (409: the replica is ahead of a restored
 * primary; 410: the primary no longer keeps the changes since): start over from a full fetch.
 */
export class StartOver extends SourceError {}

/** A request without an answer for this long is given up (and retried); a long poll gets its wait on top. */
const FEED_TIMEOUT_MS = 120_000;
const BATCH = 1000;

/** Carries what the feed's sink threw (this replica's own failure) past the stream's error handling. */
class OwnFailure {
  constructor(readonly cause: unknown) {}
}

function messageOf(body: string): string {
  try {
    const parsed = JSON.parse(body) as unknown;
    if (isObj(parsed) && typeof parsed.error === "string") return parsed.error;
  } catch {
    // Not our error body: say nothing of it (it may be a proxy's page).
  }
  return "";
}

/** GET `<primary>/api/v1/…?sinceVersion=N[&wait=S]`, read, checked and handed to `sink`. */
export async function fetchFeed(primary: PrimaryOptions, collection: Collection, since: number, wait: number | null, signal: AbortSignal, sink: FeedSink): Promise<FeedAnswer> {
  const url = `${primary.url.replace(/\/+$/, "")}${listPath(collection)}?sinceVersion=${since}${wait === null ? "" : `&wait=${wait}`}`;
  const where = `${collection} at ${shown(url)}`;
  const headers: Record<string, string> = { accept: "application/json" };
  if (primary.apiKey !== null) headers["x-api-key"] = primary.apiKey;
  const timeoutSeconds = Math.round(FEED_TIMEOUT_MS / 1000) + (wait ?? 0);
  const failed = (err: unknown): never => {
    if (signal.aborted) throw err;
    if ((err as Error)?.name === "TimeoutError") throw new SourceError(`${where}: no answer within ${timeoutSeconds} s`);
    if (err instanceof SourceError) throw err;
    throw new SourceError(`${where}: network error (${(err as Error)?.message ?? String(err)})`);
  };
  let res: Response;
  try {
    // Redirects are not followed: the key would go wherever they point.
    res = await fetch(url, { headers, redirect: "manual", signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutSeconds * 1000)]) });
  } catch (err) {
    return failed(err);
  }
  if (res.status !== 200) {
    const said = messageOf(await res.text().catch(() => ""));
    if (res.status === 409 || res.status === 410) throw new StartOver(`${where}: HTTP ${res.status}${said ? `, ${said}` : ""}`);
    if (res.status === 401 || res.status === 403) {
      throw new SourceError(`${where}: HTTP ${res.status}, the primary refused the key. Check NOMPD_FOLLOW_API_KEY (or --follow-api-key-file): a read-scope key of the primary.`);
    }
    if (res.status >= 300 && res.status < 400) {
      throw new SourceError(`${where}: HTTP ${res.status}, a redirect. Redirects are not followed (the key would go with them): set --follow to the address the primary answers at.`);
    }
    if (res.status === 404) throw new SourceError(`${where}: HTTP 404, no Nompd answers there. Check --follow: the primary's base URL, e.g. https://nompd.example/`);
    throw new SourceError(`${where}: HTTP ${res.status}${said ? `: ${said}` : ""}`);
  }
  const datasetId = res.headers.get("x-nompd-dataset");
  if (!datasetId || !DATASET_ID.test(datasetId)) {
    await res.body?.cancel();
    throw new SourceError(`${where}: the answer has ${datasetId ? `an X-Nompd-Dataset header that is not a dataset id (a UUID): "${datasetId.slice(0, 64)}"` : "no X-Nompd-Dataset header"}, so it is not a Nompd's. Check --follow.`);
  }
  let take: (items: FeedItem[]) => void;
  try {
    take = sink(datasetId);
  } catch (err) {
    await res.body?.cancel();
    throw err;
  }
  const reader = new ItemReader(collection, where);
  const decoder = new TextDecoder();
  let batch: FeedItem[] = [];
  const onItem = (item: FeedItem) => {
    batch.push(item);
    if (batch.length >= BATCH) {
      try {
        take(batch);
      } catch (err) {
        throw new OwnFailure(err);
      }
      batch = [];
    }
  };
  try {
    for await (const chunk of res.body as ReadableStream<Uint8Array>) reader.push(decoder.decode(chunk, { stream: true }), onItem);
    reader.push(decoder.decode(), onItem);
  } catch (err) {
    // What `take` threw is this replica's own (its database), not the primary's: it passes as it is.
    if (err instanceof OwnFailure) throw err.cause;
    return failed(err);
  }
  const currentVersion = reader.end();
  if (batch.length > 0) take(batch);
  const floor = Number(res.headers.get("x-nompd-diff-floor") ?? 0);
  return {
    collection,
    datasetId,
    currentVersion,
    diffFloor: Number.isSafeInteger(floor) && floor > 0 ? floor : 0,
    sample: res.headers.get("x-nompd-sample") === "true",
    items: reader.count,
  };
}

const HEAD = /^\{"currentVersion":(\d+),"items":\[/;
/** Whether `text` can still become HEAD as more of it arrives. */
function headSoFar(text: string): boolean {
  const open = '{"currentVersion":';
  if (text.length <= open.length) return open.startsWith(text);
  const m = /^\{"currentVersion":\d{1,16}(.*)$/s.exec(text);
  return m !== null && ',"items":['.startsWith(m[1]!);
}
/** What follows an item's data in a Nompd list: `,"version":N,"lastChanged":"…","isDeleted":true|false}`. */
const TAIL = /,"version":(\d+),"lastChanged":"([^"\\]+)","isDeleted":(true|false)\}$/;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN = 0x7b;
const CLOSE = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;

/**
 * Splits a Nompd list (`{"currentVersion":N,"items":[{"data":…,"version":N,"lastChanged":"…",
 * "isDeleted":…},…]}`, compact, in the order of its keys) into items as its text arrives. Each item's
 * data is parsed (it must be JSON, and it names the id) but stored as the text that came.
 */
export class ItemReader {
  count = 0;
  private text = "";
  private at = 0;
  private currentVersion: number | null = null;
  private itemStart = -1;
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** After the items' closing bracket; `closed` after the list's closing brace. */
  private done = false;
  private closed = false;
  private readonly seen = new Set<string>();

  constructor(
    private readonly collection: Collection,
    private readonly where: string,
  ) {}

  private notAList(): SourceError {
    return new SourceError(`${this.where}: the answer is not a Nompd list ({"currentVersion":N,"items":[…]}, compact). Check --follow.`);
  }

  push(chunk: string, onItem: (item: FeedItem) => void): void {
    this.text += chunk;
    if (this.currentVersion === null) {
      const head = HEAD.exec(this.text);
      if (!head) {
        if (!headSoFar(this.text)) throw this.notAList();
        return;
      }
      this.currentVersion = Number(head[1]);
      this.at = head[0].length;
    }
    const text = this.text;
    for (let i = this.at; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.done) {
        if (this.closed || c !== CLOSE) throw this.notAList();
        this.closed = true;
        continue;
      }
      if (this.itemStart === -1) {
        if (c === OPEN) {
          this.itemStart = i;
          this.depth = 1;
        } else if (c === CLOSE_ARRAY) this.done = true;
        else if (c !== COMMA || this.count === 0) throw this.notAList();
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) this.inString = false;
        continue;
      }
      if (c === QUOTE) this.inString = true;
      else if (c === OPEN || c === OPEN_ARRAY) this.depth++;
      else if (c === CLOSE || c === CLOSE_ARRAY) {
        if (--this.depth === 0) {
          onItem(this.item(text.slice(this.itemStart, i + 1)));
          this.itemStart = -1;
        }
      }
    }
    // Keep only what is not consumed: the item under way.
    if (this.itemStart >= 0) {
      this.text = text.slice(this.itemStart);
      this.at = text.length - this.itemStart;
      this.itemStart = 0;
    } else {
      this.text = "";
      this.at = 0;
    }
  }

  /** The answer's currentVersion, once the whole list has come. */
  end(): number {
    if (this.currentVersion === null || !this.closed) {
      throw new SourceError(`${this.where}: the answer ended before the list did (cut off?).`);
    }
    return this.currentVersion;
  }

  private item(text: string): FeedItem {
    const n = this.count++;
    const bad = (what: string) => new SourceError(`${this.where}: item ${n} ${what}. Nothing was applied.`);
    const tail = TAIL.exec(text);
    if (!text.startsWith('{"data":{') || !tail) throw bad('is not {"data":{…},"version":N,"lastChanged":"…","isDeleted":…}');
    const content = text.slice(8, tail.index);
    let data: unknown;
    try {
      data = JSON.parse(content);
    } catch {
      throw bad("has data that is not JSON");
    }
    if (!isObj(data)) throw bad("has no data object");
    const version = Number(tail[1]);
    if (!Number.isSafeInteger(version) || version < 1) throw bad("has no version");
    const id = isOutputCollection(this.collection) ? (typeof data.id === "string" && data.id !== "" ? data.id : null) : businessKey(data);
    if (id === null) throw bad("has no id");
    if (this.seen.has(id)) throw bad(`repeats the id "${id}"`);
    this.seen.add(id);
    return { id, version, lastChanged: tail[2]!, isDeleted: tail[3] === "true", content };
  }
}
