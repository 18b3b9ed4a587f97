import { isRawCollection, type Collection } from "../collections";
import { isObj } from "../fhir/read";
import { readMeta } from "./meta";
import type { Database } from "bun:sqlite";

function contentHash(json: string): string {
  return Bun.SHA256.hash(json, "hex") as string;
}

/** The hash stored with a document, which tells whether it changed: of its change text (see changeText). */
export function documentHash(collection: string, json: string): string {
  return contentHash(changeText(collection, json));
}

/**
 * The text whose hash tells whether a document changed. For raw upstream resources that is the resource
 * without meta.versionId and meta.lastUpdated: an upstream that rewrites only those (say, on every
 * export) has changed nothing a reader uses, so it makes no new version.
 */
function changeText(collection: string, json: string): string {
  if (!isRawCollection(collection) || !json.includes('"meta"')) return json;
  const stripped = withoutVolatileMeta(collection, JSON.parse(json));
  return stripped === null ? json : JSON.stringify(stripped);
}

/** A raw resource without meta.versionId and meta.lastUpdated, or null when it has neither (see changeText). */
function withoutVolatileMeta(collection: string, content: unknown): object | null {
  if (!isRawCollection(collection) || !isObj(content)) return null;
  const meta = content.meta;
  if (!isObj(meta) || !("versionId" in meta || "lastUpdated" in meta)) return null;
  const { versionId: _v, lastUpdated: _l, ...rest } = meta;
  return { ...content, meta: rest };
}

/** The dataset as it stands, read inside the caller's transaction: every write of documents moves it. */
export interface DatasetBase {
  datasetId: string;
  version: number;
}

export function datasetBase(db: Database): DatasetBase {
  return { datasetId: readMeta(db, "dataset_id") ?? "", version: Number(readMeta(db, "version") ?? 0) };
}

/**
 * Where a sync puts the documents it wants, as they arrive, before it compares and commits them: a
 * TEMP table of this connection. It lives in SQLite's temp database (spilled to a temp file past a
 * small cache), so the documents' content stays out of a sync's memory whatever the upstream's size,
 * and filling it takes no lock on the database file. One Staging at a time per connection (the sync
 * lock sees to that, and to nobody else changing the stored documents before the commit).
 *
 * What a sync that changes little costs is set by the documents that did not change. So, when the
 * first document arrives, the live documents' hashes are read into memory (a few hundred bytes each:
 * docs/PERFORMANCE.md), and a document whose hash equals its stored one is only ticked off there and
 * counted: it is never staged. A changed or new document is staged with its content as it arrives.
 * finish() stages what is left in memory, the live documents that did not arrive, as gone
 * (temp.staging_gone), the counts of unchanged ones (temp.staging_unchanged), and the dataset version
 * the hashes were read at, with whether it staged to replace the sample (temp.staging_base): the
 * commit refuses to go on from another version (see commit.ts), as the ticks would no longer be true.
 */
export class Staging {
  private readonly insert;
  private readonly gone;
  private readonly isLive;
  private readonly isStaged;
  private pending: Array<[Collection, string, string, string]> = [];
  /** Live documents' stored hashes by collection and id, less those that arrived since; null until the first document arrives. */
  private stored: Map<string, Map<string, string>> | null = null;
  /** The dataset version `stored` was read at. */
  private storedAt: DatasetBase = { datasetId: "", version: 0 };
  private finished = false;
  /** Documents that arrived unchanged, by collection. */
  private unchanged = new Map<string, number>();

  /** `replacing`: what is stored is about to go (the sample), so every document is staged with its content and nothing is compared. */
  constructor(
    private readonly db: Database,
    private readonly replacing = false,
  ) {
    // WITHOUT ROWID: the table is its key, one B-tree rather than a table and an index, so both the
    // staging and the commit's comparison touch half the pages.
    db.exec(
      "CREATE TEMP TABLE IF NOT EXISTS staging (collection TEXT NOT NULL, id TEXT NOT NULL, hash TEXT NOT NULL, content TEXT, PRIMARY KEY (collection, id)) WITHOUT ROWID",
    );
    db.exec(
      `CREATE TEMP TABLE IF NOT EXISTS staging_gone (collection TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (collection, id)) WITHOUT ROWID;
       CREATE TEMP TABLE IF NOT EXISTS staging_unchanged (collection TEXT PRIMARY KEY, n INTEGER NOT NULL);
       CREATE TEMP TABLE IF NOT EXISTS staging_base (dataset_id TEXT NOT NULL, version INTEGER NOT NULL, replacing INTEGER NOT NULL);`,
    );
    this.clear();
    if (replacing) this.storedAt = datasetBase(db);
    this.insert = db.query("INSERT OR REPLACE INTO temp.staging (collection, id, hash, content) VALUES (?, ?, ?, ?)");
    this.gone = db.query("INSERT OR IGNORE INTO temp.staging_gone (collection, id) VALUES (?, ?)");
    this.isLive = db.query("SELECT 1 FROM main.document WHERE collection = ? AND id = ? AND is_deleted = 0");
    this.isStaged = db.query("SELECT 1 FROM temp.staging WHERE collection = ? AND id = ?");
  }

  /**
   * Takes a document as JSON text: unchanged ones are ticked off, the others queued; flush() writes the
   * queue in one transaction (a page at a time is cheap).
   */
  put(collection: Collection, id: string, json: string): void {
    this.take(collection, id, documentHash(collection, json), () => json);
  }

  /**
   * As put(), from the content itself: it is serialised once when it arrives unchanged (most documents of
   * a sync), where a raw resource with meta.versionId or meta.lastUpdated would otherwise be serialised
   * twice, whole and without them (see changeText); the whole text only when it is staged.
   */
  putContent(collection: Collection, id: string, content: unknown): void {
    const stripped = withoutVolatileMeta(collection, content);
    const text = JSON.stringify(stripped ?? content);
    this.take(collection, id, contentHash(text), () => (stripped === null ? text : JSON.stringify(content)));
  }

  /** A document with its hash: ticked off when it is unchanged, else queued with its text. */
  private take(collection: Collection, id: string, hash: string, json: () => string): void {
    if (this.finished) throw new Error("A document staged after Staging.finish(): start a new staging");
    if (!this.replacing) {
      const ids = (this.stored ??= this.readStored()).get(collection);
      const was = ids?.get(id);
      if (was !== undefined) {
        ids!.delete(id);
        if (was === hash) {
          this.count(collection, 1);
          return;
        }
      } else if (ids !== undefined && this.tickedBefore(collection, id)) {
        // Arrived again after it was ticked off (the last arrival counts, as staged rows replace each other): staged now instead.
        this.count(collection, -1);
      }
    }
    this.pending.push([collection, id, json(), hash]);
    if (this.pending.length >= 1000) this.flush();
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const rows = this.pending;
    this.pending = [];
    this.db.transaction(() => {
      for (const [collection, id, json, hash] of rows) this.insert.run(collection, id, hash, json);
    })();
  }

  /** Ends the staging, before the commit or the preview: flushes, and stages what is gone, the counts and the version compared with. */
  finish(): void {
    if (this.finished) throw new Error("Staging.finish() twice: start a new staging");
    this.finished = true;
    this.flush();
    // Replacing, nothing was compared: the version is what the staging began at (the sample's).
    const stored = this.replacing ? new Map<string, Map<string, string>>() : (this.stored ?? this.readStored());
    this.stored = null;
    this.db.transaction(() => {
      for (const [collection, ids] of stored) for (const id of ids.keys()) this.gone.run(collection, id);
      for (const [collection, n] of this.unchanged) this.db.query("INSERT INTO temp.staging_unchanged (collection, n) VALUES (?, ?)").run(collection, n);
      this.db.query("INSERT INTO temp.staging_base (dataset_id, version, replacing) VALUES (?, ?, ?)").run(this.storedAt.datasetId, this.storedAt.version, this.replacing ? 1 : 0);
    })();
  }

  clear(): void {
    this.pending = [];
    this.stored = null;
    this.finished = false;
    this.unchanged = new Map();
    this.db.exec("DELETE FROM temp.staging; DELETE FROM temp.staging_gone; DELETE FROM temp.staging_unchanged; DELETE FROM temp.staging_base;");
  }

  /**
   * Whether a document missing from the stored hashes arrived before and was ticked off: it is live
   * (the database is still as the hashes were read: the commit checks it) and not staged. A new
   * document costs one lookup; only one that arrives again, which a sync's conversion never sends,
   * costs a flush.
   */
  private tickedBefore(collection: string, id: string): boolean {
    if (this.isLive.get(collection, id) === null) return false;
    this.flush();
    return this.isStaged.get(collection, id) === null;
  }

  private count(collection: string, n: number): void {
    this.unchanged.set(collection, (this.unchanged.get(collection) ?? 0) + n);
  }

  /** The live documents' hashes, read in one snapshot with the version they are of. */
  private readStored(): Map<string, Map<string, string>> {
    return this.db.transaction(() => {
      this.storedAt = datasetBase(this.db);
      const stored = new Map<string, Map<string, string>>();
      for (const [collection, id, hash] of this.db.query("SELECT collection, id, hash FROM main.document WHERE is_deleted = 0").values() as Array<[string, string, string]>) {
        let ids = stored.get(collection);
        if (!ids) stored.set(collection, (ids = new Map()));
        ids.set(id, hash);
      }
      return stored;
    })();
  }
}
