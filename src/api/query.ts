import type { TObject, TSchema } from "@sinclair/typebox";
import { UsageError } from "../errors";

/**
 * Query and path parameters, read by the route's schemas (the same schemas the OpenAPI document
 * publishes): every query parameter the schema does not name is refused, as is one given twice, so that a
 * typo never silently widens an answer. Integers are digits only; leading zeros are allowed ("0001" is
 * 1); a number too long to hold exactly is read as the largest safe integer (for a version, newer than any).
 */
export type Query = Record<string, string | number | boolean | undefined>;

type Reader = (raw: string) => string | number | boolean;

function readerFor(name: string, schema: TSchema): Reader {
  if (schema.type === "integer") {
    const min = typeof schema.minimum === "number" ? schema.minimum : 0;
    const max = typeof schema.maximum === "number" ? schema.maximum : null;
    const expected = `${name} must be a whole number ≥ ${min}${max !== null ? ` and ≤ ${max}` : ""}`;
    return (raw) => {
      if (!/^\d+$/.test(raw)) throw new UsageError(`${expected}, got "${raw}".`);
      const digits = raw.charCodeAt(0) === 0x30 ? raw.replace(/^0+(?=\d)/, "") : raw;
      const n = digits.length > 15 ? Number.MAX_SAFE_INTEGER : Number(digits);
      if (n < min || (max !== null && n > max)) throw new UsageError(`${expected}, got "${raw}".`);
      return n;
    };
  }
  if (schema.type === "boolean") {
    return (raw) => {
      if (raw === "true" || raw === "1") return true;
      if (raw === "false" || raw === "0") return false;
      throw new UsageError(`${name} must be true or false, got "${raw}".`);
    };
  }
  const maxLength = typeof schema.maxLength === "number" ? schema.maxLength : null;
  return (raw) => {
    if (raw.trim() === "") throw new UsageError(`${name} must not be empty.`);
    if (maxLength !== null && raw.length > maxLength) throw new UsageError(`${name} must be at most ${maxLength} characters long (got ${raw.length}).`);
    return raw;
  };
}

/** A query string's name/value pairs in order, decoded as URLSearchParams decodes them. */
export type QueryPairs = ReadonlyArray<readonly [string, string]>;

function readersOf(schema: TObject | undefined): Map<string, Reader> {
  const properties = (schema?.properties ?? {}) as Record<string, TSchema>;
  return new Map(Object.entries(properties).map(([name, s]) => [name, readerFor(name, s)]));
}

const none: Query = Object.freeze({});

/** A request's query, as its route reads it. */
export interface ReadQuery {
  /** The first query parameter that carries an API key (queryReader's `keyParameter`), or null. */
  keyParameter: string | null;
  /** The typed values, or the error that refuses the query (unknown or repeated name, bad value). */
  query: Query | UsageError;
}

/** A compiled reader of one route's query: (the request URL) → its ReadQuery. */
export interface QueryReader {
  read(url: string): ReadQuery;
}

/**
 * Distinct query strings a reader remembers: clients repeat a few (their version, their filters), so
 * each is read once; past this many the reader forgets them all and starts again. Only the query of a
 * URL of at most REMEMBERED_URL_LENGTH characters is remembered (the query string shares the memory of
 * the whole URL, Host and path included); a longer one is read every time. So a route holds at most
 * about 256 × 512 bytes of URLs (some 130 KB), whatever clients send.
 */
export const REMEMBERED_QUERIES = 256;
export const REMEMBERED_URL_LENGTH = 512;

const NO_QUERY: ReadQuery = Object.freeze({ keyParameter: null, query: none });

/**
 * `keyParameter`: which parameter of the pairs carries an API key, if one does (the key check refuses
 * those, before the schema's own checks).
 */
export function queryReader(schema: TObject | undefined, keyParameter: (pairs: QueryPairs) => string | null = () => null): QueryReader {
  const readers = readersOf(schema);
  const names = [...readers.keys()];
  const typed = (pairs: QueryPairs): Query => {
    // Only the schema's names are ever set (any other is refused first), so a plain object is safe.
    const query: Query = {};
    for (const [name, raw] of pairs) {
      const reader = readers.get(name);
      if (!reader) throw new UsageError(`Unknown query parameter "${name}". Allowed here: ${names.length ? names.join(", ") : "none"}.`);
      if (query[name] !== undefined) throw new UsageError(`Give ${name} once; it was given more than once.`);
      query[name] = reader(raw);
    }
    return Object.freeze(query);
  };
  const remembered = new Map<string, ReadQuery>();
  return {
    read(url) {
      const at = url.indexOf("?");
      if (at === -1 || at === url.length - 1) return NO_QUERY;
      const raw = url.slice(at + 1);
      let read = remembered.get(raw);
      if (read !== undefined) return read;
      const pairs = queryPairs(raw);
      let query: Query | UsageError;
      try {
        query = typed(pairs);
      } catch (err) {
        if (!(err instanceof UsageError)) throw err;
        query = err;
      }
      read = Object.freeze({ keyParameter: keyParameter(pairs), query });
      if (url.length > REMEMBERED_URL_LENGTH) return read;
      if (remembered.size >= REMEMBERED_QUERIES) remembered.clear();
      remembered.set(raw, read);
      return read;
    },
  };
}

/**
 * A query string's name/value pairs (the part after "?"). One with nothing encoded in it (no % and no
 * +, as clients send version numbers and plain filter values) is split here; any other is decoded by
 * URLSearchParams, so that both give the same pairs.
 */
export function queryPairs(query: string): QueryPairs {
  if (query.includes("%") || query.includes("+")) return [...new URLSearchParams(query)];
  const pairs: Array<[string, string]> = [];
  for (const part of query.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    pairs.push(eq === -1 ? [part, ""] : [part.slice(0, eq), part.slice(eq + 1)]);
  }
  return pairs;
}

/** A compiled reader of one route's path parameters: (the router's decoded values) → typed values. */
export function paramsReader(schema: TObject | undefined): (params: Record<string, string> | undefined) => Query {
  const readers = [...readersOf(schema)];
  if (readers.length === 0) return () => none;
  return (params) => {
    const read: Query = {};
    for (const [name, reader] of readers) read[name] = reader(params?.[name] ?? "");
    return read;
  };
}
