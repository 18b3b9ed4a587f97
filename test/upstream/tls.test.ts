import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SourceError } from "../../src/errors";
import { fhirSource, type UpstreamOptions } from "../../src/upstream/fhirSource";
import { certificatesIn } from "../../src/upstream/transport";
import { smallDataset } from "../support/fhir";
import { startFakeUpstream, type FakeUpstream } from "../support/fakeUpstream";
import { issueCert, makeCa, type Ca } from "../support/pki";
import { tempDir } from "../support/tmp";

/** An HTTPS upstream whose certificate comes from a private CA: what --upstream-ca-file is for. */
const dir = tempDir("nompd-tls-");
const KEY = "upstream-key-tls-5c1e";
const data = smallDataset(3, 4);
let ca: Ca;
let otherCa: Ca;
const upstreams: FakeUpstream[] = [];

function https(names: string[], opts: { expired?: boolean } = {}): FakeUpstream {
  const cert = issueCert(dir, ca, `server-${upstreams.length}`, names, opts);
  const u = startFakeUpstream({ data, apiKey: KEY, pageSize: 2, tls: { cert: cert.cert, key: cert.key } });
  upstreams.push(u);
  return u;
}

beforeAll(() => {
  ca = makeCa(dir, "Hospital Test CA");
  otherCa = makeCa(dir, "Unrelated Test CA");
});
afterAll(async () => {
  for (const u of upstreams) await u.stop();
});

async function fetchAll(u: FakeUpstream, extra: Partial<UpstreamOptions> = {}): Promise<number> {
  let n = 0;
  await fhirSource({ baseUrl: u.url, apiKey: KEY, keyHeader: "X-API-KEY", timeoutMs: 5000, retries: 2, backoffMs: 10, maxPageBytes: 1 << 26, ...extra }).fetch((_, resources) => (n += resources.length));
  return n;
}

async function failure(u: FakeUpstream, extra: Partial<UpstreamOptions> = {}): Promise<string> {
  const err = await fetchAll(u, extra).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SourceError);
  return (err as Error).message;
}

const caFile = (c: Ca) => ({ file: c.certFile, certificates: certificatesIn(c.cert) });

describe("upstream TLS with a private CA", () => {
  test("trusted through --upstream-ca-file: every page of every collection arrives, with the key", async () => {
    const u = https(["127.0.0.1", "localhost"]);
    expect(await fetchAll(u, { ca: caFile(ca) })).toBe(5 + 3 + 4);
    expect(u.requests.length).toBeGreaterThan(3);
    expect(u.requests.every((r) => r.status === 200 && r.headers["x-api-key"] === KEY)).toBe(true);
  });

  test("a file with several certificates: the one that signed the server's is found among them", async () => {
    const u = https(["127.0.0.1"]);
    const both = certificatesIn(otherCa.cert + "\n" + ca.cert);
    expect(both).toHaveLength(2);
    expect(await fetchAll(u, { ca: { file: "both.pem", certificates: both } })).toBe(12);
  });

  test("without it: no retry, and a message naming the certificate problem, the URL and --upstream-ca-file", async () => {
    const u = https(["127.0.0.1"]);
    // A retry would first wait ten minutes: the test could not finish. A certificate is not transient.
    const message = await failure(u, { backoffMs: 600_000 });
    expect(message).toContain("unable to verify the first certificate");
    expect(message).toContain("--upstream-ca-file");
    expect(message).toMatch(/at https:\/\/127\.0\.0\.1:\d+\/Hresept/);
    expect(message).toContain("Nothing was written");
    expect(u.requests.length).toBe(0);
  });

  test("with the wrong CA in the file: says the file was tried, and how to see the chain", async () => {
    const u = https(["127.0.0.1"]);
    const message = await failure(u, { ca: { file: otherCa.certFile, certificates: certificatesIn(otherCa.cert) } });
    expect(message).toContain(`also with the CA certificates of --upstream-ca-file ${otherCa.certFile}`);
    expect(message).toContain("openssl s_client -showcerts");
  });

  test("a certificate for another host: names the host and --upstream-url", async () => {
    const u = https(["fhir.example.no"]);
    const message = await failure(u, { ca: caFile(ca) });
    expect(message).toContain("the TLS certificate is not for 127.0.0.1");
    expect(message).toContain("ERR_TLS_CERT_ALTNAME_INVALID");
    expect(message).toContain("--upstream-url");
  });

  test("an expired certificate: says it expired, and what to check", async () => {
    const u = https(["127.0.0.1"], { expired: true });
    const message = await failure(u, { ca: caFile(ca) });
    expect(message).toContain("the TLS certificate has expired");
    expect(message).toContain("CERT_HAS_EXPIRED");
    expect(message).toContain("clock");
    expect(message).toContain("--upstream-url");
  });

  test("the CA file's certificates are checked: a damaged one is refused by name", () => {
    const damaged = ca.cert.replace(/\n([A-Za-z0-9+/]{20})/, "\n!!!!!!!!!!!!!!!!!!!!");
    expect(() => certificatesIn(otherCa.cert + damaged)).toThrow("certificate 2 of 2 is not a valid X.509 certificate");
    expect(certificatesIn("no certificate here")).toEqual([]);
  });
});
