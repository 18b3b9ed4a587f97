/**
 * A route's query reader: the typed values or the refusal of a query string, read once per distinct
 * string and remembered within a bound.
 */
import { describe, expect, test } from "bun:test";
import { Type } from "@sinclair/typebox";
import { UsageError } from "../../src/errors";
import { urlKeyParameter } from "../../src/api/auth";
import { queryPairs, queryReader, REMEMBERED_QUERIES, REMEMBERED_URL_LENGTH } from "../../src/api/query";

const schema = Type.Object({ sinceVersion: Type.Optional(Type.Integer({ minimum: 0 })), name: Type.Optional(Type.String({ maxLength: 5 })) });
const url = (query: string) => `http://127.0.0.1:8080/api/v1/treatmentGroup${query}`;

describe("queryReader", () => {
  test("typed values; no query or a bare ? reads as none", () => {
    const reader = queryReader(schema, urlKeyParameter);
    expect(reader.read(url("?sinceVersion=0007&name=a%20b")).query).toEqual({ sinceVersion: 7, name: "a b" });
    expect(reader.read(url("")).query).toEqual({});
    expect(reader.read(url("?")).query).toEqual({});
  });

  test("a refused query is refused again, each time with the same reason (remembered too)", () => {
    const reader = queryReader(schema, urlKeyParameter);
    expect(reader.read(url("?since=1"))).toBe(reader.read(url("?since=1")));
    for (const [query, reason] of [
      ["?since=1", 'Unknown query parameter "since". Allowed here: sinceVersion, name.'],
      ["?sinceVersion=1&sinceVersion=1", "Give sinceVersion once; it was given more than once."],
      ["?sinceVersion=-1", 'sinceVersion must be a whole number ≥ 0, got "-1".'],
      ["?name=toolong", "name must be at most 5 characters long (got 7)."],
    ]) {
      for (let i = 0; i < 2; i++) {
        const read = reader.read(url(query!));
        expect(read.query).toBeInstanceOf(UsageError);
        expect([query, (read.query as UsageError).message]).toEqual([query, reason]);
      }
    }
  });

  test("a parameter that carries a key is named, also when the rest of the query is refused", () => {
    const reader = queryReader(schema, urlKeyParameter);
    expect(reader.read(url("?sinceVersion=1&ApiKey=x")).keyParameter).toBe("ApiKey");
    expect(reader.read(url("?bogus=1&key=x")).keyParameter).toBe("key");
    expect(reader.read(url("?X-API-KEY=x&apikey=y")).keyParameter).toBe("X-API-KEY");
    expect(reader.read(url("?sinceVersion=1")).keyParameter).toBeNull();
  });

  test("a query string is read once and remembered; past the bound all are forgotten, and read again alike", () => {
    const reader = queryReader(schema, urlKeyParameter);
    const first = reader.read(url("?sinceVersion=1"));
    expect(reader.read(url("?sinceVersion=1"))).toBe(first);
    expect([Object.isFrozen(first), Object.isFrozen(first.query)]).toEqual([true, true]);
    // REMEMBERED_QUERIES strings fill it; one more empties it.
    for (let i = 2; i <= REMEMBERED_QUERIES + 1; i++) reader.read(url(`?sinceVersion=${i}`));
    const again = reader.read(url("?sinceVersion=1"));
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
    expect(reader.read(url(`?sinceVersion=${REMEMBERED_QUERIES + 1}`)).query).toEqual({ sinceVersion: REMEMBERED_QUERIES + 1 });
  });

  test("the query of a URL longer than REMEMBERED_URL_LENGTH is read every time, never remembered", () => {
    const reader = queryReader(schema, urlKeyParameter);
    // The query shares the URL's memory: a long path or Host counts, not only the query.
    const sized = (length: number, version: number) => {
      const tail = `?sinceVersion=${version}`;
      const at = "http://127.0.0.1:8080/api/v1/treatmentGroup/";
      return at + "a".repeat(length - at.length - tail.length) + tail;
    };
    const longest = sized(REMEMBERED_URL_LENGTH, 1);
    expect(longest).toHaveLength(REMEMBERED_URL_LENGTH);
    expect(reader.read(longest)).toBe(reader.read(longest));
    const over = sized(REMEMBERED_URL_LENGTH + 1, 2);
    const first = reader.read(over);
    expect(first.query).toEqual({ sinceVersion: 2 });
    expect(reader.read(over)).not.toBe(first);
    expect(reader.read(over)).toEqual(first);
  });
});

describe("queryPairs", () => {
  test("plain and encoded queries give the pairs URLSearchParams gives", () => {
    for (const query of ["a=1&b=2", "a=1&&b", "a=%C3%A6+b&c=", "x=1=2", "&a"]) {
      expect([query, queryPairs(query)]).toEqual([query, [...new URLSearchParams(query)]]);
    }
  });
});
