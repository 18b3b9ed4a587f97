import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { ConfigError } from "./errors";
import { checkCron, nextRun } from "./sync/cron";
import { chooseProxy, parseProxyUrl, type ProxyChoice, type ProxyEnvironment } from "./upstream/proxy";
import { certificatesIn, type ExtraCa } from "./upstream/transport";

/**
 * Every setting, once: its flag, its environment variable, its default, its check and its help line.
 * Flag beats environment beats default. Nothing else in Nompd reads process.env.
 */


const bool = z.preprocess((v) => {
  if (typeof v === "boolean") return v;
  const s = String(v).trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(s)) return true;
  if (["0", "false", "no", "off"].includes(s)) return false;
  return v;
}, z.boolean({ error: "expected true or false" }));

/** A whole number written in digits only: "" or " " or "0x50" is refused, never read as 0 or 80. */
const digits = (what: string) => z.string().trim().regex(/^\d+$/, `expected ${what}`).transform(Number);
const stringOf = (v: unknown) => (typeof v === "number" ? String(v) : v);

const port = z.preprocess(stringOf, digits("a port number").pipe(z.number().max(65535, "expected a port from 0 to 65535")));

const share = z.preprocess(
  stringOf,
  z
    .string()
    .trim()
    .regex(/^(\d+(\.\d*)?|\.\d+)$/, "expected a number from 0 to 1 (e.g. 0.5 for 50%)")
    .transform(Number)
    .pipe(z.number().max(1, "expected a number from 0 to 1 (e.g. 0.5 for 50%)")),
);

const httpUrl = z
  .string()
  .url("expected an http(s) URL such as https://fhir.example.no/api/")
  .refine((u) => /^https?:\/\//i.test(u), "expected an http(s) URL such as https://fhir.example.no/api/");

const proxyUrl = z.string().transform((v, ctx) => {
  const parsed = parseProxyUrl(v);
  if ("problem" in parsed) {
    ctx.addIssue({ code: "custom", message: parsed.problem });
    return z.NEVER;
  }
  return parsed.url;
});

/** A URL as safe to echo in an error: a password in it (a proxy's, say) is left out. */
const withoutUserInfo = (raw: string) => raw.replace(/^((?:[a-z][a-z0-9+.-]*:)?\/\/)?[^/@\s]*@/i, "$1…@");

/** "*" or comma-separated origins such as http://localhost:3000 (scheme, host, optional port; no path). */
const corsOrigins = z
  .string()
  .trim()
  .transform((v, ctx) => {
    if (v === "*") return "*" as const;
    // Browsers send origins in lower case.
    const list = v.split(",").map((o) => o.trim().toLowerCase()).filter((o) => o !== "");
    for (const o of list) {
      if (!/^https?:\/\/[^/\s?#]+$/i.test(o)) ctx.addIssue({ code: "custom", message: `"${o}" is not an origin; expected e.g. http://localhost:3000 (no path), comma-separated, or *` });
    }
    return list;
  })
  .nullable();

const positiveMs = z.preprocess(
  stringOf,
  digits("milliseconds (a whole number)").pipe(z.number().min(1, "expected at least 1 ms").max(86_400_000, "expected at most 86400000 ms (one day)")),
);
const retries = z.preprocess(stringOf, digits("a whole number").pipe(z.number().max(20, "expected at most 20")));

/** Adds croner's reason when the pattern is not a valid 5- or 6-field cron expression. */
function cronProblem(pattern: string, ctx: z.RefinementCtx): void {
  try {
    checkCron(pattern, "UTC");
  } catch (err) {
    ctx.addIssue({ code: "custom", message: `${(err as Error).message}; use 5 fields (minute hour day month weekday) or 6 with seconds first, e.g. "0 2 * * *"` });
    return;
  }
  if (nextRun(pattern, "UTC") === null) ctx.addIssue({ code: "custom", message: "the schedule never fires (no such date); check the day and month fields" });
}

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export interface SettingDef {
  key: keyof Settings;
  flag: string;
  env: string;
  /** A boolean flag takes no value; `--no-x` forms set it false. */
  boolean?: boolean;
  negatedFlag?: string;
  default: unknown;
  schema: z.ZodType;
  help: string;
  /** Shown in help instead of a value placeholder. */
  placeholder?: string;
  /** The value as an error may echo it, when it can hold a password. */
  redact?: (raw: string) => string;
}

export interface Settings {
  db: string;
  host: string;
  port: number;
  upstreamUrl: string | null;
  upstreamApiKeyFile: string | null;
  upstreamKeyHeader: string;
  upstreamTimeoutMs: number;
  upstreamRetries: number;
  upstreamBackoffMs: number;
  upstreamProxy: string | null;
  upstreamCaFile: string | null;
  syncCron: string;
  syncTz: string;
  syncSchedule: boolean;
  maxDeleteShare: number;
  tlsCert: string | null;
  tlsKey: string | null;
  logFormat: "json" | "pretty";
  metrics: boolean;
  corsOrigins: "*" | string[] | null;
}

export const SETTINGS: SettingDef[] = [
  { key: "db", flag: "--db", env: "NOMPD_DB", default: "data/nompd.db", schema: z.string().min(1, "expected a file path"), help: "SQLite database file", placeholder: "FILE" },
  { key: "host", flag: "--host", env: "NOMPD_HOST", default: "127.0.0.1", schema: z.string().min(1, "expected a host name or address"), help: "address to listen on (0.0.0.0 for all)", placeholder: "ADDR" },
  { key: "port", flag: "--port", env: "NOMPD_PORT", default: 8080, schema: port, help: "port to listen on", placeholder: "N" },
  { key: "upstreamUrl", flag: "--upstream-url", env: "NOMPD_UPSTREAM_URL", default: null, schema: httpUrl.nullable(), help: "base URL of the national FHIR APIs (without it: no network sync)", placeholder: "URL" },
  { key: "upstreamApiKeyFile", flag: "--upstream-api-key-file", env: "NOMPD_UPSTREAM_API_KEY_FILE", default: null, schema: z.string().min(1).nullable(), help: "file holding the upstream API key; beats NOMPD_UPSTREAM_API_KEY, which beats the credential upstream-api-key", placeholder: "FILE" },
  { key: "upstreamKeyHeader", flag: "--upstream-key-header", env: "NOMPD_UPSTREAM_KEY_HEADER", default: "X-API-KEY", schema: z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, "expected an HTTP header name"), help: "header that carries the upstream API key", placeholder: "NAME" },
  { key: "upstreamTimeoutMs", flag: "--upstream-timeout-ms", env: "NOMPD_UPSTREAM_TIMEOUT_MS", default: 30000, schema: positiveMs, help: "timeout of one upstream request", placeholder: "MS" },
  { key: "upstreamRetries", flag: "--upstream-retries", env: "NOMPD_UPSTREAM_RETRIES", default: 4, schema: retries, help: "retries of a failed upstream request (network error, 429, 5xx)", placeholder: "N" },
  { key: "upstreamBackoffMs", flag: "--upstream-backoff-ms", env: "NOMPD_UPSTREAM_BACKOFF_MS", default: 1000, schema: positiveMs, help: "first retry delay; doubles on each retry (Retry-After wins)", placeholder: "MS" },
  { key: "upstreamProxy", flag: "--upstream-proxy", env: "NOMPD_UPSTREAM_PROXY", default: null, schema: proxyUrl.nullable(), redact: withoutUserInfo, help: "proxy for upstream requests (http://host:port); beats HTTPS_PROXY/HTTP_PROXY; NO_PROXY still applies", placeholder: "URL" },
  { key: "upstreamCaFile", flag: "--upstream-ca-file", env: "NOMPD_UPSTREAM_CA_FILE", default: null, schema: z.string().min(1).nullable(), help: "CA certificates (PEM) trusted for upstream TLS, on top of the system's", placeholder: "FILE" },
  { key: "syncCron", flag: "--sync-cron", env: "NOMPD_SYNC_CRON", default: "0 2 * * *", schema: z.string().superRefine(cronProblem), help: "schedule of the automatic sync (cron, 5 or 6 fields)", placeholder: "CRON" },
  { key: "syncTz", flag: "--sync-tz", env: "NOMPD_SYNC_TZ", default: "Europe/Oslo", schema: z.string().refine(validTimeZone, "expected an IANA time zone such as Europe/Oslo"), help: "time zone of the schedule", placeholder: "TZ" },
  { key: "syncSchedule", flag: "--sync-schedule", negatedFlag: "--no-sync-schedule", env: "NOMPD_SYNC_SCHEDULE", boolean: true, default: true, schema: bool, help: "run the scheduled sync (--no-sync-schedule turns it off)" },
  { key: "maxDeleteShare", flag: "--max-delete-share", env: "NOMPD_MAX_DELETE_SHARE", default: 0.5, schema: share, help: "largest share of a collection one sync may delete without --force", placeholder: "0..1" },
  { key: "tlsCert", flag: "--tls-cert", env: "NOMPD_TLS_CERT", default: null, schema: z.string().min(1).nullable(), help: "TLS certificate (PEM) to serve HTTPS; needs --tls-key", placeholder: "FILE" },
  { key: "tlsKey", flag: "--tls-key", env: "NOMPD_TLS_KEY", default: null, schema: z.string().min(1).nullable(), help: "TLS private key (PEM); needs --tls-cert", placeholder: "FILE" },
  { key: "logFormat", flag: "--log-format", env: "NOMPD_LOG_FORMAT", default: "pretty", schema: z.enum(["json", "pretty"], { error: "expected json or pretty" }), help: "log lines as JSON or as text", placeholder: "json|pretty" },
  { key: "corsOrigins", flag: "--cors-origins", env: "NOMPD_CORS_ORIGINS", default: null, schema: corsOrigins, help: "browser origins allowed to call the API (comma-separated, or *); off by default", placeholder: "ORIGINS" },
  { key: "metrics", flag: "--metrics", negatedFlag: "--no-metrics", env: "NOMPD_METRICS", boolean: true, default: true, schema: bool, help: "serve GET /metrics (--no-metrics turns it off)" },
];

/** The systemd credential (LoadCredential=) that holds the upstream key: deploy/nompd.service names it. */
export const UPSTREAM_KEY_CREDENTIAL = "upstream-api-key";

export interface Secrets {
  /**
   * From the file named by --upstream-api-key-file, else NOMPD_UPSTREAM_API_KEY, else the credential
   * upstream-api-key in $CREDENTIALS_DIRECTORY; never a plain flag.
   */
  upstreamApiKey: string | null;
  /** Which of those it came from, for messages (never the key itself). */
  upstreamApiKeySource: string | null;
  /** Read-scope keys from NOMPD_API_KEYS (comma-separated). */
  apiKeys: string[];
}

/** How upstream requests leave this machine, decided at start from the settings and the proxy environment. */
export interface Network {
  /** The proxy for --upstream-url, or null to connect directly. */
  proxy: ProxyChoice | null;
  /** The certificates of --upstream-ca-file, trusted on top of the system's. */
  ca: ExtraCa | null;
}

export interface Config {
  settings: Settings;
  secrets: Secrets;
  network: Network;
}

const byFlag = new Map<string, { def: SettingDef; value?: boolean }>();
for (const def of SETTINGS) {
  byFlag.set(def.flag, { def });
  if (def.negatedFlag) byFlag.set(def.negatedFlag, { def, value: false });
}

/** Whether `flag` is a setting flag, and if so whether it takes the next argument as its value. */
export function settingFlag(flag: string): { takesValue: boolean } | null {
  const hit = byFlag.get(flag);
  if (!hit) return null;
  return { takesValue: !hit.def.boolean };
}

/**
 * Settings from flags (already split into name → raw value) and the environment.
 * Throws ConfigError with one line naming the setting, its source and what is expected.
 */
export function loadConfig(flags: Map<string, string | true>, env: Record<string, string | undefined>): Config {
  const settings: Record<string, unknown> = {};
  for (const def of SETTINGS) {
    let raw: unknown = def.default;
    let source = "default";
    const envValue = env[def.env];
    if (envValue !== undefined && envValue !== "") {
      raw = envValue;
      source = `environment variable ${def.env}`;
    }
    for (const flag of [def.flag, def.negatedFlag]) {
      if (flag && flags.has(flag)) {
        const v = flags.get(flag)!;
        raw = flag === def.negatedFlag ? false : v === true ? true : v;
        source = `flag ${flag}`;
      }
    }
    const parsed = def.schema.safeParse(raw);
    if (!parsed.success) {
      const why = parsed.error.issues[0]?.message ?? "invalid value";
      const shownRaw = def.redact && typeof raw === "string" ? def.redact(raw) : String(raw);
      throw new ConfigError(`Invalid setting ${def.flag} (${source}): "${shownRaw}": ${why}.`);
    }
    settings[def.key] = parsed.data;
  }
  const s = settings as unknown as Settings;
  if ((s.tlsCert === null) !== (s.tlsKey === null)) {
    throw new ConfigError("Invalid setting --tls-cert/--tls-key: give both the certificate and the key, or neither.");
  }

  const { upstreamApiKey, upstreamApiKeySource } = upstreamKey(s, env);
  const apiKeys = (env.NOMPD_API_KEYS ?? "")
    .split(",")
    .map((k) => k.trim())
    .filter((k) => k !== "");
  return { settings: s, secrets: { upstreamApiKey, upstreamApiKeySource, apiKeys }, network: network(s, flags, env) };
}

const errno = (err: unknown) => (err as NodeJS.ErrnoException).code ?? (err as Error).message;

/** The upstream key and where it came from: --upstream-api-key-file, else NOMPD_UPSTREAM_API_KEY, else the systemd credential. */
function upstreamKey(s: Settings, env: Record<string, string | undefined>): Pick<Secrets, "upstreamApiKey" | "upstreamApiKeySource"> {
  let key: string | null = null;
  let source: string | null = null;
  if (s.upstreamApiKeyFile !== null) {
    try {
      key = readFileSync(s.upstreamApiKeyFile, "utf8").trim() || null;
    } catch (err) {
      throw new ConfigError(`Invalid setting --upstream-api-key-file: cannot read ${s.upstreamApiKeyFile} (${errno(err)}).`);
    }
    if (key === null) throw new ConfigError(`Invalid setting --upstream-api-key-file: ${s.upstreamApiKeyFile} is empty.`);
    source = `--upstream-api-key-file ${s.upstreamApiKeyFile}`;
  } else if (env.NOMPD_UPSTREAM_API_KEY?.trim()) {
    key = env.NOMPD_UPSTREAM_API_KEY.trim();
    source = "NOMPD_UPSTREAM_API_KEY";
  } else if (env.CREDENTIALS_DIRECTORY) {
    // systemd's LoadCredential= puts the file there; a unit without that credential simply has none.
    const path = join(env.CREDENTIALS_DIRECTORY, UPSTREAM_KEY_CREDENTIAL);
    let text: string | null = null;
    try {
      text = readFileSync(path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw new ConfigError(`Invalid credential ${UPSTREAM_KEY_CREDENTIAL}: cannot read ${path} (${errno(err)}).`);
    }
    if (text !== null) {
      key = text.trim() || null;
      if (key === null) throw new ConfigError(`Invalid credential ${UPSTREAM_KEY_CREDENTIAL}: ${path} is empty; put the upstream API key in the file that LoadCredential= names.`);
      source = `the credential ${UPSTREAM_KEY_CREDENTIAL}`;
    }
  }
  if (key !== null && !/^[\t\x20-\x7e\x80-\xff]+$/.test(key)) {
    throw new ConfigError(`Invalid upstream API key (${source}): it holds characters an HTTP header cannot carry, such as a line break inside it.`);
  }
  return { upstreamApiKey: key, upstreamApiKeySource: source };
}

/** The first non-empty of `names` in the environment (curl's order: lower case first). */
function fromEnv(env: Record<string, string | undefined>, ...names: string[]): ProxyChoice | null {
  for (const name of names) {
    const value = env[name]?.trim();
    if (value) return { url: value, from: name };
  }
  return null;
}

function network(s: Settings, flags: Map<string, string | true>, env: Record<string, string | undefined>): Network {
  let proxy: ProxyChoice | null = null;
  if (s.upstreamUrl !== null) {
    const explicit = s.upstreamProxy === null ? null : { url: s.upstreamProxy, from: flags.has("--upstream-proxy") ? "--upstream-proxy" : "NOMPD_UPSTREAM_PROXY" };
    const proxyEnv: ProxyEnvironment = {
      https: fromEnv(env, "https_proxy", "HTTPS_PROXY"),
      http: fromEnv(env, "http_proxy", "HTTP_PROXY"),
      all: fromEnv(env, "all_proxy", "ALL_PROXY"),
      noProxy: fromEnv(env, "no_proxy", "NO_PROXY")?.url ?? null,
    };
    proxy = chooseProxy(s.upstreamUrl, explicit, proxyEnv);
    if (proxy !== null && proxy !== explicit) {
      const parsed = parseProxyUrl(proxy.url);
      if ("problem" in parsed) {
        throw new ConfigError(`Invalid environment variable ${proxy.from}: "${withoutUserInfo(proxy.url)}": ${parsed.problem}. Correct it, or give --upstream-proxy, or list the upstream's host in NO_PROXY.`);
      }
      proxy = { url: parsed.url, from: proxy.from };
    }
  }

  let ca: Network["ca"] = null;
  if (s.upstreamCaFile !== null) {
    const file = s.upstreamCaFile;
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw new ConfigError(`Invalid setting --upstream-ca-file: cannot read ${file} (${errno(err)}).`);
    }
    let certificates: string[];
    try {
      certificates = certificatesIn(text);
    } catch (err) {
      throw new ConfigError(`Invalid setting --upstream-ca-file: in ${file}, ${(err as Error).message}.`);
    }
    if (certificates.length === 0) {
      throw new ConfigError(
        `Invalid setting --upstream-ca-file: ${file} holds no PEM certificate (a block that starts with -----BEGIN CERTIFICATE-----); a DER file converts with: openssl x509 -inform der -in FILE -out FILE.pem.`,
      );
    }
    ca = { file, certificates };
  }
  return { proxy, ca };
}
