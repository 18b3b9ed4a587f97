import type { Database } from "bun:sqlite";
import { ConflictError, NotFoundError, UsageError } from "../errors";
import type { ApiKey, Scope } from "../models";
import { isoSeconds } from "./time";
import { withoutDiskSync } from "./busy";
import { BUSY_TIMEOUT_MS } from "./migrations";

export interface StoredKey {
  id: number;
  name: string;
  scope: Scope;
  /** SHA-256 of the key. */
  hash: Uint8Array;
}

/** A new key: 32 random bytes, base64url, with a recognisable prefix (so it can be found in a leak scan). */
function generateKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return "nompd_" + Buffer.from(bytes).toString("base64url");
}

/**
 * Keys are random 256-bit secrets, so one round of SHA-256 is a sound hash for storage: there is nothing
 * to brute-force that a slow password hash would protect. Only this hash is stored, never the key.
 */
export function hashKey(key: string, into: Uint8Array = new Uint8Array(32)): Uint8Array {
  Bun.SHA256.hash(key, into);
  return into;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

interface KeyRow {
  id: number;
  name: string;
  scope: Scope;
  hash: string;
  created_at: string;
  revoked_at: string | null;
  last_used_at: string | null;
}

const taken = (name: string) => new ConflictError(`A key named "${name}" exists already. Revoke it first ('nompd keys revoke ${name}') or choose another name.`);

const infoOf = (r: KeyRow): ApiKey => ({ name: r.name, scope: r.scope, createdAt: r.created_at, revokedAt: r.revoked_at, lastUsedAt: r.last_used_at });

/**
 * Named API keys with scopes, stored hashed. A revoked key stays on record (who had access, until
 * when); its name may be given to a new key, which is a new record.
 */
export class Keys {
  private readonly q;

  constructor(private readonly db: Database) {
    this.q = {
      activeByName: db.query("SELECT id FROM api_key WHERE name = ? AND revoked_at IS NULL"),
      insert: db.query("INSERT INTO api_key (name, scope, hash, created_at) VALUES (?, ?, ?, ?) RETURNING *"),
      revoke: db.query("UPDATE api_key SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL RETURNING *"),
      list: db.query("SELECT * FROM api_key ORDER BY name, id"),
      active: db.query("SELECT id, name, scope, hash FROM api_key WHERE revoked_at IS NULL"),
      used: db.query("UPDATE api_key SET last_used_at = ?1 WHERE id = ?2 AND (last_used_at IS NULL OR last_used_at < ?1)"),
    };
  }

  create(name: string, scope: Scope): string {
    return this.issue(name, scope).key;
  }

  /** A new key and its record (the key itself is never stored: this is the only time it is known). */
  issue(name: string, scope: Scope): { key: string; info: ApiKey } {
    if (!NAME.test(name)) {
      throw new UsageError(`Invalid key name "${name}": use 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit.`);
    }
    if (this.q.activeByName.get(name)) throw taken(name);
    const key = generateKey();
    let row: KeyRow;
    try {
      row = this.q.insert.get(name, scope, Buffer.from(hashKey(key)).toString("hex"), isoSeconds()) as KeyRow;
    } catch (err) {
      // Another process made a key of this name between the check above and this insert.
      if ((err as { code?: string }).code === "SQLITE_CONSTRAINT_UNIQUE") throw taken(name);
      throw err;
    }
    return { key, info: infoOf(row) };
  }

  /** Revokes the active key of that name; returns its record, now with its revocation time. */
  revoke(name: string): ApiKey {
    const row = this.q.revoke.get(isoSeconds(), name) as KeyRow | null;
    if (!row) throw new NotFoundError(`No active key named "${name}". 'nompd keys list' shows the keys.`);
    return infoOf(row);
  }

  /** Every key record, revoked ones included. */
  list(): ApiKey[] {
    return (this.q.list.all() as KeyRow[]).map(infoOf);
  }

  active(): StoredKey[] {
    return (this.q.active.all() as KeyRow[]).map((r) => ({ id: r.id, name: r.name, scope: r.scope, hash: Buffer.from(r.hash, "hex") }));
  }

  /**
   * Records when keys were last used (the caller batches: at most one write a minute). It never waits
   * for another connection's write, nor for the disk (withoutDiskSync): the caller is answering
   * requests, and tries again next time.
   */
  markUsed(ids: Iterable<number>, at: string): void {
    this.db.exec("PRAGMA busy_timeout = 0");
    try {
      withoutDiskSync(this.db, () =>
        this.db.transaction(() => {
          for (const id of ids) this.q.used.run(at, id);
        })(),
      );
    } finally {
      this.db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    }
  }
}
