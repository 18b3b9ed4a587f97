import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { ensureBinary, expectedVersionLine, nompd, ROOT, serve, stopServersAfterAll } from "../support/binary";
import { tempDir } from "../support/tmp";

const dir = tempDir("nompd-cli-");
stopServersAfterAll();
beforeAll(() => {
  ensureBinary();
});

describe("first run", () => {
  test("serve on an empty database loads the embedded sample, prints a key once with a curl line that works", async () => {
    const db = join(dir, "first.db");
    const server = await serve(["--db", db]);
    // The key and curl line are on stdout, once.
    await Bun.sleep(50);
    const out = server.stdout();
    const curl = /curl -H "X-API-KEY: (nompd_[A-Za-z0-9_-]+)" (http:\/\/\S+)/.exec(out);
    expect(curl).not.toBeNull();
    const [, key, url] = curl!;
    expect(out.split(key!).length - 1).toBe(2); // the key alone, and inside the curl line
    expect(server.stderr()).not.toContain(key!); // never in the log
    const res = await fetch(url!, { headers: { "X-API-KEY": key! } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body.currentVersion).toBe(1);
    expect(body.items.length).toBeGreaterThanOrEqual(12);
    await server.stop();

    // The second start prints no key: one exists, stored only as its hash.
    const again = await serve(["--db", db]);
    await Bun.sleep(50);
    expect(again.stdout()).not.toContain("nompd_");
    const stored = JSON.stringify(new Database(db, { readonly: true }).query("SELECT * FROM api_key").all());
    expect(stored).not.toContain(key!);
    expect((await fetch(url!.replace(/:\d+\//, `:${new URL(again.url).port}/`), { headers: { "X-API-KEY": key! } })).status).toBe(200);
  });

  test("NOMPD_API_KEYS counts as a key: no key is made", async () => {
    const server = await serve(["--db", join(dir, "envkeys.db")], { NOMPD_API_KEYS: "k-one, k-two" });
    await Bun.sleep(50);
    expect(server.stdout()).not.toContain("nompd_");
    expect((await fetch(server.url + "/api/v1/treatmentGroup", { headers: { "X-API-KEY": "k-two" } })).status).toBe(200);
  });
});

describe("metrics", () => {
  test("GET /metrics: requests by route and status, latency histogram, version, last sync, items; --no-metrics turns it off", async () => {
    const db = join(dir, "metrics.db");
    const server = await serve(["--db", db], { NOMPD_API_KEYS: "metrics-key" });
    const k = { "X-API-KEY": "metrics-key" };
    await fetch(server.url + "/api/v1/treatmentGroup", { headers: k });
    await fetch(server.url + "/api/v1/treatmentGroup", { headers: k });
    await fetch(server.url + "/api/v1/treatmentGroup");
    await fetch(server.url + "/api/v1/treatmentGroup/4077eb19-b094-4712-89b1-c3b5a021ef8d", { headers: k });
    const res = await fetch(server.url + "/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const text = await res.text();
    expect(text).toContain('nompd_http_requests_total{route="/api/v1/treatmentGroup",status="200"} 2');
    expect(text).toContain('nompd_http_requests_total{route="/api/v1/treatmentGroup",status="401"} 1');
    expect(text).toContain('nompd_http_requests_total{route="/api/v1/treatmentGroup/:id",status="200"} 1');
    expect(text).toContain('nompd_http_request_duration_seconds_bucket{route="/api/v1/treatmentGroup",le="+Inf"} 3');
    expect(text).toContain('nompd_http_request_duration_seconds_count{route="/api/v1/treatmentGroup"} 3');
    expect(text).toContain("nompd_dataset_version 1");
    expect(text).toMatch(/nompd_last_successful_sync_timestamp_seconds \d{10}/);
    expect(text).toContain('nompd_last_sync_status{status="succeeded"} 1');
    expect(text).toMatch(/nompd_items\{collection="treatmentGroup",state="live"\} \d+/);
    // Buckets are cumulative: never decreasing.
    const buckets = [...text.matchAll(/nompd_http_request_duration_seconds_bucket\{route="\/api\/v1\/treatmentGroup",le="[^"]+"\} (\d+)/g)].map((m) => Number(m[1]));
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
    await server.stop();
    const off = await serve(["--db", db, "--no-metrics"], { NOMPD_API_KEYS: "metrics-key" });
    expect((await fetch(off.url + "/metrics")).status).toBe(404);
  });
});

describe("CORS", () => {
  test("off by default; --cors-origins answers preflights and marks answers for the origins it names only", async () => {
    const db = join(dir, "cors.db");
    const plain = await serve(["--db", db], { NOMPD_API_KEYS: "cors-key" });
    const noCors = await fetch(plain.url + "/api/v1/treatmentGroup", { headers: { "X-API-KEY": "cors-key", Origin: "http://localhost:3000" } });
    expect(noCors.headers.get("access-control-allow-origin")).toBeNull();
    await plain.stop();

    const server = await serve(["--db", db, "--cors-origins", "http://localhost:3000, https://dash.sykehus.example"], { NOMPD_API_KEYS: "cors-key" });
    const preflight = await fetch(server.url + "/api/v1/treatmentGroup", {
      method: "OPTIONS",
      headers: { Origin: "http://localhost:3000", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "x-api-key" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("http://localhost:3000");
    expect(preflight.headers.get("access-control-allow-headers")).toContain("X-API-KEY");
    const get = await fetch(server.url + "/api/v1/treatmentGroup", { headers: { "X-API-KEY": "cors-key", Origin: "https://dash.sykehus.example" } });
    expect(get.status).toBe(200);
    expect(get.headers.get("access-control-allow-origin")).toBe("https://dash.sykehus.example");
    expect(get.headers.get("access-control-expose-headers")).toContain("X-Nompd-Dataset");
    const one = await fetch(server.url + "/api/v1/treatmentGroup/4077eb19-b094-4712-89b1-c3b5a021ef8d", { headers: { "X-API-KEY": "cors-key", Origin: "http://localhost:3000" } });
    expect(one.headers.get("access-control-allow-origin")).toBe("http://localhost:3000");
    const stranger = await fetch(server.url + "/api/v1/treatmentGroup", { headers: { "X-API-KEY": "cors-key", Origin: "http://evil.example" } });
    expect(stranger.headers.get("access-control-allow-origin")).toBeNull();
    expect(stranger.headers.get("vary")).toContain("Origin");
    // An answer served again and again (the /swagger page) never keeps one request's CORS headers.
    const allowedPage = await fetch(server.url + "/swagger", { headers: { Origin: "http://localhost:3000" } });
    expect(allowedPage.headers.get("access-control-allow-origin")).toBe("http://localhost:3000");
    for (const origin of [undefined, "http://evil.example"]) {
      const page = await fetch(server.url + "/swagger", { headers: origin ? { Origin: origin } : {} });
      expect(page.headers.get("access-control-allow-origin")).toBeNull();
      expect(page.headers.get("vary")?.match(/origin/gi)?.length ?? 0).toBeLessThanOrEqual(1);
    }
    const bad = await nompd(["status", "--db", db, "--cors-origins", "localhost:3000/app"]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain("--cors-origins");
  });
});

describe("TLS", () => {
  test("--tls-cert and --tls-key serve HTTPS; one without the other stops at start", async () => {
    const cert = join(dir, "cert.pem");
    const key = join(dir, "key.pem");
    const made = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1"], { stderr: "pipe" });
    expect(made.exitCode).toBe(0);
    const server = await serve(["--db", join(dir, "tls.db"), "--tls-cert", cert, "--tls-key", key], { NOMPD_API_KEYS: "tls-key" });
    expect(server.url.startsWith("https://")).toBe(true);
    const res = await fetch(server.url + "/api/v1/treatmentGroup", { headers: { "X-API-KEY": "tls-key" }, tls: { rejectUnauthorized: false } } as RequestInit);
    expect(res.status).toBe(200);
    const half = await nompd(["serve", "--db", join(dir, "tls.db"), "--tls-cert", cert]);
    expect(half.exitCode).toBe(2);
    expect(half.stderr).toContain("--tls-cert/--tls-key");
  });
});

describe("serve while another process syncs", () => {
  test("an empty database being filled by another process is served, not overwritten with the sample", async () => {
    const db = join(dir, "busy.db");
    const { Store } = await import("../../src/store/db");
    const { SyncLock } = await import("../../src/store/syncLock");
    const store = Store.open(db);
    new SyncLock(store).acquire("import"); // held by this (live) test process
    const server = await serve(["--db", db], { NOMPD_API_KEYS: "busy-key" });
    expect(server.stderr()).toContain("another process is syncing");
    const body = (await (await fetch(server.url + "/api/v1/treatmentGroup", { headers: { "X-API-KEY": "busy-key" } })).json()) as any;
    expect(body).toEqual({ currentVersion: 0, items: [] });
    new SyncLock(store).release();
    store.close();
  });
});

describe("keys", () => {
  test("create, list, revoke; errors name the way out", async () => {
    const db = join(dir, "keys.db");
    const made = await nompd(["keys", "create", "pharmacy", "--scope", "admin", "--db", db]);
    expect(made.exitCode).toBe(0);
    expect(made.stdout).toMatch(/nompd_[A-Za-z0-9_-]{43}/);
    expect(made.stdout).toContain("curl -H");
    const dup = await nompd(["keys", "create", "pharmacy", "--db", db]);
    expect(dup.exitCode).toBe(1);
    expect(dup.stderr).toContain("keys revoke pharmacy");
    const list = JSON.parse((await nompd(["keys", "list", "--json", "--db", db])).stdout);
    expect(list).toEqual([expect.objectContaining({ name: "pharmacy", scope: "admin", revokedAt: null })]);
    expect(JSON.stringify(list)).not.toContain("nompd_");
    expect((await nompd(["keys", "revoke", "pharmacy", "--db", db])).exitCode).toBe(0);
    const missing = await nompd(["keys", "revoke", "pharmacy", "--db", db]);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain("keys list");
    const badScope = await nompd(["keys", "create", "x", "--scope", "write", "--db", db]);
    expect(badScope.exitCode).toBe(2);
    expect(badScope.stderr).toContain("read or admin");
  });
});

describe("settings and usage", () => {
  test("a wrong setting stops the program with one line naming it; flag beats environment", async () => {
    const bad = await nompd(["status", "--db", join(dir, "s.db")], { NOMPD_MAX_DELETE_SHARE: "2" });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    expect(bad.stderr).toContain("--max-delete-share (environment variable NOMPD_MAX_DELETE_SHARE)");
    const flagWins = await nompd(["keys", "list", "--db", join(dir, "s.db"), "--max-delete-share", "0.3"], { NOMPD_MAX_DELETE_SHARE: "2" });
    expect(flagWins.exitCode).toBe(0);
    const envDb = join(dir, "from-env.db");
    expect((await nompd(["keys", "list"], { NOMPD_DB: envDb })).exitCode).toBe(0);
    expect(existsSync(envDb)).toBe(true);
    // status and backup never make a database: a wrong --db is an error, not a new empty file.
    const missing = join(dir, "missing.db");
    for (const args of [["status"], ["backup", join(dir, "copy-of-missing.db")]]) {
      const r = await nompd([...args, "--db", missing]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain(`There is no database at ${missing}`);
    }
    expect(existsSync(missing)).toBe(false);
    for (const [args, fragment] of [
      [["--port", "http"], "--port"],
      [["--sync-tz", "Mars/Olympus"], "--sync-tz"],
      [["--log-format", "xml"], "--log-format"],
      [["--upstream-url", "ftp://x"], "--upstream-url"],
      [["--bogus"], "Unknown option --bogus"],
      [["--port", ""], "--port"],
      [["--port", "0x50"], "--port"],
      [["--max-delete-share", " "], "--max-delete-share"],
      [["--upstream-retries", "1.5"], "--upstream-retries"],
      [["--sync-cron", "bad cron"], "--sync-cron"],
      [["--sync-cron", "0 0 30 2 *"], "never fires"],
      [["--upstream-timeout-ms", "99999999999999999999"], "--upstream-timeout-ms"],
      [["--upstream-api-key", "secret"], "NOMPD_UPSTREAM_API_KEY"],
    ] as const) {
      const r = await nompd(["status", "--db", join(dir, "s.db"), ...args]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain(fragment);
    }
  });

  test("status never prints credentials of the upstream URL", async () => {
    expect((await nompd(["keys", "list", "--db", join(dir, "s.db")])).exitCode).toBe(0);
    const r = await nompd(["status", "--json", "--db", join(dir, "s.db"), "--upstream-url", "http://user:secretpw@127.0.0.1:1/fhir"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).not.toContain("secretpw");
    expect(JSON.parse(r.stdout).schedule.upstreamUrl).toBe("http://127.0.0.1:1/fhir");
  });

  test("--help documents every command and setting; --version prints the version, the commit and the Bun version", async () => {
    const help = await nompd(["--help"]);
    expect(help.exitCode).toBe(0);
    for (const word of ["serve", "sync", "import", "keys create", "keys list", "keys revoke", "status", "backup", "--db", "NOMPD_DB", "--upstream-url", "--upstream-api-key-file", "NOMPD_UPSTREAM_API_KEY", "--sync-cron", "--sync-tz", "--no-sync-schedule", "--max-delete-share", "--tls-cert", "--tls-key", "--log-format", "NOMPD_API_KEYS"]) {
      expect(help.stdout).toContain(word);
    }
    expect((await nompd(["--version"])).stdout.trim()).toBe(expectedVersionLine());
  });

  test("import of a bad file says which file and what is expected, and exits non-zero", async () => {
    const db = join(dir, "bad-import.db");
    const bad = join(dir, "bad.json");
    writeFileSync(bad, "{ not json");
    const r = await nompd(["import", bad, "--db", db]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout + r.stderr).toContain("bad.json line 1 is not valid JSON");
    const none = await nompd(["import", join(dir, "does-not-exist.json"), "--db", db]);
    expect(none.exitCode).toBe(1);
    expect(none.stdout + none.stderr).toContain("no such file");
    expect((await nompd(["import", "--db", db])).exitCode).toBe(2);
  });

  test("a database file of a newer nompd is refused with a clear message", async () => {
    const db = join(dir, "newer.db");
    expect((await nompd(["keys", "list", "--db", db])).exitCode).toBe(0);
    const raw = new Database(db);
    raw.exec("PRAGMA user_version = 999");
    raw.close();
    const r = await nompd(["status", "--db", db]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("newer nompd");
  });
});

describe("status and backup", () => {
  test("backup makes a consistent copy that opens as the same dataset; it never overwrites", async () => {
    const db = join(dir, "backup-src.db");
    expect((await nompd(["import", join(ROOT, "data", "sample"), "--db", db])).exitCode).toBe(0);
    const copy = join(dir, "copy.db");
    const r = await nompd(["backup", copy, "--db", db]);
    expect(r.exitCode).toBe(0);
    const a = JSON.parse((await nompd(["status", "--json", "--db", db])).stdout);
    const b = JSON.parse((await nompd(["status", "--json", "--db", copy])).stdout);
    expect(b.datasetId).toBe(a.datasetId);
    expect(b.currentVersion).toBe(1);
    expect(b.collections).toEqual(a.collections);
    const again = await nompd(["backup", copy, "--db", db]);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toContain("never overwrites");
  });
});
