import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { StoreError } from "../errors";
import { migrate } from "./migrations";

/** "NOMP" in ASCII: marks a SQLite file as a Nompd database (PRAGMA application_id). */
const APPLICATION_ID = 0x4e4f4d50;

/**
 * One SQLite connection to a Nompd database file.
 *
 * WAL mode: readers never block the single writer and always see a whole committed version, so the
 * server keeps answering while a CLI sync in another process commits. `busy_timeout` makes a writer
 * wait for another process's short write instead of failing at once.
 */
export class Store {
  readonly db: Database;
  readonly path: string;
  readonly datasetId: string;
  /** Bumped by every write made through this connection (PRAGMA data_version only sees other connections). */
  private localWrites = 0;
  private readonly dataVersionQuery;

  private constructor(db: Database, path: string) {
    this.db = db;
    this.path = path;
    this.datasetId = this.ensureDatasetId();
    this.dataVersionQuery = db.query("PRAGMA data_version");
  }

  static open(path: string): Store {
    const absolute = resolve(path);
    try {
      mkdirSync(dirname(absolute), { recursive: true });
    } catch (err) {
      throw new StoreError(`Cannot create the folder for the database ${absolute}: ${(err as Error).message}. Check the --db path and its permissions.`);
    }
    let db: Database;
    try {
      db = new Database(absolute, { create: true, strict: true });
    } catch (err) {
      throw new StoreError(`Cannot open the database ${absolute}: ${(err as Error).message}. Check the --db path and its permissions.`);
    }
    try {
      db.exec("PRAGMA busy_timeout = 10000");
      const appId = (db.query("PRAGMA application_id").get() as { application_id: number }).application_id;
      const tables = (db.query("SELECT count(*) AS n FROM sqlite_schema").get() as { n: number }).n;
      if (appId !== APPLICATION_ID && (appId !== 0 || tables > 0)) {
        throw new StoreError(`${absolute} is a SQLite file but not a Nompd database. Point --db at a Nompd database or at a new file.`);
      }
      db.exec("PRAGMA journal_mode = WAL");
      db.exec("PRAGMA synchronous = NORMAL");
      db.exec("PRAGMA foreign_keys = ON");
      if (appId === 0) db.exec(`PRAGMA application_id = ${APPLICATION_ID}`);
      migrate(db, absolute);
      return new Store(db, absolute);
    } catch (err) {
      db.close();
      if (err instanceof StoreError) throw err;
      const message = (err as Error).message;
      if (/not a database|file is encrypted/i.test(message)) {
        throw new StoreError(`${absolute} is not a SQLite database. Point --db at a Nompd database or at a new file.`);
      }
      throw err;
    }
  }

  close(): void {
    this.db.close();
  }

  private ensureDatasetId(): string {
    const row = this.db.query("SELECT value FROM meta WHERE key = 'dataset_id'").get() as { value: string } | null;
    if (row) return row.value;
    const id = crypto.randomUUID();
    this.db.query("INSERT OR IGNORE INTO meta (key, value) VALUES ('dataset_id', ?), ('version', '0')").run(id);
    return (this.db.query("SELECT value FROM meta WHERE key = 'dataset_id'").get() as { value: string }).value;
  }

  currentVersion(): number {
    const row = this.db.query("SELECT value FROM meta WHERE key = 'version'").get() as { value: string };
    return Number(row.value);
  }

  /** Changes whenever anything committed to the file, by this process or another one. */
  generation(): string {
    const dataVersion = (this.dataVersionQuery.values() as number[][])[0]![0];
    return `${dataVersion}:${this.localWrites}`;
  }

  noteLocalWrite(): void {
    this.localWrites++;
  }
}
