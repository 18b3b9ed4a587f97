import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { ConfigError } from "./errors";
import { foreignPath, modeBits, readersBesidesOwner } from "./platform";
import { DEFAULT_LEASE_MS } from "./store/syncLock";
import { checkCron, nextRun } from "./sync/cron";
import { chooseProxy, parseProxyUrl, type ProxyChoice, type ProxyEnvironment } from "./upstream/proxy";
import { certificatesIn, type ExtraCa } from "./upstream/transport";

/*
 * Settings: flag beats environment beats default. Nothing else in Nompd reads process.env.
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

/** A file path for this platform (see foreignPath). */
const filePath = z.string().min(1, "expected a file path").superRefine((v, ctx) => {
  const problem = foreignPath(v);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

/** A whole number from `min` to `max`, digits only. */
const wholeNumber = (what: string, min: number, max: number) => {
  const range = `${what} from ${min} to ${max}`;
  return z.preprocess(stringOf, digits(range).pipe(z.number().min(min, `expected ${range}`).max(max, `expected ${range}`)));
};

/** The same, or the word `none` (e.g. "all"), which reads as null. */
const wholeNumberOr = (none: string, what: string, min: number, max: number) =>
  z.preprocess(
    (v) => (typeof v === "string" && v.trim().toLowerCase() === none ? null : v),
    wholeNumber(what, min, max).nullable(),
  );

/**
 * A duration with its unit: seconds (s), minutes (m), hours (h) or days (d), e.g. 90s, 30m, 48h, 2d;
 * read as seconds, from 1 second to 365 days.
 */
const DURATION_UNITS = { s: 1, m: 60, h: 3600, d: 86400 } as const;
const duration = z.preprocess(
  stringOf,
  z
    .string()
    .trim()
    .toLowerCase()
    .regex(/^\d+[smhd]$/, "expected a number with a unit: s, m, h or d (e.g. 48h, 30m, 2d)")
    .transform((v) => Number(v.slice(0, -1)) * DURATION_UNITS[v.slice(-1) as keyof typeof DURATION_UNITS])
    .pipe(z.number().min(1, "expected at least 1s").max(365 * 86400, "expected at most 365d")),
);

export interface SettingDef<S extends z.ZodType = z.ZodType> {
  flag: string;
  env: string;
  /** A boolean flag takes no value; a `--no-x` form sets it false. */
  boolean?: boolean;
  negatedFlag?: string;
  default: unknown;
  schema: S;
  help: string;
  /** Shown in help instead of a value placeholder. */
  placeholder?: string;
  /** Left out of --help (settings for tests and special cases). */
  hidden?: boolean;
  /** The value as an error may echo it, when it can hold a password. */
  redact?: (raw: string) => string;
}

const setting = <S extends z.ZodType>(def: SettingDef<S>) => def;

/**
 * Every setting, once: its flag, its environment variable, its default, its check and its help line.
 * The Settings type is derived from this table.
 */
export const SETTINGS = {
  db: setting({ flag: "--db", env: "NOMPD_DB", default: "data/nompd.db", schema: filePath, help: "SQLite database file", placeholder: "FILE" }),
  host: setting({ flag: "--host", env: "NOMPD_HOST", default: "127.0.0.1", schema: z.string().min(1, "expected a host name or address"), help: "address to listen on (0.0.0.0 for all)", placeholder: "ADDR" }),
  port: setting({ flag: "--port", env: "NOMPD_PORT", default: 8080, schema: port, help: "port to listen on", placeholder: "N" }),
  sample: setting({ flag: "--sample", env: "NOMPD_SAMPLE", boolean: true, default: false, schema: bool, help: "serve: on an empty database, load the embedded sample dataset (invented data, marked as such)" }),
  upstreamUrl: setting({ flag: "--upstream-url", env: "NOMPD_UPSTREAM_URL", default: null, schema: httpUrl.nullable(), help: "base URL of the national FHIR APIs (without it: no network sync)", placeholder: "URL" }),
  upstreamApiKeyFile: setting({ flag: "--upstream-api-key-file", env: "NOMPD_UPSTREAM_API_KEY_FILE", default: null, schema: filePath.nullable(), help: "file holding the upstream API key; beats NOMPD_UPSTREAM_API_KEY, which beats the credential upstream-api-key", placeholder: "FILE" }),
  upstreamKeyHeader: setting({ flag: "--upstream-key-header", env: "NOMPD_UPSTREAM_KEY_HEADER", default: "X-API-KEY", schema: z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, "expected an HTTP header name"), help: "header that carries the upstream API key", placeholder: "NAME" }),
  upstreamTimeoutMs: setting({ flag: "--upstream-timeout-ms", env: "NOMPD_UPSTREAM_TIMEOUT_MS", default: 30000, schema: positiveMs, help: "timeout of one upstream request", placeholder: "MS" }),
  upstreamRetries: setting({ flag: "--upstream-retries", env: "NOMPD_UPSTREAM_RETRIES", default: 4, schema: retries, help: "retries of a failed upstream request (network error, 429, 5xx)", placeholder: "N" }),
  upstreamBackoffMs: setting({ flag: "--upstream-backoff-ms", env: "NOMPD_UPSTREAM_BACKOFF_MS", default: 1000, schema: positiveMs, help: "first retry delay; doubles on each retry (Retry-After wins)", placeholder: "MS" }),
  upstreamProxy: setting({ flag: "--upstream-proxy", env: "NOMPD_UPSTREAM_PROXY", default: null, schema: proxyUrl.nullable(), redact: withoutUserInfo, help: "proxy for upstream requests (http://host:port); beats HTTPS_PROXY/HTTP_PROXY; NO_PROXY still applies", placeholder: "URL" }),
  upstreamCaFile: setting({ flag: "--upstream-ca-file", env: "NOMPD_UPSTREAM_CA_FILE", default: null, schema: filePath.nullable(), help: "CA certificates (PEM) trusted for upstream TLS, on top of the system's", placeholder: "FILE" }),
  maxPageMib: setting({ flag: "--max-page-mib", env: "NOMPD_MAX_PAGE_MIB", default: 64, schema: wholeNumber("MiB", 1, 4096), help: "largest upstream page or import file read, in MiB", placeholder: "MIB" }),
  syncCron: setting({ flag: "--sync-cron", env: "NOMPD_SYNC_CRON", default: "0 2 * * *", schema: z.string().superRefine(cronProblem), help: "schedule of the automatic sync (cron, 5 or 6 fields)", placeholder: "CRON" }),
  syncTz: setting({ flag: "--sync-tz", env: "NOMPD_SYNC_TZ", default: "Europe/Oslo", schema: z.string().refine(validTimeZone, "expected an IANA time zone such as Europe/Oslo"), help: "time zone of the schedule", placeholder: "TZ" }),
  syncSchedule: setting({ flag: "--sync-schedule", negatedFlag: "--no-sync-schedule", env: "NOMPD_SYNC_SCHEDULE", boolean: true, default: true, schema: bool, help: "run the scheduled sync (--no-sync-schedule turns it off)" }),
  maxDeleteShare: setting({ flag: "--max-delete-share", env: "NOMPD_MAX_DELETE_SHARE", default: 0.5, schema: share, help: "largest share of a collection one sync may delete without --force", placeholder: "0..1" }),
  historyKeepVersions: setting({ flag: "--history-keep-versions", env: "NOMPD_HISTORY_KEEP_VERSIONS", default: "all", schema: wholeNumberOr("all", "a number of versions (or all)", 1, 1_000_000), help: "keep history and run records of only the newest N dataset versions", placeholder: "N|all" }),
  syncLockLeaseMs: setting({ flag: "--sync-lock-lease-ms", env: "NOMPD_SYNC_LOCK_LEASE_MS", default: DEFAULT_LEASE_MS, schema: wholeNumber("milliseconds", 100, 86_400_000), help: "a sync lock not renewed for this long may be taken over", placeholder: "MS", hidden: true }),
  cacheMib: setting({ flag: "--cache-mib", env: "NOMPD_CACHE_MIB", default: 64, schema: wholeNumber("MiB", 1, 65536), help: "memory for prepared answers (all together), in MiB", placeholder: "MIB" }),
  follow: setting({ flag: "--follow", env: "NOMPD_FOLLOW_URL", default: null, schema: httpUrl.nullable(), help: "serve: be a read-only replica of the Nompd at this URL (the primary), version for version", placeholder: "URL" }),
  followApiKeyFile: setting({ flag: "--follow-api-key-file", env: "NOMPD_FOLLOW_API_KEY_FILE", default: null, schema: filePath.nullable(), help: "file holding the key for the primary (or set NOMPD_FOLLOW_API_KEY)", placeholder: "FILE" }),
  followMaxLag: setting({ flag: "--follow-max-lag", env: "NOMPD_FOLLOW_MAX_LAG", default: "48h", schema: duration, help: "a replica is ready (/health/ready 200) while its data is at most this old (s, m, h or d)", placeholder: "DURATION" }),
  tlsCert: setting({ flag: "--tls-cert", env: "NOMPD_TLS_CERT", default: null, schema: filePath.nullable(), help: "TLS certificate (PEM) to serve HTTPS; needs --tls-key", placeholder: "FILE" }),
  tlsKey: setting({ flag: "--tls-key", env: "NOMPD_TLS_KEY", default: null, schema: filePath.nullable(), help: "TLS private key (PEM); needs --tls-cert", placeholder: "FILE" }),
  tlsMinVersion: setting({ flag: "--tls-min-version", env: "NOMPD_TLS_MIN_VERSION", default: "1.2", schema: z.enum(["1.2", "1.3"], { error: "expected 1.2 or 1.3" }), help: "oldest TLS version served", placeholder: "1.2|1.3" }),
  logFormat: setting({ flag: "--log-format", env: "NOMPD_LOG_FORMAT", default: "pretty", schema: z.enum(["json", "pretty"], { error: "expected json or pretty" }), help: "log lines as JSON or as text", placeholder: "json|pretty" }),
  corsOrigins: setting({ flag: "--cors-origins", env: "NOMPD_CORS_ORIGINS", default: null, schema: corsOrigins, help: "browser origins allowed to call the API (comma-separated, or *); off by default", placeholder: "ORIGINS" }),
  metrics: setting({ flag: "--metrics", negatedFlag: "--no-metrics", env: "NOMPD_METRICS", boolean: true, default: true, schema: bool, help: "serve GET /metrics (--no-metrics turns it off)" }),
  accessLog: setting({ flag: "--access-log", env: "NOMPD_ACCESS_LOG", boolean: true, default: false, schema: bool, help: "write one JSON line per request on stdout: time, method, path, status, bytes, ms, the key's name (never the key)" }),
  shutdownTimeoutMs: setting({ flag: "--shutdown-timeout-ms", env: "NOMPD_SHUTDOWN_TIMEOUT_MS", default: 10000, schema: positiveMs, help: "on SIGTERM/SIGINT, how long requests in flight may take to finish", placeholder: "MS" }),
};

export type SettingKey = keyof typeof SETTINGS;
export type Settings = { [K in SettingKey]: z.output<(typeof SETTINGS)[K]["schema"]> };

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
  /** From NOMPD_FOLLOW_API_KEY or the file named by --follow-api-key-file: the key this replica shows its primary. */
  followApiKey: string | null;
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
  /** Things that are allowed but unwise (a key file others can read, a key sent in clear): logged at start. */
  warnings: string[];
  network: Network;
}

/** Keys shorter than this are too easy to guess to guard health data. */
export const MIN_API_KEY_LENGTH = 32;

/**
 * The keys read from the environment (or a file that a setting names), never from a flag: a flag shows
 * in 'ps'. `refusedFlag` is the flag someone may try: it is refused, naming the way out.
 */
export const SECRETS = {
  upstreamApiKey: { env: "NOMPD_UPSTREAM_API_KEY", refusedFlag: "--upstream-api-key", file: SETTINGS.upstreamApiKeyFile.flag, help: "upstream API key (never a flag: it would show in 'ps')" },
  followApiKey: { env: "NOMPD_FOLLOW_API_KEY", refusedFlag: "--follow-api-key", file: SETTINGS.followApiKeyFile.flag, help: "a replica's key for its primary (never a flag: it would show in 'ps')" },
  apiKeys: { env: "NOMPD_API_KEYS", refusedFlag: null, file: null, help: `extra read-scope API keys, comma-separated, each at least ${MIN_API_KEY_LENGTH} characters` },
} as const;

function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\./.test(h);
}

/** A file that holds a secret, and who else may read it (POSIX modes; Windows has access lists instead). */
function exposure(path: string): string | null {
  try {
    const mode = modeBits(path);
    const readers = mode === null ? null : readersBesidesOwner(mode);
    if (mode === null || readers === null) return null;
    return `${path} can be read by ${readers} (mode ${mode.toString(8)}); make it readable by its owner only: chmod 600 ${path}`;
  } catch {
    return null;
  }
}

const byFlag = new Map<string, SettingDef>();
for (const def of Object.values(SETTINGS) as SettingDef[]) {
  byFlag.set(def.flag, def);
  if (def.negatedFlag) byFlag.set(def.negatedFlag, def);
}

/** Whether `flag` is a setting flag, and if so whether it takes the next argument as its value. */
export function settingFlag(flag: string): { takesValue: boolean } | null {
  const def = byFlag.get(flag);
  if (!def) return null;
  return { takesValue: !def.boolean };
}

/**
 * Settings from flags (already split into name → raw value) and the environment.
 * Throws ConfigError with one line naming the setting, its source and what is expected.
 */
export function loadConfig(flags: Map<string, string | true>, env: Record<string, string | undefined>): Config {
  const settings: Record<string, unknown> = {};
  for (const [key, def] of Object.entries(SETTINGS) as Array<[SettingKey, SettingDef]>) {
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
    settings[key] = parsed.data;
  }
  const s = settings as unknown as Settings;
  if ((s.tlsCert === null) !== (s.tlsKey === null)) {
    throw new ConfigError("Invalid setting --tls-cert/--tls-key: give both the certificate and the key, or neither.");
  }

  if (s.follow !== null && s.upstreamUrl !== null) {
    throw new ConfigError("Invalid settings --follow and --upstream-url: a replica takes its data from its primary only. Give one of them (unset NOMPD_UPSTREAM_URL on a replica).");
  }
  if (s.follow !== null && s.sample) {
    throw new ConfigError("Invalid settings --follow and --sample: a replica serves its primary's data, never the sample. Drop --sample.");
  }
  const { upstreamApiKey, upstreamApiKeySource } = upstreamKey(s, env);
  // The file wins over the environment variable.
  const follow = SECRETS.followApiKey;
  const followApiKey = headerSafe(
    s.followApiKeyFile !== null ? keyFromFile(s.followApiKeyFile, follow.file) : env[follow.env]?.trim() || null,
    `follow API key (${follow.env} or ${follow.file})`,
  );
  const apiKeys = (env[SECRETS.apiKeys.env] ?? "")
    .split(",")
    .map((k) => k.trim())
    .filter((k) => k !== "");
  apiKeys.forEach((k, i) => {
    if (k.length < MIN_API_KEY_LENGTH) {
      throw new ConfigError(
        `Invalid ${SECRETS.apiKeys.env}: key ${i + 1} has ${k.length} characters, fewer than ${MIN_API_KEY_LENGTH}; a short key is easy to guess. Use 'nompd keys create NAME' or a long random value (e.g. openssl rand -base64 32).`,
      );
    }
  });
  // Bun prints every fetch's request headers, the upstream key among them, when this is set.
  if (env.BUN_CONFIG_VERBOSE_FETCH !== undefined && env.BUN_CONFIG_VERBOSE_FETCH !== "" && env.BUN_CONFIG_VERBOSE_FETCH !== "0" && env.BUN_CONFIG_VERBOSE_FETCH !== "false") {
    throw new ConfigError("BUN_CONFIG_VERBOSE_FETCH is set: it would print request headers, the upstream API key among them, to the log. Unset it to run nompd.");
  }
  const warnings: string[] = [];
  for (const file of [s.upstreamApiKeyFile, s.followApiKeyFile, s.tlsKey]) {
    const problem = file === null ? null : exposure(file);
    if (problem) warnings.push(`a secret is readable by others: ${problem}`);
  }
  const keysSent = [
    { key: upstreamApiKey, to: s.upstreamUrl, what: "upstream API key", fix: "an https:// --upstream-url" },
    { key: followApiKey, to: s.follow, what: "follow API key", fix: "an https:// --follow URL" },
  ];
  for (const { key, to, what, fix } of keysSent) {
    if (key === null || to === null) continue;
    const url = new URL(to);
    if (url.protocol === "http:" && !isLoopback(url.hostname)) warnings.push(`the ${what} is sent in clear over http:// to ${url.host}; anyone on the way can read it. Use ${fix}.`);
  }
  return { settings: s, secrets: { upstreamApiKey, upstreamApiKeySource, followApiKey, apiKeys }, network: network(s, flags, env), warnings };
}

const errno = (err: unknown) => (err as NodeJS.ErrnoException).code ?? (err as Error).message;

/** A key from the file a setting names, trimmed: a file that cannot be read, or holds nothing, is refused. */
function keyFromFile(file: string, flag: string): string {
  let key: string;
  try {
    key = readFileSync(file, "utf8").trim();
  } catch (err) {
    throw new ConfigError(`Invalid setting ${flag}: cannot read ${file} (${errno(err)}).`);
  }
  if (key === "") throw new ConfigError(`Invalid setting ${flag}: ${file} is empty.`);
  return key;
}

/** The key, refused when an HTTP header cannot carry it; `what` names the key and where it came from. */
function headerSafe(key: string | null, what: string): string | null {
  if (key !== null && !/^[\t\x20-\x7e\x80-\xff]+$/.test(key)) {
    throw new ConfigError(`Invalid ${what}: it holds characters an HTTP header cannot carry, such as a line break inside it.`);
  }
  return key;
}

/** The upstream key and where it came from: --upstream-api-key-file, else NOMPD_UPSTREAM_API_KEY, else the systemd credential. */
function upstreamKey(s: Settings, env: Record<string, string | undefined>): Pick<Secrets, "upstreamApiKey" | "upstreamApiKeySource"> {
  let key: string | null = null;
  let source: string | null = null;
  const { env: name, file } = SECRETS.upstreamApiKey;
  if (s.upstreamApiKeyFile !== null) {
    key = keyFromFile(s.upstreamApiKeyFile, file);
    source = `${file} ${s.upstreamApiKeyFile}`;
  } else if (env[name]?.trim()) {
    key = env[name].trim();
    source = name;
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
  return { upstreamApiKey: headerSafe(key, `upstream API key (${source})`), upstreamApiKeySource: source };
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
