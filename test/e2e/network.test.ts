import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { createKey, ensureBinary, nompd, serve, stopServersAfterAll } from "../support/binary";
import { ensurePackages } from "../support/debian";
import { startFakeUpstream, type FakeUpstream } from "../support/fakeUpstream";
import { smallDataset } from "../support/fhir";
import { issueCert, makeCa, type Ca } from "../support/pki";
import { NO_PROXY_VARIABLES, startRelay, startTinyproxy, type Relay, type Tinyproxy } from "../support/proxy";
import { tempDir } from "../support/tmp";

/**
 * dist/nompd behind a hospital's network: an outbound proxy (Debian's tinyproxy) and an upstream whose
 * TLS certificate comes from a private CA. A relay in front of the proxy records what the proxy received.
 */
ensurePackages(["openssl", "tinyproxy"]);
const dir = tempDir("nompd-network-");
const KEY = "upstream-key-network-3e8d";
const data = smallDataset(3, 5);
let ca: Ca;
let unrelatedCa: Ca;
let tls: FakeUpstream;
let plain: FakeUpstream;
let proxy: Tinyproxy;
const relays: Relay[] = [];
let dbs = 0;
stopServersAfterAll();

beforeAll(async () => {
  ensureBinary();
  ca = makeCa(dir, "Hospital Network Test CA");
  unrelatedCa = makeCa(dir, "Unrelated Network Test CA");
  const cert = issueCert(dir, ca, "upstream", ["127.0.0.1", "localhost"]);
  tls = startFakeUpstream({ data, apiKey: KEY, pageSize: 2, tls: { cert: cert.cert, key: cert.key } });
  plain = startFakeUpstream({ data, apiKey: KEY, pageSize: 2 });
  proxy = await startTinyproxy(dir);
});
afterAll(async () => {
  for (const r of relays) await r.stop();
  await proxy?.stop();
  await tls?.stop();
  await plain?.stop();
});

async function relayToProxy(): Promise<Relay> {
  const r = await startRelay(proxy.port);
  relays.push(r);
  return r;
}


function sync(upstream: FakeUpstream, env: Record<string, string>, args: string[] = []) {
  return nompd(["sync", "--json", "--db", join(dir, `db-${++dbs}.db`), ...args], {
    ...NO_PROXY_VARIABLES,
    NOMPD_UPSTREAM_URL: upstream.url,
    NOMPD_UPSTREAM_API_KEY: KEY,
    NOMPD_UPSTREAM_RETRIES: "1",
    NOMPD_UPSTREAM_BACKOFF_MS: "20",
    ...env,
  });
}

const hostPort = (u: FakeUpstream) => new URL(u.url).host;

describe("through a forward proxy", () => {
  test("HTTPS upstream, private CA in --upstream-ca-file: the sync succeeds and the key crosses the proxy only inside the tunnel", async () => {
    const relay = await relayToProxy();
    const before = tls.requests.length;
    const proxiedBefore = proxy.requests().length;
    const r = await sync(tls, { HTTPS_PROXY: relay.url, NOMPD_UPSTREAM_CA_FILE: ca.certFile });
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: "succeeded", version: 1 });

    // The upstream got every request, with the key.
    const seen = tls.requests.slice(before);
    expect(seen.length).toBeGreaterThanOrEqual(3 + 3 + 2);
    expect(seen.every((q) => q.status === 200 && q.headers["x-api-key"] === KEY)).toBe(true);
    // The proxy was asked for tunnels to the upstream, nothing else.
    const requests = proxy.requests().slice(proxiedBefore);
    expect(requests).toContain(`CONNECT ${hostPort(tls)} HTTP/1.1`);
    expect(requests.every((line) => line.startsWith("CONNECT "))).toBe(true);
    // What the proxy received: the CONNECT lines in clear, then TLS. Neither the key nor a path.
    const bytes = relay.clientBytes();
    expect(bytes).toContain(`CONNECT ${hostPort(tls)} HTTP/1.1\r\n`);
    expect(bytes.length).toBeGreaterThan(1000);
    expect(bytes).not.toContain(KEY);
    expect(bytes).not.toContain("HreseptGuidelines");
  });

  test("the same check sees the key when it does cross in clear: a plain-http upstream through the same proxy", async () => {
    const relay = await relayToProxy();
    const r = await sync(plain, { HTTP_PROXY: relay.url });
    expect(r.exitCode).toBe(0);
    const bytes = relay.clientBytes();
    expect(bytes).toContain(`GET ${plain.url}/HreseptGuidelines/PlanDefinition HTTP/1.1\r\n`);
    expect(bytes).toContain(KEY);
  });

  test("without the CA file: exit 1, naming the certificate problem, the URL, the proxy and --upstream-ca-file", async () => {
    const relay = await relayToProxy();
    const r = await sync(tls, { HTTPS_PROXY: relay.url });
    expect(r.exitCode).toBe(1);
    const out = r.stdout + r.stderr;
    expect(out).toContain("unable to verify the first certificate");
    expect(out).toContain("--upstream-ca-file");
    expect(out).toContain(`${tls.url}/Hresept`);
    expect(out).toContain(`through the proxy ${relay.url}, from HTTPS_PROXY`);
    expect(out).not.toContain(KEY);
    expect(relay.connections()).toBeGreaterThan(0);
  });

  test("NO_PROXY sends the upstream's requests directly: the proxy sees none", async () => {
    const relay = await relayToProxy();
    const before = proxy.requests().length;
    const r = await sync(tls, { HTTPS_PROXY: relay.url, NO_PROXY: "localhost,127.0.0.1", NOMPD_UPSTREAM_CA_FILE: ca.certFile });
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout).status).toBe("succeeded");
    expect(relay.connections()).toBe(0);
    expect(proxy.requests().length).toBe(before);
  });

  test("--upstream-proxy beats HTTPS_PROXY", async () => {
    const relay = await relayToProxy();
    // HTTPS_PROXY names a port where nothing listens: used, it would fail the sync.
    const r = await sync(tls, { HTTPS_PROXY: "http://127.0.0.1:1", NOMPD_UPSTREAM_CA_FILE: ca.certFile }, ["--upstream-proxy", relay.url]);
    expect(r.exitCode).toBe(0);
    expect(relay.clientBytes()).toContain(`CONNECT ${hostPort(tls)} HTTP/1.1\r\n`);
    const refused = await sync(tls, { HTTPS_PROXY: "http://127.0.0.1:1", NOMPD_UPSTREAM_CA_FILE: ca.certFile });
    expect(refused.exitCode).toBe(1);
    expect(refused.stdout + refused.stderr).toContain("through the proxy http://127.0.0.1:1, from HTTPS_PROXY");
  });
});

describe("the server's syncs (in their worker thread) take the same way", () => {
  test("startup sync and POST /api/internal/sync through the proxy, with the CA file", async () => {
    const relay = await relayToProxy();
    const db = join(dir, "server.db");
    const admin = await createKey(db, "ops", { scope: "admin" });
    const env = { ...NO_PROXY_VARIABLES, NOMPD_UPSTREAM_URL: tls.url, NOMPD_UPSTREAM_API_KEY: KEY, HTTPS_PROXY: relay.url, NOMPD_UPSTREAM_CA_FILE: ca.certFile };
    const server = await serve(["--db", db, "--no-sync-schedule", "--log-format", "json"], env);
    for (let i = 0; i < 400 && !server.stderr().includes("initial sync finished"); i++) await Bun.sleep(25);
    expect((await fetch(`${server.url}/health/ready`)).status).toBe(200);
    const connections = relay.connections();
    expect(connections).toBeGreaterThan(0);
    const res = await fetch(`${server.url}/api/internal/sync`, { method: "POST", headers: { "X-API-KEY": admin } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ trigger: "http", status: "no_changes", version: 1 });
    expect(relay.connections()).toBeGreaterThan(connections);
    expect(relay.clientBytes()).not.toContain(KEY);
    expect(server.stderr()).not.toContain(KEY);
  });
});

describe("--upstream-ca-file adds to the system's trust store", () => {
  // SSL_CERT_FILE stands in for the machine's trust store, here holding the hospital's CA.
  test("with the upstream's CA in the system store, an unrelated CA file leaves it trusted", async () => {
    const r = await sync(tls, { SSL_CERT_FILE: ca.certFile, NOMPD_UPSTREAM_CA_FILE: unrelatedCa.certFile });
    expect(r.stdout + r.stderr).not.toContain("certificate");
    expect(r.exitCode).toBe(0);
  });

  test("and without it there, the same CA file is not enough (so the system store was what trusted it)", async () => {
    const r = await sync(tls, { NOMPD_UPSTREAM_CA_FILE: unrelatedCa.certFile });
    expect(r.exitCode).toBe(1);
    expect(r.stdout + r.stderr).toContain(`also with the CA certificates of --upstream-ca-file ${unrelatedCa.certFile}`);
  });

  test("a CA file that holds no certificate stops nompd at start: exit 2, one line", async () => {
    const r = await sync(tls, { NOMPD_UPSTREAM_CA_FILE: join(dir, "upstream.key") });
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual([expect.stringContaining("Invalid setting --upstream-ca-file")]);
  });
});
