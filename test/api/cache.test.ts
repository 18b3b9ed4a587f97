import { beforeAll, describe, expect, test } from "bun:test";
import { AnswerCache, ENTRY_OVERHEAD } from "../../src/api/cache";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { COMPRESS_OFF_THREAD_BYTES, errorAnswer, improvements, PreparedBody, preparedError, sendJson } from "../../src/api/http";
import { EXIT, NompdError } from "../../src/errors";
import { Store } from "../../src/store/db";
import { runSync } from "../../src/sync/run";
import { smallDataset } from "../support/fhir";
import { startServer } from "../support/server";
import { datasetSource } from "../support/source";
import { tempDbPath, tempDir } from "../support/tmp";

/** A body whose entry costs `cost` bytes in total (its bytes, a one-letter key, the overhead). */
const body = (cost: number) => new PreparedBody(new Uint8Array(cost - ENTRY_OVERHEAD - 2));

describe("the answer cache", () => {
  test("keeps answers up to its cap, evicting the least recently used", () => {
    const cache = new AnswerCache<PreparedBody>(4000);
    cache.put("v1", "a", body(1000));
    cache.put("v1", "b", body(1000));
    cache.put("v1", "c", body(1000));
    expect(cache.get("v1", "a")).toBeDefined(); // a is now the most recently used
    cache.put("v1", "d", body(1000));
    cache.put("v1", "e", body(1000));
    expect(cache.bytes).toBeLessThanOrEqual(4000);
    expect(cache.get("v1", "b")).toBeUndefined();
    expect(cache.get("v1", "a")).toBeDefined();
    expect(cache.get("v1", "e")).toBeDefined();
  });

  test("an answer over a quarter of the cap is not kept; a pinned one always is, and others make room", () => {
    const cache = new AnswerCache<PreparedBody>(4000);
    cache.put("v1", "b", body(1001));
    expect(cache.get("v1", "b")).toBeUndefined();
    cache.put("v1", "l", body(3600), true);
    cache.put("v1", "x", body(800));
    cache.put("v1", "y", body(800));
    expect(cache.get("v1", "l")).toBeDefined();
    expect(cache.count).toBe(2); // the pinned list and the newest answer
  });

  test("compressed forms count, and a form made later can evict others", () => {
    const text = new TextEncoder().encode(JSON.stringify(Array.from({ length: 500 }, (_, i) => ({ i, random: Math.random() }))));
    const cost = text.length + 2 + ENTRY_OVERHEAD; // as body() above: its bytes, a one-letter key, the overhead
    // Room for four answers of these bytes, each a quarter of the cap, and nothing more.
    const cache = new AnswerCache<PreparedBody>(4 * cost);
    const [a] = ["a", "b", "c", "d"].map((key) => cache.put("v1", key, new PreparedBody(text)));
    expect(cache.count).toBe(4);
    // a's gzip form needs room: the oldest of the others goes, and a keeps both forms.
    a!.form("gzip");
    expect(["a", "b", "c", "d"].map((key) => [key, cache.get("v1", key) !== undefined])).toEqual([
      ["a", true],
      ["b", false],
      ["c", true],
      ["d", true],
    ]);
    expect(cache.bytes).toBeGreaterThan(3 * cost);
    expect(cache.bytes).toBeLessThanOrEqual(4 * cost);
  });

  test("a form's bytes are held once, as sent: the uncompressed ones once for every encoding that sends them, each compressed one by itself", async () => {
    const cache = new AnswerCache<PreparedBody>(1 << 30);
    // Too small to compress: identity, gzip and br all send the body as it is.
    const tiny = new TextEncoder().encode(JSON.stringify({ items: [], currentVersion: 7 }));
    const small = cache.put("v1", "small", new PreparedBody(tiny));
    const before = cache.bytes;
    const forms = [small.form("identity"), small.form("gzip"), small.form("br")] as Array<{ body: Blob; headers: Headers }>;
    expect(cache.bytes - before).toBe(tiny.length);
    for (const form of forms) {
      expect(form.body).toBe(forms[0]!.body);
      expect(form.headers.get("content-encoding")).toBeNull();
      expect(new Uint8Array(await form.body.bytes())).toEqual(tiny);
    }
    // A body worth compressing: its identity form adds its length, its gzip form the compressed length.
    const text = new TextEncoder().encode(JSON.stringify(Array.from({ length: 500 }, (_, i) => ({ i, name: `group ${i}` }))));
    const large = cache.put("v1", "large", new PreparedBody(text));
    const start = cache.bytes;
    const identity = large.form("identity") as { body: Blob };
    expect(cache.bytes - start).toBe(text.length);
    const gzip = (await large.form("gzip")) as { body: Blob };
    expect(gzip.body.size).toBeLessThan(text.length);
    expect(cache.bytes - start).toBe(text.length + gzip.body.size);
    expect(new Uint8Array(await identity.body.bytes())).toEqual(text);
    expect(new Uint8Array(gunzipSync(await gzip.body.bytes()))).toEqual(text);
    expect(large.size).toBe(2 * text.length + gzip.body.size);
  });

  test("many small answers are capped like a few big ones: each entry costs its key and an overhead", () => {
    const cache = new AnswerCache<PreparedBody>(100_000);
    for (let i = 0; i < 10_000; i++) cache.put("v1", `question ${i} ${"x".repeat(200)}`, new PreparedBody(new Uint8Array(31)));
    expect(cache.bytes).toBeLessThanOrEqual(100_000);
    expect(cache.count).toBeLessThan(150);
  });

  test("another dataset version empties it", () => {
    const cache = new AnswerCache<PreparedBody>(4000);
    cache.put("v1", "a", body(600));
    expect(cache.get("v2", "a")).toBeUndefined();
    expect(cache.count).toBe(0);
    expect(cache.bytes).toBe(0);
  });
});

describe("answers are kept under what they mean, not how they were spelled", () => {
  const dir = tempDir();
  const store = Store.open(tempDbPath(dir));
  const server = startServer(store);
  let key = "";
  beforeAll(async () => {
    key = store.keys.create("k", "read");
    await runSync(store, datasetSource(dir, smallDataset()), { trigger: "import", force: false, maxDeleteShare: 0.5 });
  });
  const entries = async () => Number(/^nompd_answer_cache_entries (\d+)/m.exec(await (await server.get("/metrics")).text())![1]);

  test("spaces and letter case of a filter value, and the order of filters, make no new entry", async () => {
    const get = (q: string) => server.get(`/api/v1/treatmentGroup?${q}`, { "X-API-KEY": key });
    const first = await get("diseaseGroup=MS&jurisdiction=100022");
    const n = await entries();
    for (const q of ["diseaseGroup=%20ms&jurisdiction=100022", "jurisdiction=100022%20&diseaseGroup=Ms", "diseaseGroup=MS%20%20&jurisdiction=%20%20100022"]) {
      const res = await get(q);
      expect(await res.text()).toBe(await first.clone().text());
    }
    expect(await entries()).toBe(n);
    await get("diseaseGroup=Revmatologi");
    expect(await entries()).toBe(n + 1);
  });

  test("the versions list and a version's changes are kept until the dataset's version moves, then made anew", async () => {
    const get = async (path: string) => JSON.parse(await (await server.get(path, { "X-API-KEY": key })).text());
    const n = await entries();
    const list = await get("/api/v1/versions");
    const changes = await get("/api/v1/versions/1");
    // Two answers kept, then asked for again: no more.
    expect(await entries()).toBe(n + 2);
    expect(await get("/api/v1/versions")).toEqual(list);
    expect(await get("/api/v1/versions/1")).toEqual(changes);
    expect(await entries()).toBe(n + 2);
    // An unknown version is an error answer: nothing kept.
    expect((await server.get("/api/v1/versions/2", { "X-API-KEY": key })).status).toBe(404);
    expect(await entries()).toBe(n + 2);
    const changed = smallDataset();
    changed.PlanDefinition.pop();
    await runSync(store, datasetSource(dir, changed), { trigger: "import", force: false, maxDeleteShare: 0.5 });
    const after = await get("/api/v1/versions");
    expect([after.currentVersion, after.versions.map((v: { version: number }) => v.version)]).toEqual([2, [2, 1]]);
    expect((await get("/api/v1/versions/2")).changes.filter((c: { change: string }) => c.change === "deleted").length).toBeGreaterThan(0);
  });
});

describe("an error answer made once (preparedError)", () => {
  test("has the error's body, status and headers, with the extra headers as they are at each answer", async () => {
    const err = preparedError(new NompdError("Made once.", { status: 401, exit: EXIT.usage }, { "www-authenticate": "ApiKey" }));
    const frozen = Object.freeze({ "x-nompd-dataset": "d1" });
    const changing: Record<string, string> = { "x-nompd-dataset": "d1" };
    for (const extra of [frozen, changing]) {
      const first = errorAnswer(err, extra);
      expect([first.status, await first.text(), first.headers.get("www-authenticate"), first.headers.get("x-nompd-dataset")]).toEqual([401, '{"error":"Made once."}', "ApiKey", "d1"]);
    }
    changing["x-nompd-dataset"] = "d2";
    expect(errorAnswer(err, changing).headers.get("x-nompd-dataset")).toBe("d2");
    expect(errorAnswer(err, Object.freeze({ "x-nompd-dataset": "d3" })).headers.get("x-nompd-dataset")).toBe("d3");
    expect(errorAnswer(err, frozen).headers.get("x-nompd-dataset")).toBe("d1");
  });
});

describe("a large body is compressed off the thread that answers requests", () => {
  /** A JSON body of `bytes` or more, varied enough that compressing it takes milliseconds. */
  function largeBody(bytes: number): Uint8Array<ArrayBuffer> {
    const items: string[] = [];
    let length = 2;
    for (let i = 0; length < bytes; i++) {
      const item = JSON.stringify({ id: `group-${i}`, score: (i * 7919) % 10007, name: `Gruppe ${(i * 104729) % 99991}` });
      items.push(item);
      length += item.length + 1;
    }
    return new TextEncoder().encode(`[${items.join(",")}]`);
  }

  /** Counts what a body tells the cache it added. */
  function growth(body: PreparedBody): number[] {
    const deltas: number[] = [];
    const told = body.onGrow;
    body.onGrow = (delta) => {
      deltas.push(delta);
      told?.(delta);
    };
    return deltas;
  }

  test("its first requests in an encoding wait for one compression, while the thread goes on answering", async () => {
    // Large enough that compressing it takes milliseconds, in which the event loop turns many times.
    const bytes = largeBody(256 * COMPRESS_OFF_THREAD_BYTES);
    for (const [encoding, decompress] of [
      ["br", brotliDecompressSync],
      ["gzip", gunzipSync],
    ] as const) {
      const body = new PreparedBody(bytes);
      const first = body.form(encoding);
      expect(first).toBeInstanceOf(Promise);
      expect(body.form(encoding)).toBe(first);
      let settled = false;
      let turns = 0;
      void (first as Promise<unknown>).then(() => (settled = true));
      const turn = () => {
        if (settled) return;
        turns++;
        setImmediate(turn);
      };
      setImmediate(turn);
      const form = await first;
      expect(turns).toBeGreaterThan(0);
      expect(form.headers.get("content-encoding")).toBe(encoding);
      expect(new Uint8Array(decompress(await form.body.bytes()))).toEqual(bytes);
      // Made: answered at once from now on.
      expect(body.form(encoding)).toBe(form);
    }
    // A body below the size is compressed at once.
    expect(new PreparedBody(largeBody(COMPRESS_OFF_THREAD_BYTES / 2)).form("br")).not.toBeInstanceOf(Promise);
  });

  test("asked for again, a form is recompressed at the best level once, in the background; the fast form answers meanwhile, and the cache counts the change", async () => {
    for (const size of [4 * COMPRESS_OFF_THREAD_BYTES, COMPRESS_OFF_THREAD_BYTES / 4]) {
      const bytes = largeBody(size);
      const cache = new AnswerCache<PreparedBody>(100 * bytes.length);
      const body = cache.put("v1", "list", new PreparedBody(bytes), true);
      const deltas = growth(body);
      const fast = await body.form("br");
      const fastBody = fast.body;
      const before = cache.bytes;
      const again = body.form("br");
      expect(again).toBe(fast);
      expect((again as typeof fast).body).toBe(fastBody);
      await improvements();
      expect(new Uint8Array(brotliDecompressSync(await fast.body.bytes()))).toEqual(bytes);
      expect(fast.body.size).toBeLessThan(fastBody.size);
      expect(cache.bytes - before).toBe(fast.body.size - fastBody.size);
      // Once is enough.
      body.form("br");
      body.form("br");
      await improvements();
      expect(deltas).toEqual([fastBody.size, fast.body.size - fastBody.size]);
    }
  });

  test("a body the cache let go of is not compressed better; one put again under its key is", async () => {
    const bytes = largeBody(4 * COMPRESS_OFF_THREAD_BYTES);
    /** Asks for a body's gzip form twice (the second queues the best level); `between` runs before the queue does. */
    const askedTwice = async (body: PreparedBody, between: () => void) => {
      const fast = await body.form("gzip");
      const fastBody = fast.body;
      body.form("gzip");
      between();
      await improvements();
      return fast.body !== fastBody;
    };
    // A new dataset version empties the cache.
    const reset = new AnswerCache<PreparedBody>(1 << 30);
    const listed = reset.put("v1", "list", new PreparedBody(bytes), true);
    expect(await askedTwice(listed, () => expect(reset.get("v2", "list")).toBeUndefined())).toBe(false);
    // The least recently used answer makes room for another.
    // Room for four bodies without their compressed forms: a's gzip form makes the fourth push a out.
    const small = new AnswerCache<PreparedBody>(4 * (bytes.length + 2 + ENTRY_OVERHEAD));
    const evicted = small.put("v1", "a", new PreparedBody(bytes));
    expect(await askedTwice(evicted, () => ["b", "c", "d"].forEach((key) => small.put("v1", key, new PreparedBody(bytes))))).toBe(false);
    expect(small.get("v1", "a")).toBeUndefined();
    // The same body put again under its key stays wanted.
    const again = new AnswerCache<PreparedBody>(1 << 30);
    const kept = again.put("v1", "list", new PreparedBody(bytes));
    expect(await askedTwice(kept, () => again.put("v1", "list", kept))).toBe(true);
  });

  test("a 304 needs no form: answered at once, with the headers of its 200 but the body's own", async () => {
    const bytes = largeBody(4 * COMPRESS_OFF_THREAD_BYTES);
    const body = new PreparedBody(bytes, { "x-nompd-dataset": "d1" });
    const request = (headers: Record<string, string>) => new Request("http://localhost/x", { headers: { "accept-encoding": "br", ...headers } });
    const res = sendJson(request({ "if-none-match": body.etag }), body);
    expect(res).not.toBeInstanceOf(Promise);
    expect((res as Response).status).toBe(304);
    // Nothing was compressed for it.
    expect(body.size).toBe(bytes.length);
    const ok = await sendJson(request({}), body);
    expect(ok.status).toBe(200);
    const expected = [...ok.headers].filter(([name]) => !["content-type", "content-encoding", "content-length"].includes(name));
    expect([...(res as Response).headers]).toEqual(expected);
    expect(expected.map(([name]) => name)).toEqual(expect.arrayContaining(["etag", "vary", "cache-control", "x-nompd-dataset"]));
  });
});

describe("the ETag of a prepared body", () => {
  test("the same bytes of another dataset have another tag: no 304 hides the new X-Nompd-Dataset", () => {
    const bytes = new TextEncoder().encode('{"currentVersion":7,"items":[]}');
    const before = new PreparedBody(bytes, { "x-nompd-dataset": "d1" });
    const after = new PreparedBody(bytes, { "x-nompd-dataset": "d2" });
    expect(after.etag).not.toBe(before.etag);
    // The tag is the body's and its headers', not the object's, whatever their order.
    expect(new PreparedBody(bytes, { "x-nompd-dataset": "d1", "x-nompd-diff-floor": "3" }).etag).toBe(
      new PreparedBody(bytes, { "x-nompd-diff-floor": "3", "x-nompd-dataset": "d1" }).etag,
    );
    const res = sendJson(new Request("http://localhost/x", { headers: { "if-none-match": before.etag } }), after) as Response;
    expect(res.status).toBe(200);
    expect(res.headers.get("x-nompd-dataset")).toBe("d2");
  });
});
