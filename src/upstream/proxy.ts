import { BlockList, isIP } from "node:net";

/** A proxy for upstream requests, and the setting or variable that named it (for messages). */
export interface ProxyChoice {
  url: string;
  from: string;
}

/** The proxy variables of the environment, as config.ts read them: each the first non-empty of its names. */
export interface ProxyEnvironment {
  https: ProxyChoice | null;
  http: ProxyChoice | null;
  all: ProxyChoice | null;
  /** NO_PROXY (or no_proxy): hosts reached directly. */
  noProxy: string | null;
}

/**
 * A proxy URL as Bun's fetch takes it, or the reason it is none. "proxy.example.no:3128" without a
 * scheme means http://, as curl reads it. User info (user:password@) is kept: the proxy may need it.
 */
export function parseProxyUrl(raw: string): { url: string } | { problem: string } {
  const value = raw.trim();
  const problem = "expected an http:// or https:// proxy URL such as http://proxy.example.no:3128";
  let u: URL;
  try {
    u = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`);
  } catch {
    return { problem };
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return { problem: `${problem} (${u.protocol.slice(0, -1)} proxies are not supported)` };
  if (u.hostname === "" || (u.pathname !== "/" && u.pathname !== "") || u.search !== "" || u.hash !== "") return { problem };
  return { url: `${u.protocol}//${u.username ? `${u.username}${u.password ? `:${u.password}` : ""}@` : ""}${u.host}` };
}

const defaultPort = (u: URL) => Number(u.port || (u.protocol === "https:" ? 443 : 80));
const bare = (host: string) => host.replace(/^\[|\]$/g, "").toLowerCase();

/** One NO_PROXY entry against the target: `*`, a domain and its subdomains, an IP address, a CIDR block, any of them with `:port`. */
function entryMatches(entry: string, host: string, port: number): boolean {
  if (entry === "*") return true;
  let name = entry;
  const withPort = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(entry);
  if (withPort) {
    if (Number(withPort[2]) !== port) return false;
    name = withPort[1]!;
  }
  name = bare(name);
  const cidr = /^(.+)\/(\d{1,3})$/.exec(name);
  if (cidr) {
    const family = isIP(cidr[1]!);
    if (family === 0 || isIP(host) !== family) return false;
    const block = new BlockList();
    try {
      block.addSubnet(cidr[1]!, Number(cidr[2]), family === 4 ? "ipv4" : "ipv6");
    } catch {
      return false;
    }
    return block.check(host, family === 4 ? "ipv4" : "ipv6");
  }
  if (isIP(name) !== 0) return name === host;
  const domain = name.replace(/^\*?\./, "");
  return domain !== "" && (host === domain || host.endsWith(`.${domain}`));
}

/** Whether NO_PROXY sends requests to `target` directly. Entries are separated by commas or white space. */
export function bypassesProxy(target: string, noProxy: string | null): boolean {
  if (!noProxy) return false;
  const u = new URL(target);
  const host = bare(u.hostname);
  const port = defaultPort(u);
  return noProxy
    .split(/[\s,]+/)
    .map((e) => e.trim().toLowerCase())
    .some((e) => e !== "" && entryMatches(e, host, port));
}

/**
 * The proxy for requests to `target`, or null for a direct connection: `explicit` (--upstream-proxy)
 * beats the environment; there an https:// target takes HTTPS_PROXY, an http:// one HTTP_PROXY, either
 * ALL_PROXY when its own is unset. NO_PROXY applies to every one of them, as in Bun's own fetch.
 */
export function chooseProxy(target: string, explicit: ProxyChoice | null, env: ProxyEnvironment): ProxyChoice | null {
  const chosen = explicit ?? (new URL(target).protocol === "https:" ? env.https : env.http) ?? env.all;
  if (chosen === null || bypassesProxy(target, env.noProxy)) return null;
  return chosen;
}
