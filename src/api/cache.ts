/**
 * Every answer the API keeps in memory, in one place, capped by bytes. Entries are keyed on the
 * normalised meaning of a question ("the treatment groups with jurisdiction 100020", "the diff since
 * version 4"), never on how it was spelled, and are valid for one dataset (id and version): the first
 * request that sees another dataset version empties the cache. Past the cap, the least recently used
 * entries go first.
 */
export interface Sized {
  /** Bytes held, as best known. */
  readonly size: number;
}

/**
 * What an entry costs besides its bytes: the key (two bytes a character), the prepared body object, its
 * ETag and headers, the map entry. Counted, so that many small answers are capped like a few big ones.
 */
export const ENTRY_OVERHEAD = 512;

/**
 * What the cache keeps: it counts the bytes a value adds later (onGrow), and tells it when it lets go of it
 * for good (retire). A value let go of is not put again (Answers makes a new one after a miss).
 */
export interface Kept extends Sized {
  onGrow: ((delta: number) => void) | null;
  retire(): void;
}

export class AnswerCache<T extends Kept> {
  private readonly entries = new Map<string, { value: T; size: number; pinned: boolean }>();
  private stamp = "";
  private total = 0;
  /** The entry last in the map's order (the most recently used), or null when not known. */
  private newest: { value: T; size: number; pinned: boolean } | null = null;
  /** Lookups that found an answer, and that did not (for /metrics). */
  hits = 0;
  misses = 0;

  constructor(readonly maxBytes: number) {}

  /** Bytes held by all entries. */
  get bytes(): number {
    return this.total;
  }

  get count(): number {
    return this.entries.size;
  }

  /** The entry for `key` at dataset `stamp`, or undefined; a new stamp empties the cache. */
  get(stamp: string, key: string): T | undefined {
    if (stamp !== this.stamp) this.reset(stamp);
    const hit = this.entries.get(key);
    if (hit === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    // Most recently used last: Map keeps insertion order (already so when it was the last one used).
    if (hit !== this.newest) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      this.newest = hit;
    }
    return hit.value;
  }

  /**
   * Keeps `value` for `key` at `stamp`, unless it alone is larger than a quarter of the cap (then it
   * answers its request and is dropped). A `pinned` value (a whole live list, whose size the dataset
   * decides, not the client) is kept whatever its size and never evicted; it counts in the total, so
   * the answers clients can vary get what room is left. Returns the value.
   */
  put(stamp: string, key: string, value: T, pinned = false): T {
    if (stamp !== this.stamp) this.reset(stamp);
    const size = value.size + 2 * key.length + ENTRY_OVERHEAD;
    if (!pinned && size > this.maxBytes / 4) return value;
    const old = this.entries.get(key);
    if (old) this.remove(key, old, old.value !== value);
    const entry = { value, size, pinned };
    this.entries.set(key, entry);
    this.newest = entry;
    this.total += entry.size;
    value.onGrow = (delta) => {
      if (this.entries.get(key) !== entry) return;
      entry.size += delta;
      this.total += delta;
      this.evict(key);
    };
    this.evict(key);
    return value;
  }

  private evict(keep: string): void {
    for (const [key, entry] of this.entries) {
      if (this.total <= this.maxBytes) return;
      if (key === keep || entry.pinned) continue;
      this.remove(key, entry);
    }
  }

  /** `retire`: the value goes for good (not put again under the same key). */
  private remove(key: string, entry: { value: T; size: number; pinned: boolean }, retire = true): void {
    this.entries.delete(key);
    this.total -= entry.size;
    entry.value.onGrow = null;
    if (retire) entry.value.retire();
  }

  private reset(stamp: string): void {
    for (const entry of this.entries.values()) {
      entry.value.onGrow = null;
      entry.value.retire();
    }
    this.entries.clear();
    this.total = 0;
    this.stamp = stamp;
  }
}
