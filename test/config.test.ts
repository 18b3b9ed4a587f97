import { beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig, UPSTREAM_KEY_CREDENTIAL } from "../src/config";
import { ConfigError } from "../src/errors";
import { makeCa, type Ca } from "./support/pki";
import { tempDir } from "./support/tmp";

const dir = tempDir("nompd-config-");
const load = (flags: Record<string, string> = {}, env: Record<string, string> = {}) => loadConfig(new Map(Object.entries(flags)), env);
const refused = (flags: Record<string, string>, env: Record<string, string> = {}): string => {
  try {
    load(flags, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("the settings were accepted");
};
const HTTPS_UPSTREAM = { NOMPD_UPSTREAM_URL: "https://fhir.example.no/api/" };

describe("the upstream proxy", () => {
  test("from the environment: the variable for the upstream's scheme, lower case first, named", () => {
    expect(load({}, { ...HTTPS_UPSTREAM, HTTPS_PROXY: "http://proxy.example.no:3128" }).network.proxy).toEqual({ url: "http://proxy.example.no:3128", from: "HTTPS_PROXY" });
    expect(load({}, { ...HTTPS_UPSTREAM, https_proxy: "lower:1", HTTPS_PROXY: "upper:1" }).network.proxy).toEqual({ url: "http://lower:1", from: "https_proxy" });
    expect(load({}, { ...HTTPS_UPSTREAM, HTTP_PROXY: "http://plain:3128" }).network.proxy).toBeNull();
    expect(load({}, { NOMPD_UPSTREAM_URL: "http://fhir.example.no/", HTTP_PROXY: "http://plain:3128" }).network.proxy).toEqual({ url: "http://plain:3128", from: "HTTP_PROXY" });
  });

  test("--upstream-proxy (or NOMPD_UPSTREAM_PROXY) beats HTTPS_PROXY; NO_PROXY beats them all", () => {
    const env = { ...HTTPS_UPSTREAM, HTTPS_PROXY: "http://machine-wide:3128" };
    expect(load({ "--upstream-proxy": "http://mine:8080" }, env).network.proxy).toEqual({ url: "http://mine:8080", from: "--upstream-proxy" });
    expect(load({}, { ...env, NOMPD_UPSTREAM_PROXY: "mine:8080" }).network.proxy).toEqual({ url: "http://mine:8080", from: "NOMPD_UPSTREAM_PROXY" });
    expect(load({ "--upstream-proxy": "http://mine:8080" }, { ...env, NO_PROXY: ".example.no" }).network.proxy).toBeNull();
    expect(load({}, { ...env, no_proxy: "fhir.example.no" }).network.proxy).toBeNull();
  });

  test("a bad proxy stops the program with one line naming its source, never echoing a password", () => {
    const env = refused({}, { ...HTTPS_UPSTREAM, HTTPS_PROXY: "socks5://user:hunter2@proxy:1080" });
    expect(env).toContain("Invalid environment variable HTTPS_PROXY");
    expect(env).toContain("socks5 proxies are not supported");
    expect(env).not.toContain("hunter2");
    const flag = refused({ "--upstream-proxy": "http://user:hunter2@proxy:3128/some/path" });
    expect(flag).toStartWith("Invalid setting --upstream-proxy (flag --upstream-proxy)");
    expect(flag).not.toContain("hunter2");
    expect(flag.split("\n")).toHaveLength(1);
  });

  test("without an upstream the proxy environment is not read (another program's bad value stops nothing)", () => {
    expect(load({}, { HTTPS_PROXY: "socks5://proxy:1080" }).network.proxy).toBeNull();
  });
});

describe("--upstream-ca-file", () => {
  let ca: Ca;
  beforeAll(() => {
    ca = makeCa(dir, "Config Test CA");
  });

  test("its certificates (several in one file) are kept for the upstream's TLS", () => {
    const file = join(dir, "two.pem");
    writeFileSync(file, `# two CAs\n${ca.cert}\n${ca.cert}`);
    const { network } = load({ "--upstream-ca-file": file });
    expect(network.ca?.file).toBe(file);
    expect(network.ca?.certificates).toHaveLength(2);
    expect(load({}, { NOMPD_UPSTREAM_CA_FILE: ca.certFile }).network.ca?.certificates).toHaveLength(1);
  });

  test("a file that cannot be read, or holds no certificate, stops the program naming the setting", () => {
    expect(refused({ "--upstream-ca-file": join(dir, "missing.pem") })).toBe(`Invalid setting --upstream-ca-file: cannot read ${join(dir, "missing.pem")} (ENOENT).`);
    const key = join(dir, "key-only.pem");
    writeFileSync(key, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
    expect(refused({ "--upstream-ca-file": key })).toContain(`${key} holds no PEM certificate`);
    const broken = join(dir, "broken.pem");
    writeFileSync(broken, "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n");
    expect(refused({ "--upstream-ca-file": broken })).toContain("certificate 1 of 1 is not a valid X.509 certificate");
  });
});

describe("the upstream key", () => {
  const credentials = join(dir, "credentials");
  const keyFile = join(dir, "upstream.key");
  beforeAll(() => {
    mkdirSync(credentials);
    writeFileSync(join(credentials, UPSTREAM_KEY_CREDENTIAL), "from-credential\n");
    writeFileSync(keyFile, "from-file\n");
  });
  const secrets = (flags: Record<string, string>, env: Record<string, string>) => {
    const { upstreamApiKey, upstreamApiKeySource } = load(flags, env).secrets;
    return [upstreamApiKey, upstreamApiKeySource];
  };

  test("--upstream-api-key-file beats NOMPD_UPSTREAM_API_KEY, which beats the systemd credential", () => {
    const all = { CREDENTIALS_DIRECTORY: credentials, NOMPD_UPSTREAM_API_KEY: "from-env" };
    expect(secrets({ "--upstream-api-key-file": keyFile }, all)).toEqual(["from-file", `--upstream-api-key-file ${keyFile}`]);
    expect(secrets({}, all)).toEqual(["from-env", "NOMPD_UPSTREAM_API_KEY"]);
    expect(secrets({}, { CREDENTIALS_DIRECTORY: credentials })).toEqual(["from-credential", "the credential upstream-api-key"]);
    expect(secrets({}, {})).toEqual([null, null]);
  });

  test("a credentials directory without that credential gives no key; an empty one stops the program", () => {
    const other = join(dir, "other-credentials");
    mkdirSync(other);
    expect(secrets({}, { CREDENTIALS_DIRECTORY: other })).toEqual([null, null]);
    writeFileSync(join(other, UPSTREAM_KEY_CREDENTIAL), "\n");
    expect(refused({}, { CREDENTIALS_DIRECTORY: other })).toContain("Invalid credential upstream-api-key");
  });

  test("a key file that cannot be read or is empty, or a key with a line break, stops the program naming its source", () => {
    const missing = join(dir, "missing.key");
    expect(refused({ "--upstream-api-key-file": missing })).toBe(`Invalid setting --upstream-api-key-file: cannot read ${missing} (ENOENT).`);
    const empty = join(dir, "empty-upstream.key");
    writeFileSync(empty, " \n");
    expect(refused({ "--upstream-api-key-file": empty })).toBe(`Invalid setting --upstream-api-key-file: ${empty} is empty.`);
    expect(refused({}, { NOMPD_UPSTREAM_API_KEY: "a\nb" })).toBe(
      "Invalid upstream API key (NOMPD_UPSTREAM_API_KEY): it holds characters an HTTP header cannot carry, such as a line break inside it.",
    );
  });
});

describe("--history-keep-versions", () => {
  test("takes a number of versions or all; anything else is refused saying what is expected", () => {
    expect(load({ "--history-keep-versions": "12" }).settings.historyKeepVersions).toBe(12);
    expect(load({}, { NOMPD_HISTORY_KEEP_VERSIONS: " ALL " }).settings.historyKeepVersions).toBeNull();
    for (const bad of ["none", "", "0", "1.5"]) {
      expect(refused({ "--history-keep-versions": bad })).toBe(`Invalid setting --history-keep-versions (flag --history-keep-versions): "${bad}": expected a number of versions (or all) from 1 to 1000000.`);
    }
  });
});
