import { normalizeFilterValue, OUTPUT, type Collection, type OutputCollection } from "../collections";
import { ConflictError, NotFoundError, UsageError } from "../errors";
import type { Store, StoreState } from "../store/db";
import { AnswerCache } from "./cache";
import { PreparedBody } from "./http";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * `derive`, made once per state: the store hands out one state object until the dataset changes, so the
 * last state's value is what every request until then asks for.
 */
function perState<T>(derive: (state: StoreState) => T): (state: StoreState) => T {
  let last: { state: StoreState; value: T } | null = null;
  return (state) => {
    if (last?.state !== state) last = { state, value: derive(state) };
    return last.value;
  };
}

/**
 * The headers every /api/v1 answer carries: which dataset it is from, whether that is the sample, and
 * (once history was pruned or the sample replaced) the version diffs must start from at least
 * (X-Nompd-Diff-Floor: sinceVersion N with 0 < N < it gets 410). Replicas copy the floor from it.
 */
export const datasetHeaders = perState((state): Readonly<Record<string, string>> => {
  const headers: Record<string, string> = { "x-nompd-dataset": state.datasetId };
  if (state.sample) headers["x-nompd-sample"] = "true";
  if (state.diffFloor > 0) headers["x-nompd-diff-floor"] = String(state.diffFloor);
  return Object.freeze(headers);
});

/** A JSON body of `value`, read at `state`, with that state's dataset headers. */
export function datasetJson(state: StoreState, value: unknown): PreparedBody {
  return PreparedBody.fromJson(JSON.stringify(value), datasetHeaders(state));
}

/**
 * An envelope's bytes, `{"currentVersion":…,"items":[…]}` around versioned items as the store reads them
 * (Documents.items), and where each item sits in them (so that a filtered list is a copy of slices).
 */
class Envelope {
  readonly bytes: Uint8Array;
  /** Start and end of item i at [2i] and [2i+1]. */
  readonly spans: Uint32Array;

  constructor(currentVersion: number, items: Uint8Array[]) {
    const head = encoder.encode(`{"currentVersion":${currentVersion},"items":[`);
    let length = head.length + 2 + Math.max(0, items.length - 1);
    for (const item of items) length += item.length;
    const bytes = new Uint8Array(length);
    const spans = new Uint32Array(items.length * 2);
    bytes.set(head, 0);
    let at = head.length;
    items.forEach((item, i) => {
      if (i > 0) bytes[at++] = 0x2c; // ,
      bytes.set(item, at);
      spans[2 * i] = at;
      at += item.length;
      spans[2 * i + 1] = at;
    });
    bytes[at++] = 0x5d; // ]
    bytes[at] = 0x7d; // }
    this.bytes = bytes;
    this.spans = spans;
    this.headLength = head.length;
  }

  private readonly headLength: number;

  get count(): number {
    return this.spans.length / 2;
  }

  /** Item i, parsed. */
  item(i: number): { data: unknown } {
    return JSON.parse(decoder.decode(this.bytes.subarray(this.spans[2 * i]!, this.spans[2 * i + 1]!))) as { data: unknown };
  }

  /** The same envelope with only the items at `indexes` (ascending). */
  select(indexes: number[]): Uint8Array {
    let length = this.headLength + 2 + Math.max(0, indexes.length - 1);
    for (const i of indexes) length += this.spans[2 * i + 1]! - this.spans[2 * i]!;
    const out = new Uint8Array(length);
    out.set(this.bytes.subarray(0, this.headLength), 0);
    let at = this.headLength;
    indexes.forEach((i, n) => {
      if (n > 0) out[at++] = 0x2c;
      const item = this.bytes.subarray(this.spans[2 * i]!, this.spans[2 * i + 1]!);
      out.set(item, at);
      at += item.length;
    });
    out[at++] = 0x5d;
    out[at] = 0x7d;
    return out;
  }
}

/** A live list: its prepared body, and (built on first use) the filter index over its items. */
class LiveList extends PreparedBody {
  private index: Map<string, Map<string, number[]>> | null = null;
  private indexBytes = 0;

  constructor(
    private readonly envelope: Envelope,
    readonly state: StoreState,
  ) {
    super(envelope.bytes, datasetHeaders(state));
  }

  override get size(): number {
    return super.size + this.envelope.spans.byteLength + this.indexBytes;
  }

  /** Items matching every filter (AND), in id order. */
  matching(collection: OutputCollection, filters: Array<[string, string]>): Uint8Array {
    const index = (this.index ??= this.buildIndex(collection));
    let matches: number[] | null = null;
    for (const [name, value] of filters) {
      const hits: number[] = index.get(name)?.get(value) ?? [];
      matches = matches === null ? hits : intersectSorted(matches, hits);
      if (matches.length === 0) break;
    }
    return this.envelope.select(matches ?? []);
  }

  private buildIndex(collection: OutputCollection): Map<string, Map<string, number[]>> {
    const index = new Map<string, Map<string, number[]>>();
    const filters = OUTPUT[collection].filters as Record<string, { keys(item: unknown): string[] }>;
    let bytes = 0;
    for (let i = 0; i < this.envelope.count; i++) {
      const item = this.envelope.item(i).data;
      for (const [name, filter] of Object.entries(filters)) {
        let byValue = index.get(name);
        if (!byValue) index.set(name, (byValue = new Map()));
        for (const v of new Set(filter.keys(item))) {
          const list = byValue.get(v);
          if (list) list.push(i);
          else {
            byValue.set(v, [i]);
            bytes += 2 * v.length + 64;
          }
          bytes += 8;
        }
      }
    }
    this.indexBytes = bytes;
    this.onGrow?.(bytes);
    return index;
  }
}

/** One item's answer, and whether the item is deleted (answered with 410). */
class ItemBody extends PreparedBody {
  constructor(
    bytes: Uint8Array,
    headers: Record<string, string>,
    readonly deleted: boolean,
  ) {
    super(bytes, headers);
  }
}

function intersectSorted(a: number[], b: number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      out.push(a[i]!);
      i++;
      j++;
    } else if (a[i]! < b[j]!) i++;
    else j++;
  }
  return out;
}

/**
 * The answers of the read API, each built once per dataset version from one read snapshot (the
 * version and the items can never mix two versions) and kept in the byte-capped answer cache.
 */
export class Answers {
  readonly cache: AnswerCache<PreparedBody>;

  constructor(
    private readonly store: Store,
    maxBytes: number,
  ) {
    this.cache = new AnswerCache(maxBytes);
  }

  /**
   * The cached answer for `key`, or `build` run in one read snapshot and kept. If a sync committed
   * between the request's look at the state and the snapshot, the answer (of the newer version) serves
   * this request only.
   */
  private answer<T extends PreparedBody>(state: StoreState, key: string, build: (snapshot: StoreState) => T, { pinned = false } = {}): T {
    return this.kept(state, key, pinned, () => this.store.snapshot((snapshot) => ({ body: build(snapshot), at: snapshot })));
  }

  /** As answer(), with `make` telling the state its body was made at (the answer is kept only when that is `state`). */
  private kept<T extends PreparedBody>(state: StoreState, key: string, pinned: boolean, make: () => { body: T; at: StoreState }): T {
    const stamp = stampOf(state);
    const hit = this.cache.get(stamp, key);
    if (hit) return hit as T;
    const { body, at } = make();
    if (stampOf(at) === stamp) this.cache.put(stamp, key, body, pinned);
    return body;
  }

  /** All live items, ordered by id. */
  list(collection: Collection, state: StoreState): PreparedBody {
    return this.liveList(collection, state);
  }

  private liveList(collection: Collection, state: StoreState): LiveList {
    return this.answer(state, `${collection} list`, (s) => new LiveList(new Envelope(s.version, this.store.documents.items.live(collection)), s), { pinned: true });
  }

  /** Live items matching every filter; `filters` as given (normalised here). */
  filtered(collection: OutputCollection, filters: Array<[string, string]>, state: StoreState): PreparedBody {
    const normalised = filters.map(([name, value]): [string, string] => [name, normalizeFilterValue(name, value)]).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    // Cut from the live list (kept, or built in its own snapshot), at that list's state.
    return this.kept(state, `${collection} where ${JSON.stringify(normalised)}`, false, () => {
      const list = this.liveList(collection, state);
      return { body: new PreparedBody(list.matching(collection, normalised), datasetHeaders(list.state)), at: list.state };
    });
  }

  /** Items changed after version `since`, deleted ones included, ordered by version then id. */
  since(collection: Collection, since: number, state: StoreState): PreparedBody {
    checkSince(since, state);
    // Checked again against the snapshot the body is read from: a sync (or a prune) may have committed
    // between the request's first look and the snapshot.
    return this.answer(state, `${collection} since ${since}`, (s) => {
      checkSince(since, s);
      return new PreparedBody(new Envelope(s.version, this.store.documents.items.since(collection, since)).bytes, datasetHeaders(s));
    });
  }

  /** The live items as they stood at dataset version `asOf`. */
  asOf(collection: Collection, asOf: number, state: StoreState): PreparedBody {
    checkAsOf(asOf, state);
    return this.answer(state, `${collection} as of ${asOf}`, (s) => {
      checkAsOf(asOf, s);
      // A replica may have skipped that version: asked on a cache miss only (a kept answer was of a version it holds).
      if (s.follows !== null && asOf > 0 && !this.store.replica.holdsVersion(asOf)) {
        throw new ConflictError(
          `asOfVersion ${asOf} is a version this replica took together with later ones (it applies its primary's newest version, skipping those in between), so its state is not known here. ` +
            `Ask for a version this replica applied (see the versions in its lists and histories), or ask its primary ${s.follows}.`,
          410,
        );
      }
      return new PreparedBody(new Envelope(s.version, this.store.documents.items.asOf(collection, asOf)).bytes, datasetHeaders(s));
    });
  }

  /** One item: its current versioned item, and whether it is deleted (410). An unknown id is no answer to keep. */
  item(collection: OutputCollection, id: string, state: StoreState): ItemBody {
    return this.answer(state, `${collection} item ${id}`, (s) => {
      const row = this.store.documents.items.one(collection, id);
      if (!row) throw notFound(collection, id);
      return new ItemBody(row.item, datasetHeaders(s), row.deleted);
    });
  }

  /**
   * A JSON answer made only of what the dataset holds at its version (the version records and their
   * changes), kept as the lists are. `read` may throw an error answer; nothing is kept then.
   */
  json(state: StoreState, key: string, read: (snapshot: StoreState) => unknown): PreparedBody {
    return this.answer(state, key, (s) => datasetJson(s, read(s)));
  }

  /** Every version of one item, newest first. An unknown id is no answer to keep. */
  history(collection: OutputCollection, id: string, state: StoreState): PreparedBody {
    return this.answer(state, `${collection} history ${id}`, (s) => {
      const items = this.store.documents.items.history(collection, id);
      if (items.length === 0) throw notFound(collection, id);
      return new PreparedBody(new Envelope(s.version, items).bytes, datasetHeaders(s));
    });
  }
}

function checkSince(since: number, state: StoreState): void {
  if (since > state.version) {
    throw new ConflictError(
      `sinceVersion ${since} is newer than this server's currentVersion ${state.version}: its database was reset or restored. ` +
        `Fetch everything again without sinceVersion and keep the new currentVersion.`,
    );
  }
  if (since > 0 && since < state.diffFloor) {
    throw new ConflictError(
      `sinceVersion ${since} is older than the changes this server still keeps (from version ${state.diffFloor}): ` +
        `what changed in between is no longer known. Fetch everything again without sinceVersion and keep the new currentVersion.`,
      410,
    );
  }
}

function checkAsOf(asOf: number, state: StoreState): void {
  if (asOf > state.version) throw new UsageError(`asOfVersion ${asOf} is greater than the currentVersion ${state.version}.`);
  if (asOf < state.oldestVersion) {
    throw new ConflictError(`asOfVersion ${asOf} is older than the oldest version this server keeps (${state.oldestVersion}). Ask for a version from ${state.oldestVersion} to ${state.version}.`, 410);
  }
}

/** The answers' cache stamp: which dataset, at which version. */
const stampOf = perState((state) => `${state.datasetId}:${state.version}`);

function notFound(collection: OutputCollection, id: string): NotFoundError {
  return new NotFoundError(`No ${collection} with id "${id}". GET /api/v1/${collection} lists them.`);
}
