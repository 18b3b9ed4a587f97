import { describe, expect, test } from "bun:test";
import { bypassesProxy, chooseProxy, parseProxyUrl, type ProxyEnvironment } from "../../src/upstream/proxy";

const NONE: ProxyEnvironment = { https: null, http: null, all: null, noProxy: null };
const at = (url: string, from: string) => ({ url, from });

describe("NO_PROXY", () => {
  const cases: [string, string, boolean][] = [
    ["https://fhir.example.no/api", "*", true],
    ["https://fhir.example.no/api", "example.no", true],
    ["https://fhir.example.no/api", ".example.no", true],
    ["https://fhir.example.no/api", "*.example.no", true],
    ["https://example.no/api", ".example.no", true],
    ["https://fhir.example.no/api", "ample.no", false],
    ["https://fhir.example.no/api", "other.no, localhost", false],
    ["https://fhir.example.no/api", "localhost fhir.example.no", true],
    ["https://FHIR.Example.NO/api", "fhir.example.no", true],
    ["https://fhir.example.no/api", "fhir.example.no:443", true],
    ["https://fhir.example.no:8443/api", "fhir.example.no:443", false],
    ["http://fhir.example.no/api", "fhir.example.no:80", true],
    ["https://127.0.0.1:9443/", "127.0.0.1", true],
    ["https://127.0.0.1:9443/", "127.0.0.1:9443", true],
    ["https://127.0.0.1:9443/", "127.0.0.1:9444", false],
    ["https://127.0.0.1:9443/", "127.0.0.0/8", true],
    ["https://10.1.2.3/", "10.0.0.0/16", false],
    ["https://[::1]:9443/", "::1", true],
    ["https://[::1]:9443/", "[::1]:9443", true],
    ["https://[fd00::5]/", "fd00::/8", true],
    ["https://127.0.0.1/", "", false],
    ["https://127.0.0.1/", " , ", false],
  ];
  for (const [target, noProxy, expected] of cases) {
    test(`${target} with NO_PROXY="${noProxy}": ${expected ? "direct" : "proxied"}`, () => {
      expect(bypassesProxy(target, noProxy)).toBe(expected);
    });
  }
});

describe("which proxy", () => {
  const env: ProxyEnvironment = { https: at("http://s:1", "HTTPS_PROXY"), http: at("http://h:1", "http_proxy"), all: at("http://a:1", "ALL_PROXY"), noProxy: null };

  test("an https upstream takes HTTPS_PROXY, an http one HTTP_PROXY; ALL_PROXY when its own is unset", () => {
    expect(chooseProxy("https://fhir.example.no/", null, env)).toEqual(at("http://s:1", "HTTPS_PROXY"));
    expect(chooseProxy("http://fhir.example.no/", null, env)).toEqual(at("http://h:1", "http_proxy"));
    expect(chooseProxy("https://fhir.example.no/", null, { ...env, https: null })).toEqual(at("http://a:1", "ALL_PROXY"));
    expect(chooseProxy("https://fhir.example.no/", null, NONE)).toBeNull();
  });

  test("--upstream-proxy beats the environment; NO_PROXY applies to it too", () => {
    const explicit = at("http://mine:3128", "--upstream-proxy");
    expect(chooseProxy("https://fhir.example.no/", explicit, env)).toBe(explicit);
    expect(chooseProxy("https://fhir.example.no/", explicit, NONE)).toBe(explicit);
    expect(chooseProxy("https://fhir.example.no/", explicit, { ...env, noProxy: "example.no" })).toBeNull();
    expect(chooseProxy("https://fhir.example.no/", null, { ...env, noProxy: "fhir.example.no" })).toBeNull();
  });
});

describe("proxy URLs", () => {
  test("http and https proxies, with or without a scheme and credentials", () => {
    expect(parseProxyUrl("http://proxy.example.no:3128")).toEqual({ url: "http://proxy.example.no:3128" });
    expect(parseProxyUrl("http://proxy.example.no:3128/")).toEqual({ url: "http://proxy.example.no:3128" });
    expect(parseProxyUrl("proxy.example.no:3128")).toEqual({ url: "http://proxy.example.no:3128" });
    expect(parseProxyUrl(" https://user:p%40ss@proxy:8443 ")).toEqual({ url: "https://user:p%40ss@proxy:8443" });
  });

  test("anything else is refused with the form expected", () => {
    for (const bad of ["socks5://proxy:1080", "http://", "http://proxy:3128/path", "http://proxy:3128?x=1", "http://pro xy:3128", ":3128"]) {
      const r = parseProxyUrl(bad);
      expect("problem" in r ? r.problem : bad).toContain("expected an http:// or https:// proxy URL");
    }
    expect(parseProxyUrl("socks5://proxy:1080")).toEqual({ problem: expect.stringContaining("socks5 proxies are not supported") });
  });
});
