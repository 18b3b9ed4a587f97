import { timingSafeEqual } from "node:crypto";
import { NompdError, EXIT, UsageError } from "../errors";
import type { Store } from "../store/db";
import type { Scope } from "../models";
import { hashKey, type StoredKey } from "../store/keys";
import { isoSeconds } from "../store/time";
import { preparedError } from "./http";
import type { QueryPairs } from "./query";

export const INVALID_KEY = "Invalid or missing API key.";
/** RFC 9110 asks a 401 to name the scheme it wants: an API key in this header. */
const WWW_AUTHENTICATE = 'ApiKey header="X-API-KEY"';
const URL_KEY_PARAMS = new Set(["x-api-key", "apikey", "api_key", "api-key", "key"]);

/** The first query parameter whose name carries an API key (URLs end up in logs), or null. */
export function urlKeyParameter(pairs: QueryPairs): string | null {
  for (const [name] of pairs) if (URL_KEY_PARAMS.has(name.toLowerCase())) return name;
  return null;
}

/** Last use is written at most this often (no write per request). */
const LAST_USE_EVERY_MS = 60_000;

export interface Caller {
  name: string;
  scope: Scope;
}

/** A key that opens the API: its id (null for NOMPD_API_KEYS), its hash, and who it makes the caller. */
interface ActiveKey {
  id: number | null;
  hash: Uint8Array;
  caller: Readonly<Caller>;
}

function activeKey(key: Omit<StoredKey, "id"> & { id: number | null }): ActiveKey {
  return { id: key.id, hash: key.hash, caller: Object.freeze({ name: key.name, scope: key.scope }) };
}

/**
 * One error for every 401: made once, as building an Error (and its stack) per refused request costs,
 * and its answer made once too (preparedError).
 */
const UNAUTHORIZED = preparedError(new NompdError(INVALID_KEY, { status: 401, exit: EXIT.usage }, Object.freeze({ "www-authenticate": WWW_AUTHENTICATE })));

/**
 * Who is calling: the X-API-KEY header checked against the stored keys (reloaded whenever the file
 * changed, so a key created or revoked by the command line counts within a millisecond) and the
 * read-scope keys of NOMPD_API_KEYS. A key presented for the first time is hashed and every active key's
 * hash compared with it in constant time, never exiting the loop early, so timing tells nothing about
 * which key, if any, matched. A key that matched is then remembered as presented (no hash per request),
 * until the keys change: only keys that matched are remembered, so the map never holds more entries
 * than there are active keys, and a wrong key always takes the constant-time path.
 */
export class Authenticator {
  private active: ActiveKey[] = [];
  private seenGeneration = "";
  private readonly used = new Set<number>();
  /** Keys that matched, as presented, for the keys of `seenGeneration`. */
  private readonly known = new Map<string, ActiveKey>();
  /** Where the presented key's hash is written (one buffer, not one a request). */
  private readonly digest = new Uint8Array(32);
  private lastFlush = Date.now();
  /** The read-scope keys of NOMPD_API_KEYS, hashed once: they never change while the process runs. */
  private readonly environmentKeys: ActiveKey[];

  constructor(
    private readonly store: Store,
    environmentKeys: readonly string[] = [],
  ) {
    this.environmentKeys = environmentKeys.map((k, i) => activeKey({ id: null, name: `NOMPD_API_KEYS[${i}]`, scope: "read", hash: hashKey(k) }));
  }

  /** True when at least one key can open the API (stored and active, or from the environment). */
  any(): boolean {
    return this.environmentKeys.length > 0 || this.store.keys.active().length > 0;
  }

  /**
   * The caller allowed `scope`, or the NompdError that refuses the request (returned, not thrown: most
   * refusals are 401s, and a throw per request costs): 400 for a key in the URL (`keyParameter`, see
   * urlKeyParameter), 401 (exact body of the reference service) for a missing or unknown key, 403 for a key
   * without the scope.
   */
  check(request: Request, keyParameter: string | null, scope: Scope, generation: string): Caller | NompdError {
    if (keyParameter !== null) {
      return new UsageError(`API keys are not accepted in the URL (query parameter "${keyParameter}"): URLs end up in logs. Send the key in the X-API-KEY header instead.`);
    }
    const caller = this.verify(request.headers.get("x-api-key"), generation);
    if (!caller) return UNAUTHORIZED;
    if (scope === "admin" && caller.scope !== "admin") {
      return new NompdError(
        `The key "${caller.name}" has read scope; this endpoint needs a key with admin scope. Create one with 'nompd keys create NAME --scope admin'.`,
        { status: 403, exit: EXIT.usage },
      );
    }
    return caller;
  }

  private verify(presented: string | null | undefined, generation: string): Caller | null {
    if (!presented) return null;
    const keys = this.activeKeys(generation);
    let match = this.known.get(presented) ?? null;
    if (match === null) {
      const hash = hashKey(presented, this.digest);
      for (const key of keys) {
        if (timingSafeEqual(key.hash, hash) && match === null) match = key;
      }
      if (!match) return null;
      this.known.set(presented, match);
    }
    if (match.id !== null) this.noteUse(match.id);
    return match.caller;
  }

  private noteUse(id: number): void {
    this.used.add(id);
    const now = Date.now();
    if (now - this.lastFlush < LAST_USE_EVERY_MS) return;
    this.flush(now);
  }

  /** Writes the last use of the keys used since the last write (also called when the server stops). */
  flush(now = Date.now()): void {
    this.lastFlush = now;
    if (this.used.size === 0) return;
    const ids = [...this.used];
    this.used.clear();
    try {
      this.store.keys.markUsed(ids, isoSeconds(new Date(now)));
    } catch {
      // The file is busy (a long commit): the next flush tries again with these keys.
      for (const id of ids) this.used.add(id);
    }
  }

  private activeKeys(generation: string): ActiveKey[] {
    if (generation !== this.seenGeneration) {
      this.active = [...this.store.keys.active().map(activeKey), ...this.environmentKeys];
      this.known.clear();
      this.seenGeneration = generation;
    }
    return this.active;
  }
}
