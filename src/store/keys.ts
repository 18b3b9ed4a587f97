import { timingSafeEqual } from "node:crypto";
import { ConflictError, NotFoundError, UsageError } from "../errors";
import type { Store } from "./db";
import { isoSeconds } from "./time";

export type Scope = "read" | "admin";

export interface ApiKeyInfo {
  name: string;
  scope: Scope;
  createdAt: string;
  revokedAt: string | null;
}

/** A new key: 32 random bytes, base64url, with a recognisable prefix (so it can be found in a leak scan). */
export function generateKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return "nompd_" + Buffer.from(bytes).toString("base64url");
}

/**
 * Keys are random 256-bit secrets, so one round of SHA-256 is a sound hash for storage: there is nothing
 * to brute-force that a slow password hash would protect. Only this hash is stored, never the key.
 */
export function hashKey(key: string): Buffer {
  const digest = Bun.SHA256.hash(key) as Uint8Array;
  return Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength);
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

interface KeyRow {
  name: string;
  scope: Scope;
  hash: string;
  created_at: string;
  revoked_at: string | null;
}

interface ActiveKey {
  name: string;
  scope: Scope;
  hash: Buffer;
}

/** Named API keys with scopes, stored hashed; plus read keys from NOMPD_API_KEYS held in memory only. */
export class Keys {
  private active: ActiveKey[] = [];
  private seenGeneration = "";

  constructor(
    private readonly store: Store,
    private readonly environmentKeys: readonly string[] = [],
  ) {}

  create(name: string, scope: Scope): string {
    if (!NAME.test(name)) {
      throw new UsageError(`Invalid key name "${name}": use 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit.`);
    }
    const existing = this.store.db.query("SELECT revoked_at FROM api_key WHERE name = ?").get(name) as { revoked_at: string | null } | null;
    if (existing && existing.revoked_at === null) {
      throw new ConflictError(`A key named "${name}" exists already. Revoke it first ('nompd keys revoke ${name}') or choose another name.`);
    }
    const key = generateKey();
    this.store.db
      .query("INSERT OR REPLACE INTO api_key (name, scope, hash, created_at, revoked_at) VALUES (?, ?, ?, ?, NULL)")
      .run(name, scope, hashKey(key).toString("hex"), isoSeconds());
    this.store.noteLocalWrite();
    return key;
  }

  revoke(name: string): void {
    const result = this.store.db.query("UPDATE api_key SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL").run(isoSeconds(), name);
    if (result.changes === 0) {
      throw new NotFoundError(`No active key named "${name}". 'nompd keys list' shows the keys.`);
    }
    this.store.noteLocalWrite();
  }

  list(): ApiKeyInfo[] {
    return (this.store.db.query("SELECT * FROM api_key ORDER BY name").all() as KeyRow[]).map((r) => ({
      name: r.name,
      scope: r.scope,
      createdAt: r.created_at,
      revokedAt: r.revoked_at,
    }));
  }

  /** True when at least one key can open the API (stored and active, or from the environment). */
  any(): boolean {
    return this.activeKeys(this.store.generation()).length > 0;
  }

  /**
   * The scope of a presented key, or null. Every active key's hash is compared in constant time and
   * the loop never exits early, so timing tells nothing about which key, if any, matched.
   */
  verify(presented: string | null | undefined, generation = this.store.generation()): { name: string; scope: Scope } | null {
    if (!presented) return null;
    const hash = hashKey(presented);
    let match: ActiveKey | null = null;
    for (const key of this.activeKeys(generation)) {
      if (timingSafeEqual(key.hash, hash) && match === null) match = key;
    }
    return match ? { name: match.name, scope: match.scope } : null;
  }

  /** Reloaded whenever the file changed, so a key created or revoked by the CLI counts at the next request. */
  private activeKeys(generation: string): ActiveKey[] {
    if (generation !== this.seenGeneration) {
      const rows = this.store.db.query("SELECT name, scope, hash FROM api_key WHERE revoked_at IS NULL").all() as KeyRow[];
      this.active = [
        ...rows.map((r) => ({ name: r.name, scope: r.scope, hash: Buffer.from(r.hash, "hex") })),
        ...this.environmentKeys.map((k, i) => ({ name: `NOMPD_API_KEYS[${i}]`, scope: "read" as const, hash: hashKey(k) })),
      ];
      this.seenGeneration = generation;
    }
    return this.active;
  }
}
