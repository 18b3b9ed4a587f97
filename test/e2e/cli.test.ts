/**
 * The compiled binary where only a real process shows it: a terminal, signals, sockets, TLS, and the
 * sample dataset's marks in every place it is served. Everything else about the command line is tested
 * in-process (test/cli).
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { ensurePackages } from "../support/debian";
import { authorization } from "../support/fhir";
import { drain, ensureBinary, expectedVersionLine, nompd, ROOT, serve, spawnOnTerminal, stopServersAfterAll } from "../support/binary";
import { tempDir } from "../support/tmp";

ensurePackages(["openssl"]);
const dir = tempDir("nompd-cli-");
stopServersAfterAll();
beforeAll(() => {
  ensureBinary();
});
const KEY = "e2e-key-0123456789abcdef0123456789abcdef";
const withKey = { "X-API-KEY": KEY };

/** `nompd serve` on a pseudo-terminal (util-linux script), as a person at a shell starts it. */
async function serveOnTerminal(args: string[]): Promise<{ out: () => string; stop: () => Promise<void> }> {
  const proc = spawnOnTerminal([ensureBinary(), "serve", "--port", "0", "--no-sync-schedule", ...args]);
  let out = "";
  void drain(proc.stdout, (t) => (out += t));
  const deadline = Date.now() + 20_000;
  while (!/listening url=/.test(out) || !out.includes("OpenAPI:")) {
    if (Date.now() > deadline) throw new Error(`no start on the terminal:\n${out}`);
    await Bun.sleep(20);
  }
  return {
    out: () => out,
    stop: async () => {
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}

describe("first run", () => {
  test("on a terminal, serve makes a key and prints it once with a curl line that works; never in the log", async () => {
    const db = join(dir, "first.db");
    const server = await serveOnTerminal(["--sample", "--db", db]);
    const out = server.out();
    const curl = /curl -H "X-API-KEY: (nompd_[A-Za-z0-9_-]+)" (http:\/\/\S+)/.exec(out);
    expect(curl).not.toBeNull();
    const [, key, url] = curl!;
    expect(out.split(key!).length - 1).toBe(2); // the key alone, and inside the curl line
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
  });

  test("not on a terminal (a service, a container), no key is made or printed; the log says how to make one", async () => {
    const db = join(dir, "service.db");
    const server = await serve(["--sample", "--db", db]);
    await Bun.sleep(50);
    expect(server.stdout()).not.toContain("nompd_");
    expect(server.stderr()).not.toContain("nompd_");
    expect(server.stderr()).toContain("nompd keys create NAME");
    expect(JSON.parse((await nompd(["keys", "list", "--json", "--db", db])).stdout)).toEqual([]);
  });

  test("NOMPD_API_KEYS counts as a key: no key is made", async () => {
    const server = await serve(["--db", join(dir, "envkeys.db")], { NOMPD_API_KEYS: `${"a".repeat(40)}, ${KEY}` });
    await Bun.sleep(50);
    expect(server.stdout()).not.toContain("nompd_");
    expect((await fetch(server.url + "/api/v1/treatmentGroup", { headers: withKey })).status).toBe(200);
  });
});

describe("the sample dataset can never pass for real data", () => {
  test("without --sample an empty database serves empty lists, is not ready, and the log says how to get data", async () => {
    const server = await serve(["--db", join(dir, "empty.db")], { NOMPD_API_KEYS: KEY });
    const list = await fetch(server.url + "/api/v1/treatmentGroup", { headers: withKey });
    expect(await list.json()).toEqual({ currentVersion: 0, items: [] });
    expect(list.headers.get("x-nompd-sample")).toBeNull();
    const ready = await fetch(server.url + "/health/ready");
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as any).reason).toContain("no successful sync yet");
    const log = server.stderr();
    for (const way of ["--upstream-url", "nompd import", "--sample"]) expect(log).toContain(way);
    expect(log.match(/the database is empty/g)).toHaveLength(1);
  });

  test("with --sample it is marked everywhere; the first real import replaces it as a new dataset, past the guard", async () => {
    const db = join(dir, "sample.db");
    const server = await serve(["--sample", "--db", db], { NOMPD_API_KEYS: KEY });
    const list = await fetch(server.url + "/api/v1/treatmentGroup", { headers: withKey });
    expect(list.headers.get("x-nompd-sample")).toBe("true");
    const sampleDataset = list.headers.get("x-nompd-dataset");
    for (const path of ["/api/v1/reimbursementGroup", "/api/v1/fhir/PlanDefinition", "/api/v1/treatmentGroup?sinceVersion=0", "/api/v1/nothing"]) {
      expect([path, (await fetch(server.url + path, { headers: withKey })).headers.get("x-nompd-sample")]).toEqual([path, "true"]);
    }
    expect((await fetch(server.url + "/api/v1/treatmentGroup")).headers.get("x-nompd-sample")).toBe("true"); // 401 too
    const health = (await (await fetch(server.url + "/health")).json()) as any;
    expect(health.sample).toBe(true);
    const ready = await fetch(server.url + "/health/ready");
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as any)).toMatchObject({ sample: true, reason: expect.stringContaining("serving the sample dataset") });
    expect((await nompd(["status", "--db", db])).stdout.split("\n")[0]).toStartWith("SAMPLE DATASET");

    // A real import of a much smaller dataset: the guard would stop it against real data.
    const real = join(dir, "real");
    const fixtures = join(ROOT, "test", "fixtures", "convert", "natalizumab-seed.json");
    const fixture = (await Bun.file(fixtures).json()) as { input: Record<string, unknown[]> };
    const resources = Object.values(fixture.input).flat();
    await Bun.write(join(real, "bundle.json"), JSON.stringify({ resourceType: "Bundle", entry: resources.map((resource) => ({ resource })) }));
    // A dataset with no reimbursement groups at all would replace the sample's: stopped, unless forced.
    const partial = await nompd(["import", real, "--db", db]);
    expect(partial.exitCode).toBe(4);
    expect(partial.stdout).toContain("replace the sample dataset with no RegulatedAuthorization");
    expect((await fetch(server.url + "/api/v1/treatmentGroup", { headers: withKey })).headers.get("x-nompd-sample")).toBe("true");
    await Bun.write(join(real, "bundle.json"), JSON.stringify({ resourceType: "Bundle", entry: [...resources, authorization("ra-real", ["G35"], ["166028"])].map((resource) => ({ resource })) }));
    const imported = await nompd(["import", real, "--db", db, "--json"]);
    expect(imported.exitCode).toBe(0);
    const after = await fetch(server.url + "/api/v1/treatmentGroup", { headers: withKey });
    expect(after.headers.get("x-nompd-sample")).toBeNull();
    expect(after.headers.get("x-nompd-dataset")).not.toBe(sampleDataset);
    // The 401, made once per dataset state, follows the dataset too.
    const refused = await fetch(server.url + "/api/v1/treatmentGroup");
    expect([refused.status, refused.headers.get("x-nompd-sample"), refused.headers.get("x-nompd-dataset")]).toEqual([401, null, after.headers.get("x-nompd-dataset")]);
    const body = (await after.json()) as any;
    expect(body.items.map((i: any) => i.data.id)).toEqual(["4077eb19-b094-4712-89b1-c3b5a021ef8d"]);
    expect(body.currentVersion).toBe(2);
    // Clients holding the sample's version start over; nothing of the sample is left.
    expect((await fetch(server.url + "/api/v1/treatmentGroup?sinceVersion=1", { headers: withKey })).status).toBe(410);
    expect(((await (await fetch(server.url + "/api/v1/treatmentGroup?sinceVersion=0", { headers: withKey })).json()) as any).items).toHaveLength(1);
    expect((await fetch(server.url + "/health/ready")).status).toBe(200);
  });
});

describe("metrics", () => {
  test("GET /metrics: requests by route, method and status, latency, dataset, process and build; --no-metrics turns it off", async () => {
    const db = join(dir, "metrics.db");
    const server = await serve(["--sample", "--db", db], { NOMPD_API_KEYS: KEY });
    await fetch(server.url + "/api/v1/treatmentGroup", { headers: withKey });
    await fetch(server.url + "/api/v1/treatmentGroup", { headers: withKey });
    await fetch(server.url + "/api/v1/treatmentGroup");
    await fetch(server.url + "/api/v1/treatmentGroup/4077eb19-b094-4712-89b1-c3b5a021ef8d", { headers: withKey });
    await fetch(server.url + "/api/v1/treatmentGroup", { method: "DELETE" });
    const res = await fetch(server.url + "/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const text = await res.text();
    expect(text).toContain('nompd_http_requests_total{route="/api/v1/treatmentGroup",method="GET",status="200"} 2');
    expect(text).toContain('nompd_http_requests_total{route="/api/v1/treatmentGroup",method="GET",status="401"} 1');
    expect(text).toContain('nompd_http_requests_total{route="/api/v1/treatmentGroup",method="DELETE",status="405"} 1');
    expect(text).toContain('nompd_http_requests_total{route="/api/v1/treatmentGroup/:id",method="GET",status="200"} 1');
    expect(text).toContain('nompd_http_request_duration_seconds_count{route="/api/v1/treatmentGroup"} 4');
    expect(text).toContain("nompd_dataset_version 1");
    expect(text).toContain("nompd_sample_dataset 1");
    expect(text).toMatch(/nompd_last_successful_sync_timestamp_seconds \d{10}/);
    expect(text).toContain('nompd_last_sync_status{status="succeeded"} 1');
    expect(text).toMatch(/nompd_items\{collection="treatmentGroup",state="live"\} \d+/);
    expect(text).toMatch(/nompd_build_info\{version="\d+\.\d+\.\d+",commit="[^"]+"\} 1/);
    for (const name of ["process_resident_memory_bytes", "process_cpu_seconds_total", "process_open_fds", "process_start_time_seconds"]) expect(text).toMatch(new RegExp(`^${name} \\d`, "m"));
    // Buckets are cumulative: never decreasing.
    const buckets = [...text.matchAll(/nompd_http_request_duration_seconds_bucket\{route="\/api\/v1\/treatmentGroup",le="[^"]+"\} (\d+)/g)].map((m) => Number(m[1]));
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
    const gz = await fetch(server.url + "/metrics", { headers: { "Accept-Encoding": "gzip" }, decompress: false } as RequestInit);
    expect(gz.headers.get("content-encoding")).toBe("gzip");
    expect(Bun.gunzipSync(new Uint8Array(await gz.arrayBuffer())).length).toBeGreaterThan(1000);
    await server.stop();
    const off = await serve(["--db", db, "--no-metrics"], { NOMPD_API_KEYS: KEY });
    expect((await fetch(off.url + "/metrics")).status).toBe(404);
  });
});

describe("CORS", () => {
  test("off by default; --cors-origins answers preflights and marks answers for the origins it names only", async () => {
    const db = join(dir, "cors.db");
    const plain = await serve(["--sample", "--db", db], { NOMPD_API_KEYS: KEY });
    const noCors = await fetch(plain.url + "/api/v1/treatmentGroup", { headers: { ...withKey, Origin: "http://localhost:3000" } });
    expect(noCors.headers.get("access-control-allow-origin")).toBeNull();
    await plain.stop();

    const server = await serve(["--db", db, "--cors-origins", "http://localhost:3000, https://dash.sykehus.example"], { NOMPD_API_KEYS: KEY });
    const preflight = await fetch(server.url + "/api/v1/treatmentGroup", {
      method: "OPTIONS",
      headers: { Origin: "http://localhost:3000", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "x-api-key" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("http://localhost:3000");
    expect(preflight.headers.get("access-control-allow-headers")).toContain("X-API-KEY");
    const get = await fetch(server.url + "/api/v1/treatmentGroup", { headers: { ...withKey, Origin: "https://dash.sykehus.example" } });
    expect(get.status).toBe(200);
    expect(get.headers.get("access-control-allow-origin")).toBe("https://dash.sykehus.example");
    expect(get.headers.get("access-control-expose-headers")).toContain("X-Nompd-Dataset");
    const one = await fetch(server.url + "/api/v1/treatmentGroup/4077eb19-b094-4712-89b1-c3b5a021ef8d", { headers: { ...withKey, Origin: "http://localhost:3000" } });
    expect(one.headers.get("access-control-allow-origin")).toBe("http://localhost:3000");
    const stranger = await fetch(server.url + "/api/v1/treatmentGroup", { headers: { ...withKey, Origin: "http://evil.example" } });
    expect(stranger.headers.get("access-control-allow-origin")).toBeNull();
    expect(stranger.headers.get("vary")).toContain("Origin");
    // Health, metrics and the edge's own answers (405) follow the same rule.
    const health = await fetch(server.url + "/health", { headers: { Origin: "http://localhost:3000" } });
    expect(health.headers.get("access-control-allow-origin")).toBe("http://localhost:3000");
    const wrong = await fetch(server.url + "/api/v1/treatmentGroup", { method: "PUT", headers: { Origin: "http://localhost:3000" } });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("access-control-allow-origin")).toBe("http://localhost:3000");
    // Repeated answers never pile up Vary: Origin.
    for (let i = 0; i < 3; i++) {
      const again = await fetch(server.url + "/api/v1/treatmentGroup", { headers: { ...withKey, Origin: "http://evil.example" } });
      expect(again.headers.get("vary")?.match(/origin/gi)?.length).toBe(1);
    }
  });
});

describe("TLS", () => {
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  beforeAll(() => {
    const made = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1"], { stderr: "pipe" });
    expect(made.exitCode).toBe(0);
  });

  /** Whether openssl s_client completes a handshake with these options. */
  const handshake = (port: string, args: string[]) => {
    const r = Bun.spawnSync(["openssl", "s_client", "-connect", `127.0.0.1:${port}`, "-servername", "127.0.0.1", ...args], { stdin: new TextEncoder().encode("Q\n"), stdout: "pipe", stderr: "pipe" });
    const out = r.stdout.toString();
    return { ok: r.exitCode === 0 && /Cipher is (?!\(NONE\))/.test(out), out: out + r.stderr.toString() };
  };

  test("--tls-cert and --tls-key serve HTTPS; one without the other stops at start", async () => {
    const server = await serve(["--sample", "--db", join(dir, "tls.db"), "--tls-cert", cert, "--tls-key", key], { NOMPD_API_KEYS: KEY });
    expect(server.url.startsWith("https://")).toBe(true);
    const res = await fetch(server.url + "/api/v1/treatmentGroup", { headers: withKey, tls: { rejectUnauthorized: false } } as RequestInit);
    expect(res.status).toBe(200);
    const half = await nompd(["serve", "--db", join(dir, "tls.db"), "--tls-cert", cert]);
    expect(half.exitCode).toBe(2);
    expect(half.stderr).toContain("--tls-cert/--tls-key");
  });

  test("TLS 1.2 or newer with forward-secret suites only; --tls-min-version 1.3 refuses 1.2", async () => {
    const server = await serve(["--db", join(dir, "tls2.db"), "--tls-cert", cert, "--tls-key", key], { NOMPD_API_KEYS: KEY });
    const port = new URL(server.url).port;
    expect(handshake(port, ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"]).ok).toBe(true);
    expect(handshake(port, ["-tls1_3"]).ok).toBe(true);
    const weak = handshake(port, ["-tls1_2", "-cipher", "AES128-SHA"]);
    expect(weak.ok).toBe(false);
    expect(handshake(port, ["-tls1_1", "-cipher", "ALL:@SECLEVEL=0"]).ok).toBe(false);
    await server.stop();
    const strict = await serve(["--db", join(dir, "tls2.db"), "--tls-cert", cert, "--tls-key", key, "--tls-min-version", "1.3"], { NOMPD_API_KEYS: KEY });
    const strictPort = new URL(strict.url).port;
    expect(handshake(strictPort, ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"]).ok).toBe(false);
    expect(handshake(strictPort, ["-tls1_3"]).ok).toBe(true);
  });
});

describe("serve while another process syncs", () => {
  test("an empty database being filled by another process is served, not overwritten with the sample", async () => {
    const db = join(dir, "busy.db");
    const { Store } = await import("../../src/store/db");
    const store = Store.open(db);
    const held = store.lock.acquire("import"); // held by this (live) test process
    const server = await serve(["--sample", "--db", db], { NOMPD_API_KEYS: KEY });
    expect(server.stderr()).toContain("another process is syncing");
    const body = (await (await fetch(server.url + "/api/v1/treatmentGroup", { headers: withKey })).json()) as any;
    expect(body).toEqual({ currentVersion: 0, items: [] });
    held.release();
    store.close();
  });
});

describe("the build", () => {
  test("--version names the version, the commit it was built from (set by the Makefile) and the Bun version", async () => {
    const r = await nompd(["--version"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim()).toBe(expectedVersionLine());
  });
});
