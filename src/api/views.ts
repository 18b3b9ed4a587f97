import type { Collection, OutputCollection } from "../convert/dataset";
import type { ReimbursementGroup, TreatmentGroup } from "../convert/models";
import type { Store } from "../store/db";
import type { DocumentRow, Documents } from "../store/documents";
import { filterKeys, lookupKey, type FilterName } from "./filters";
import { PreparedBody } from "./http";

/** `{"data":…,"version":…,"lastChanged":…,"isDeleted":…}`, the stored content spliced in unparsed. */
export function versionedItemJson(row: DocumentRow): string {
  return `{"data":${row.content},"version":${row.version},"lastChanged":"${row.last_changed}","isDeleted":${row.is_deleted ? "true" : "false"}}`;
}

export function envelopeOfItems(currentVersion: number, itemsJson: string[]): string {
  return `{"currentVersion":${currentVersion},"items":[${itemsJson.join(",")}]}`;
}

export function envelopeJson(currentVersion: number, rows: DocumentRow[]): string {
  return envelopeOfItems(currentVersion, rows.map(versionedItemJson));
}

/** How many filtered answers a list keeps per version (oldest dropped first). */
const MAX_FILTERED_BODIES = 256;

/** One collection's live list at one dataset version: the prepared full body, and the filter index. */
class LiveList {
  readonly body: PreparedBody;
  private index: Map<string, Map<string, number[]>> | null = null;

  /** The file's change counter when this list was last known to be current. */
  generation = "";

  private readonly filteredBodies = new Map<string, PreparedBody>();

  constructor(
    readonly version: number,
    readonly collection: Collection,
    private readonly rows: DocumentRow[],
    private readonly headers: Record<string, string>,
  ) {
    this.body = PreparedBody.fromJson(envelopeJson(version, rows), headers);
  }

  /**
   * The answer to a filtered list, made once per version and filter set and kept (a bounded number
   * of them), compressed forms included.
   */
  filtered(filters: Array<[FilterName, string]>): PreparedBody {
    const key = JSON.stringify(filters);
    let body = this.filteredBodies.get(key);
    if (!body) {
      if (this.filteredBodies.size >= MAX_FILTERED_BODIES) this.filteredBodies.delete(this.filteredBodies.keys().next().value!);
      body = PreparedBody.fromJson(envelopeOfItems(this.version, this.filter(filters)), this.headers);
      this.filteredBodies.set(key, body);
    }
    return body;
  }

  /** Items matching every filter (AND), in id order. The index is built once per version, on first use. */
  filter(filters: Array<[FilterName, string]>): string[] {
    const index = (this.index ??= this.buildIndex());
    let matches: number[] | null = null;
    for (const [name, value] of filters) {
      const hits: number[] = index.get(name)?.get(lookupKey(name, value)) ?? [];
      matches = matches === null ? hits : intersectSorted(matches, hits);
      if (matches.length === 0) break;
    }
    return (matches ?? this.rows.map((_, i) => i)).map((i) => versionedItemJson(this.rows[i]!));
  }

  private buildIndex(): Map<string, Map<string, number[]>> {
    const index = new Map<string, Map<string, number[]>>();
    const collection = this.collection as OutputCollection;
    this.rows.forEach((row, i) => {
      const keys = filterKeys(collection, JSON.parse(row.content) as TreatmentGroup | ReimbursementGroup);
      for (const [name, values] of Object.entries(keys)) {
        let byValue = index.get(name);
        if (!byValue) index.set(name, (byValue = new Map()));
        for (const v of new Set(values)) {
          const list = byValue.get(v);
          if (list) list.push(i);
          else byValue.set(v, [i]);
        }
      }
    });
    return index;
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
 * The live list of each collection, built once per dataset version with its compressed forms and its
 * filter index, and served from memory until the version changes — also when another process
 * committed the change. Per request it costs one look at the file's change counter (PRAGMA
 * data_version, via Store.generation()); only when that moved is the version row read again.
 */
export class LiveLists {
  private readonly cache = new Map<Collection, LiveList>();

  constructor(
    private readonly store: Store,
    private readonly documents: Documents,
    private readonly headers: Record<string, string>,
  ) {}

  get(collection: Collection, generation = this.store.generation()): LiveList {
    const hit = this.cache.get(collection);
    if (hit && hit.generation === generation) return hit;
    if (hit && hit.version === this.store.currentVersion()) {
      hit.generation = generation;
      return hit;
    }
    // Version and rows from one read transaction: a sync committing in between cannot mix them.
    const built = this.documents.snapshot(() => new LiveList(this.store.currentVersion(), collection, this.documents.live(collection), this.headers));
    built.generation = generation;
    this.cache.set(collection, built);
    return built;
  }
}
