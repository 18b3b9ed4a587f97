/**
 * No client can make the server grow without bound: every prepared answer lives in one cache, keyed on
 * what the question means and capped by bytes. Measured on the compiled binary's resident memory.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { activity, authorization, plan } from "../support/fhir";
import { ensureBinary, nompd, serve, stopServersAfterAll } from "../support/binary";
import { writeDataset } from "../support/source";
import { tempDir } from "../support/tmp";

const dir = tempDir("nompd-memory-");
stopServersAfterAll();
const KEY = "memory-test-key-0123456789abcdef0123456789";
const CAP_MIB = 16;
const db = join(dir, "big.db");

/** 800 treatment groups of 5 alternatives with 10 varenummer each, drawn from 200: a filter on one varenummer matches about a quarter. */
function bigDataset() {
  let seed = 7;
  const next = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const ads = Array.from({ length: 100 }, (_, a) =>
    activity(
      `ad-${a}`,
      `Legemiddel ${a}`,
      Array.from({ length: 10 }, () => String(100000 + next(200))),
    ),
  );
  const rhf = ["100020", "100021", "100022", "100023"];
  const plans = Array.from({ length: 800 }, (_, g) =>
    plan(`pd-${String(g).padStart(4, "0")}`, `Gruppe ${g}`, {
      diseaseGroup: ["MS", "Revmatologi", "HIV"][g % 3],
      rhf: [rhf[g % 4]!],
      icd: ["G35", "M05", "B20"].slice(0, 1 + (g % 3)),
      actions: Array.from({ length: 5 }, () => `ad-${next(100)}`),
    }),
  );
  return { PlanDefinition: plans, ActivityDefinition: ads, RegulatedAuthorization: [authorization("ra-1", ["G35"], ["100000"])] };
}

const rssMib = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;

beforeAll(async () => {
  ensureBinary();
  expect((await nompd(["import", writeDataset(dir, bigDataset()), "--db", db])).exitCode).toBe(0);
});

describe("bounded memory", () => {
  test(`500 distinct questions with a read key raise RSS by less than the cache cap (${CAP_MIB} MiB) plus 32 MB`, async () => {
    const server = await serve(["--db", db, "--cache-mib", String(CAP_MIB)], { NOMPD_API_KEYS: KEY });
    const get = async (query: string) => {
      const res = await fetch(`${server.url}/api/v1/treatmentGroup?${query}`, { headers: { "X-API-KEY": KEY } });
      expect(res.status).toBe(200);
      return res.arrayBuffer();
    };
    const full = (await get("")).byteLength;
    expect(full).toBeGreaterThan(3_000_000); // the full list: a few MB
    // Warm up: the full list, the filter index, and one filtered answer of each kind.
    await get("varenummer=100001");
    await get("varenummer=100001&indication=G35");
    Bun.gc?.(true);
    await Bun.sleep(200);
    const before = rssMib(server.proc.pid);
    let bytes = 0;
    const variants: string[] = [];
    for (let v = 0; v < 200; v++) for (const extra of ["", "&indication=G35", "&diseaseGroup=MS"]) variants.push(`varenummer=${100000 + v}${extra}`);
    // The same meaning spelled differently is one cached answer, not one each.
    for (let n = 1; n <= 40; n++) variants.push(`jurisdiction=${"%20".repeat(n)}100020`);
    expect(variants.length).toBeGreaterThanOrEqual(500);
    for (const query of variants) bytes += (await get(query)).byteLength;
    // Without a cap these answers alone would hold hundreds of MB.
    expect(bytes / 1024 / 1024).toBeGreaterThan(200);
    // What is kept, not the garbage of the burst: the server's collector returns that within seconds of
    // going idle, so the lowest RSS over the next few seconds is what the answers hold.
    let after = rssMib(server.proc.pid);
    for (let i = 0; i < 20 && after - before >= CAP_MIB + 32; i++) {
      await Bun.sleep(250);
      after = Math.min(after, rssMib(server.proc.pid));
    }
    expect(after - before).toBeLessThan(CAP_MIB + 32);
  }, 120_000);

  test("a diff asked for again is answered from the cache, and the cache never holds more than its cap", async () => {
    // The default cap: an answer larger than a quarter of the cap serves its request only.
    const server = await serve(["--db", db], { NOMPD_API_KEYS: KEY });
    const metric = async (name: string) => Number(new RegExp(`^${name} (\\d+)`, "m").exec(await (await fetch(`${server.url}/metrics`)).text())?.[1]);
    const diff = async () => {
      const res = await fetch(`${server.url}/api/v1/treatmentGroup?sinceVersion=0`, { headers: { "X-API-KEY": KEY, "Accept-Encoding": "br" }, decompress: false } as RequestInit);
      return { body: new Uint8Array(await res.arrayBuffer()), etag: res.headers.get("etag") };
    };
    const first = await diff();
    const misses = await metric('nompd_answer_cache_lookups_total\\{result="miss"\\}');
    const again = [await diff(), await diff(), await diff()];
    for (const a of again) expect(a.etag).toBe(first.etag);
    expect(await metric('nompd_answer_cache_lookups_total\\{result="miss"\\}')).toBe(misses);
    expect(await metric('nompd_answer_cache_lookups_total\\{result="hit"\\}')).toBeGreaterThanOrEqual(3);
    for (let v = 0; v < 200; v++) await fetch(`${server.url}/api/v1/treatmentGroup?varenummer=${100000 + v}&indication=G35`, { headers: { "X-API-KEY": KEY } });
    const held = await metric("nompd_answer_cache_bytes");
    expect(held).toBeGreaterThan(16 * 1024 * 1024);
    expect(held).toBeLessThanOrEqual(64 * 1024 * 1024);
  }, 120_000);
});
