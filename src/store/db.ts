import { Database } from "bun:sqlite";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Collection } from "../collections";
import { StoreError, UsageError } from "../errors";
import { createPrivateFile } from "../platform";
import { commitStaged, previewStaged, type CommitOptions, type CommitResult, type Preview, type PreviewOptions } from "./commit";
import { Documents } from "./documents";
import { Keys } from "./keys";
import { readMeta, writeMeta } from "./meta";
import { busy, isBusy, writing } from "./busy";
import { BUSY_TIMEOUT_MS, checkSchema, migrate } from "./migrations";
import { FOLLOW_META_KEY, Replica } from "./replica";
import { Runs } from "./runs";
import { Staging } from "./staging";
import { SyncLock } from "./syncLock";
import { Versions } from "./versions";

/** "NOMP" in ASCII: marks a SQLite file as a Nompd database (PRAGMA application_id). */
const APPLICATION_ID = 0x4e4f4d50;

/**
 * The page size of a new database file and of a connection's temp database. Documents are JSON of 0.5
 * to 3 KiB, written a whole dataset at a time: with pages 8 times SQLite's default of 4 KiB, a commit
 * writes and checkpoints fewer pages and no document spills onto overflow pages (docs/PERFORMANCE.md).
 * Reads are served from prepared answers, so a bigger page costs them little.
 */
const PAGE_SIZE = 32_768;

/**
 * How long state() trusts that no other connection has committed, while this one has written nothing:
 * short enough that no caller can tell, long enough that a busy server looks once per many requests.
 */
export const OTHERS_RECHECK_MS = 1;

/**
 * What a reader needs to know about the dataset, read once per change of the file. `generation`
 * changes whenever anything is committed to the file, by this connection or any other, so every
 * cache keyed on it is current without anyone having to remember to invalidate it.
 */
export interface StoreState {
  generation: string;
  datasetId: string;
  version: number;
  /** The embedded sample dataset is what is stored (never real data). */
  sample: boolean;
  /**
   * A diff from a version N with 0 < N < diffFloor is refused: changes after N are no longer all known
   * (history was pruned, or the dataset was replaced).
   */
  diffFloor: number;
  /** The oldest dataset version whose full state is still known (asOfVersion below it is refused). */
  oldestVersion: number;
  /** The primary's URL (as shown) when this database is a read-only replica of another Nompd, else null. */
  follows: string | null;
}

export interface OpenOptions {
  /**
   * Read only: the file must exist and have exactly this Nompd's schema; nothing is created or
   * migrated (status, keys list). Default false.
   */
  readOnly?: boolean;
  /** With readOnly: accept any schema version (a backup copies the file as it is). */
  anySchema?: boolean;
  /** The sync lock's lease (see SyncLock); default five minutes. */
  lockLeaseMs?: number;
}

/**
 * One SQLite connection to a Nompd database file: the one door to the data. Repositories (documents,
 * keys, runs, the sync lock) hang off it and share its connection; nothing outside store/ runs SQL.
 *
 * WAL mode: readers never block the single writer and always see a whole committed version, so the
 * server keeps answering while a sync in another thread or process commits. `busy_timeout` makes a
 * writer wait for another connection's short write instead of failing at once.
 */
export class Store {
  readonly path: string;
  private readonly db: Database;
  private readonly generationQuery;
  private readonly changesQuery;
  private readonly metaQuery;
  private cached: StoreState | null = null;
  /** This connection's count of changed rows when `cached` was read (part of its generation). */
  private cachedChanges = -1;
  /** When the other connections' commits were last looked for (performance.now()). */
  private checkedAt = -Infinity;

  private constructor(db: Database, path: string, lockLeaseMs?: number) {
    this.db = db;
    this.path = path;
    this.generationQuery = db.query("SELECT data_version, total_changes() FROM pragma_data_version()");
    this.changesQuery = db.query<{ n: number }, []>("SELECT total_changes() AS n");
    this.metaQuery = db.query("SELECT key, value FROM meta");
    this.lockLeaseMs = lockLeaseMs;
  }

  // Repositories prepare their statements when first used: a backup of a database of another schema
  // version uses none of them.
  private readonly lockLeaseMs: number | undefined;
  private repos: { documents?: Documents; keys?: Keys; runs?: Runs; lock?: SyncLock; versions?: Versions; replica?: Replica } = {};

  get documents(): Documents {
    return (this.repos.documents ??= new Documents(this.db));
  }

  get keys(): Keys {
    return (this.repos.keys ??= new Keys(this.db));
  }

  get runs(): Runs {
    return (this.repos.runs ??= new Runs(this.db));
  }

  /** A replica's side: its follow status, its staging and the apply of a primary's version. */
  get replica(): Replica {
    return (this.repos.replica ??= new Replica(this.db));
  }

  get lock(): SyncLock {
    return (this.repos.lock ??= new SyncLock(this.db, this.path, this.lockLeaseMs));
  }

  get versions(): Versions {
    return (this.repos.versions ??= new Versions(this.db));
  }

  static open(path: string, options: OpenOptions = {}): Store {
    const absolute = resolve(path);
    if (options.readOnly && !existsSync(absolute)) {
      throw new StoreError(`There is no database at ${absolute}. Give its path with --db (or NOMPD_DB); 'nompd serve' or 'nompd import' makes a new one.`);
    }
    if (!existsSync(absolute)) createPrivate(absolute);
    let db: Database;
    try {
      // Read only by behaviour: a read-write connection that never writes (a read-only one could not
      // open a WAL database whose shared-memory file is missing).
      db = new Database(absolute, options.readOnly ? { readwrite: true, create: false, strict: true } : { create: true, strict: true });
    } catch (err) {
      throw new StoreError(`Cannot open the database ${absolute}: ${(err as Error).message}. Check the --db path and its permissions.`);
    }
    try {
      db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
      const appId = (db.query("PRAGMA application_id").get() as { application_id: number }).application_id;
      const tables = (db.query("SELECT count(*) AS n FROM sqlite_schema").get() as { n: number }).n;
      if (appId !== APPLICATION_ID && (appId !== 0 || tables > 0)) {
        throw new StoreError(`${absolute} is a SQLite file but not a Nompd database. Point --db at a Nompd database or at a new file.`);
      }
      if (options.readOnly) {
        if (!options.anySchema) checkSchema(db, absolute);
      } else {
        // Set before the first write; a file keeps the page size it was made with. The temp database
        // (a sync's staging, made later) takes it too: each staged row then fits in its page.
        if (tables === 0) db.exec(`PRAGMA page_size = ${PAGE_SIZE}`);
        db.exec(`PRAGMA temp.page_size = ${PAGE_SIZE}`);
        db.exec("PRAGMA journal_mode = WAL");
        // FULL: a commit is on disk before it returns. With NORMAL, a power cut or an OS crash shortly
        // after a commit could take that version back while clients already hold it; the next sync
        // would then make another dataset under the same version number, and a client's diff from it
        // would miss changes. It costs a sync of the WAL per commit: a sync's data, its run record, the
        // taking and release of its lock; the frequent small writes go without (withoutDiskSync). On
        // macOS only F_FULLFSYNC gets past the drive's cache.
        db.exec("PRAGMA synchronous = FULL");
        if (process.platform === "darwin") db.exec("PRAGMA fullfsync = ON");
        db.exec("PRAGMA foreign_keys = ON");
        if (appId === 0) db.exec(`PRAGMA application_id = ${APPLICATION_ID}`);
        migrate(db, absolute);
        ensureDatasetId(db);
        adoptBackup(db);
      }
      return new Store(db, absolute, options.lockLeaseMs);
    } catch (err) {
      db.close();
      if (err instanceof StoreError) throw err;
      const message = (err as Error).message;
      if (/not a database|file is encrypted/i.test(message)) {
        throw new StoreError(`${absolute} is not a SQLite database. Point --db at a Nompd database or at a new file.`);
      }
      if (isBusy(err)) throw busy(absolute);
      throw err;
    }
  }

  close(): void {
    this.db.close();
  }

  /**
   * The dataset as it stands now. This connection's own writes show at once; another connection's
   * commits (a sync in another process) show within OTHERS_RECHECK_MS, and at once inside a transaction
   * (snapshot()), so an answer is always labelled with the version it was read from. The meta table is
   * read again only after a change.
   */
  state(): StoreState {
    const cached = this.cached;
    const now = performance.now();
    if (cached !== null && now - this.checkedAt < OTHERS_RECHECK_MS && !this.db.inTransaction) {
      // Looking for other connections' commits costs a read of the WAL index; our own count is cheap (as
      // an object: get() makes less than values() does).
      if (this.changesQuery.get()!.n === this.cachedChanges) return cached;
    }
    const [dataVersion, totalChanges] = (this.generationQuery.values() as number[][])[0]!;
    this.checkedAt = now;
    const generation = `${dataVersion}:${totalChanges}`;
    if (cached !== null && cached.generation === generation) return cached;
    const meta = new Map(this.metaQuery.values() as Array<[string, string]>);
    const state: StoreState = {
      generation,
      datasetId: meta.get("dataset_id") ?? "",
      version: Number(meta.get("version") ?? 0),
      sample: meta.get("sample") === "1",
      diffFloor: Number(meta.get("diff_floor") ?? 0),
      oldestVersion: Number(meta.get("oldest_version") ?? 0),
      follows: meta.get(FOLLOW_META_KEY) ?? null,
    };
    this.cached = state;
    this.cachedChanges = totalChanges!;
    return state;
  }

  /**
   * Closes the runs that dead syncs left "running" (a kill -9, a power cut), leaving the run of a sync
   * that is alive: both decided in one write transaction, so that a sync starting meanwhile is not caught.
   */
  closeDeadRuns(): number {
    return writing(this.path, () =>
      this.db
        .transaction(() => {
          const holder = this.lock.current();
          return this.runs.closeAbandoned(holder && !holder.stale ? holder.token : null);
        })
        .immediate(),
    );
  }

  /** Convenience: the current dataset version. */
  currentVersion(): number {
    return this.state().version;
  }

  get datasetId(): string {
    return this.state().datasetId;
  }

  /** Runs `read` in one read transaction, so that several queries see the same dataset version. */
  snapshot<T>(read: (state: StoreState) => T): T {
    // state() inside the transaction reads the snapshot's own change counter.
    return this.db.transaction(() => read(this.state())).deferred();
  }

  /**
   * `VACUUM INTO`: a consistent, compacted copy from one read transaction, safe while the server runs
   * and while a sync commits (the copy holds the version before or after it, whole). The copy is made
   * readable by its owner only, like the database. It gets a dataset id of its own at once (for a nompd
   * that does not know the mark, say after a downgrade), and is marked as a backup, so that each copy
   * of it put in place of a database gets another (see adoptBackup). A replica's copy keeps its id.
   */
  backupTo(target: string): void {
    if (!createPrivate(target)) throw new UsageError(`${target} exists already. Choose a new file name; a backup never overwrites.`);
    try {
      this.db.query("VACUUM INTO ?").run(target);
      const copy = new Database(target, { readwrite: true, create: false, strict: true });
      try {
        copy.transaction(() => {
          writeMeta(copy, BACKUP_META_KEY, readMeta(copy, "dataset_id") ?? "");
          newDatasetUnlessReplica(copy);
        })();
      } finally {
        copy.close();
      }
    } catch (err) {
      // Never a copy without its mark and id: put in place, it would go on under the original's id.
      for (const file of [target, `${target}-journal`]) rmSync(file, { force: true });
      throw new StoreError(`Cannot write the backup ${target}: ${(err as Error).message}. Check the folder and the free space.`);
    }
  }

  /**
   * A new staging area for a sync's documents (one at a time per connection; the sync lock sees to it).
   * `sample`: what will be committed is the embedded sample dataset. A real sync into the stored sample
   * replaces it whole (see commitStaged), so nothing stored is compared then.
   */
  staging(sample = false): Staging {
    return new Staging(this.db, !sample && this.state().sample);
  }

  /** What committing what a dry run staged would do; writes nothing (see previewStaged). */
  preview(collections: readonly Collection[], options: PreviewOptions): Preview {
    return previewStaged(this.db, collections, options);
  }

  /** Commits what a sync staged as one new dataset version (see commitStaged). */
  commit(collections: readonly Collection[], options: CommitOptions): CommitResult {
    // A busy database is recorded as the run's error as what it means.
    return writing(this.path, () => commitStaged(this.db, collections, options));
  }
}

/**
 * An empty file readable and writable by its owner only (when none is there). SQLite gives the WAL and
 * shared-memory files the database's permissions, so they are private too.
 */
function createPrivate(path: string): boolean {
  try {
    mkdirSync(dirname(path), { recursive: true });
    return createPrivateFile(path);
  } catch (err) {
    throw new StoreError(`Cannot create ${path}: ${(err as Error).message}. Check the path and its permissions.`);
  }
}

/** Marks a copy made by Store.backupTo; its value is the dataset id the copy was made of. */
const BACKUP_META_KEY = "backup_of";

/**
 * A backup put in place of a database is a new dataset id, from the first time it is opened to be
 * written (serve, sync, import, keys): the original may have made versions after the copy, and the syncs
 * after the restore would make other datasets under those version numbers; under the same id a client's
 * diff would then miss changes without a sign. A new `X-Nompd-Dataset` tells every client to start over,
 * and a replica of it to fetch it whole. Each copy of the backup file put in place gets its own id (the
 * backup file itself, opened to be written, uses up its mark). A replica's backup keeps its id: its data
 * and versions are its primary's, so they mean one dataset.
 */
function adoptBackup(db: Database): void {
  if (readMeta(db, BACKUP_META_KEY) === null) return;
  db.transaction(() => {
    if (readMeta(db, BACKUP_META_KEY) === null) return;
    newDatasetUnlessReplica(db);
    db.query("DELETE FROM meta WHERE key = ?").run(BACKUP_META_KEY);
  }).immediate();
}

/** A copy's new dataset id (see adoptBackup), unless it is a replica's: its id is its primary's. */
function newDatasetUnlessReplica(db: Database): void {
  if (readMeta(db, FOLLOW_META_KEY) === null) writeMeta(db, "dataset_id", crypto.randomUUID());
}

/** A new file's dataset id and version 0; a file that has them is only read (no write, no wait). */
function ensureDatasetId(db: Database): void {
  if (readMeta(db, "dataset_id") !== null) return;
  db.query("INSERT OR IGNORE INTO meta (key, value) VALUES ('dataset_id', ?), ('version', '0')").run(crypto.randomUUID());
}
