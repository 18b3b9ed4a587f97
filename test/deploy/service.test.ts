import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { UPSTREAM_KEY_CREDENTIAL } from "../../src/config";
import { BINARY, ROOT, cleanEnv, drain, ensureBinary, nompd } from "../support/binary";
import { ensurePackages } from "../support/debian";
import { startFakeUpstream, type FakeUpstream } from "../support/fakeUpstream";
import { smallDataset } from "../support/fhir";
import { issueCert, makeCa, type Ca } from "../support/pki";
import { NO_PROXY_VARIABLES } from "../support/proxy";
import { tempDir } from "../support/tmp";

/**
 * deploy/nompd.service, checked with systemd's own tools on a copy whose ExecStart is dist/nompd, and
 * the binary run the way the unit runs it. systemd is not the init system here, so the sandbox itself
 * cannot be started; what the binary does under it is traced with strace and held against the unit.
 */
ensurePackages(["systemd", "strace", "openssl"]);
const UNIT = join(ROOT, "deploy", "nompd.service");
const dir = tempDir("nompd-service-");
const KEY = "upstream-key-service-a41c";

/** The unit's settings, each key with its values in order (a key may repeat). */
function parseUnit(text: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    const eq = line.indexOf("=");
    const key = `${section}.${line.slice(0, eq)}`;
    settings.set(key, [...(settings.get(key) ?? []), line.slice(eq + 1)]);
  }
  return settings;
}

const text = readFileSync(UNIT, "utf8");
const unit = parseUnit(text);
const one = (key: string) => {
  const values = unit.get(key) ?? [];
  expect(values).toHaveLength(1);
  return values[0]!;
};
const execStart = one("Service.ExecStart").split(/\s+/);

/** The unit as installed, but with ExecStart pointing at the built binary. */
function unitCopy(): string {
  ensureBinary();
  expect(execStart[0]).toBe("/usr/local/bin/nompd");
  const copyDir = join(dir, "unit");
  mkdirSync(copyDir, { recursive: true });
  const copy = join(copyDir, "nompd.service");
  writeFileSync(copy, text.replace(/^ExecStart=\/usr\/local\/bin\/nompd /m, `ExecStart=${BINARY} `));
  return copy;
}

function analyze(args: string[]) {
  const r = Bun.spawnSync(["systemd-analyze", ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env, SYSTEMD_COLORS: "0", SYSTEMD_PAGER: "" } });
  return { exitCode: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

describe("deploy/nompd.service", () => {
  test("systemd-analyze verify passes, without a single warning", () => {
    const r = analyze(["verify", unitCopy()]);
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
  });

  test("systemd-analyze security --offline=true scores 2.0 or better", () => {
    const r = analyze(["security", "--offline=true", "--no-pager", unitCopy()]);
    expect(r.exitCode).toBe(0);
    const score = /Overall exposure level for nompd\.service: (\d+\.\d)/.exec(r.stdout);
    expect(score).not.toBeNull();
    expect(Number(score![1])).toBeLessThanOrEqual(2.0);
  });

  test("it starts after the network is up, restarts on failure but not after a bad setting (exit 2)", () => {
    expect(one("Unit.Wants")).toBe("network-online.target");
    expect(one("Unit.After")).toBe("network-online.target");
    expect(one("Service.Restart")).toBe("on-failure");
    expect(one("Service.RestartPreventExitStatus")).toBe("2");
    expect(execStart.slice(1)).toEqual(["serve", "--log-format", "json"]);
  });

  test("its own user, its database in its state directory, the key as the credential Nompd reads", () => {
    expect(one("Service.DynamicUser")).toBe("yes");
    const state = one("Service.StateDirectory");
    expect(unit.get("Service.Environment")).toContain(`NOMPD_DB=%S/${state}/nompd.db`);
    expect(one("Service.LoadCredential")).toBe(`${UPSTREAM_KEY_CREDENTIAL}:/etc/nompd/upstream-api-key`);
    expect(text).not.toContain("NOMPD_UPSTREAM_API_KEY=");
  });

  test("hardened, without what would break it: boot_id stays readable, JIT memory stays allowed", () => {
    expect(one("Service.ProtectSystem")).toBe("strict");
    expect(one("Service.NoNewPrivileges")).toBe("yes");
    expect(one("Service.UMask")).toBe("0077");
    expect(unit.get("Service.SystemCallFilter")?.length).toBeGreaterThan(0);
    expect(unit.has("Service.MemoryDenyWriteExecute")).toBe(false);
    expect(unit.get("Service.ProcSubset") ?? []).not.toContain("pid");
    expect(text).not.toMatch(/^(InaccessiblePaths|TemporaryFileSystem)=.*\/proc/m);
  });
});

describe("the binary as the unit runs it", () => {
  let ca: Ca;
  let upstream: FakeUpstream;
  beforeAll(() => {
    ensureBinary();
    ca = makeCa(dir, "Service Test CA");
    const cert = issueCert(dir, ca, "upstream", ["localhost", "127.0.0.1"]);
    // Relative next links: the trace below reaches it as localhost, and a link to 127.0.0.1 would be another server.
    upstream = startFakeUpstream({ data: smallDataset(3, 4), apiKey: KEY, pageSize: 2, nextLinks: "relative-query", tls: { cert: cert.cert, key: cert.key } });
  });
  afterAll(() => upstream?.stop());

  /** A credentials directory as systemd makes it: one read-only file per credential. */
  function credentials(name: string, key: string): string {
    const credDir = join(dir, name);
    mkdirSync(credDir);
    writeFileSync(join(credDir, UPSTREAM_KEY_CREDENTIAL), key + "\n", { mode: 0o400 });
    return credDir;
  }

  test("reads the upstream key from $CREDENTIALS_DIRECTORY, and the key arrives upstream", async () => {
    const before = upstream.requests.length;
    const env = { ...NO_PROXY_VARIABLES, CREDENTIALS_DIRECTORY: credentials("creds-sync", KEY), NOMPD_UPSTREAM_URL: upstream.url, NOMPD_UPSTREAM_CA_FILE: ca.certFile };
    const r = await nompd(["sync", "--json", "--db", join(dir, "creds.db")], env);
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout).status).toBe("succeeded");
    const seen = upstream.requests.slice(before);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((q) => q.headers["x-api-key"] === KEY && q.status === 200)).toBe(true);
    expect(r.stdout + r.stderr).not.toContain(KEY);

    // NOMPD_UPSTREAM_API_KEY beats the credential: a wrong one is refused, and named.
    const wrong = await nompd(["sync", "--db", join(dir, "creds.db")], { ...env, NOMPD_UPSTREAM_API_KEY: "not-the-key" });
    expect(wrong.exitCode).toBe(1);
    expect(wrong.stdout + wrong.stderr).toContain("HTTP 401, the upstream refused the API key. Check NOMPD_UPSTREAM_API_KEY");
  });

  test("under strace: every system call is one the unit's filter allows, every socket family too, and it writes only in its state directory", async () => {
    const stateRoot = join(dir, "var-lib");
    const state = join(stateRoot, one("Service.StateDirectory"));
    mkdirSync(state, { recursive: true, mode: 0o700 });
    const creds = credentials("creds-strace", KEY);
    const trace = join(dir, "nompd.trace");
    // As root, run it as an unprivileged user, as DynamicUser= does (SQLite, for one, acts differently for root).
    const asUser: string[] = [];
    if (process.getuid?.() === 0) {
      for (const p of [dir, stateRoot, state, creds, join(creds, UPSTREAM_KEY_CREDENTIAL)]) chownSync(p, 65534, 65534);
      chmodSync(dir, 0o755);
      asUser.push("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups");
    }
    const db = unit.get("Service.Environment")!.find((e) => e.startsWith("NOMPD_DB="))!.slice("NOMPD_DB=".length).replace("%S", stateRoot);
    const env = cleanEnv({
      ...NO_PROXY_VARIABLES,
      NOMPD_DB: db,
      CREDENTIALS_DIRECTORY: creds,
      // A host name, so that name resolution (and the sockets it opens) is part of the trace.
      NOMPD_UPSTREAM_URL: upstream.url.replace("127.0.0.1", "localhost"),
      NOMPD_UPSTREAM_CA_FILE: ca.certFile,
      NOMPD_API_KEYS: "reader-key-for-the-trace-0123456789abcdef",
    });
    const proc = Bun.spawn(["strace", "-f", "-qq", "-o", trace, ...asUser, BINARY, ...execStart.slice(1), "--port", "0"], { env, stdout: "pipe", stderr: "pipe" });
    let err = "";
    void drain(proc.stderr, (t) => (err += t));
    // The traced child of strace is nompd itself (setpriv execs it in place).
    let pid = 0;
    try {
      for (let i = 0; i < 600 && !/initial sync (finished|failed)/.test(err) && proc.exitCode === null; i++) await Bun.sleep(50);
      pid = Number(readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, "utf8").trim().split(/\s+/)[0]);
      expect(err).toContain("initial sync finished");
      const url = /"url":"([^"]+)"/.exec(err)![1];
      expect((await fetch(`${url}/health/ready`)).status).toBe(200);
      expect((await fetch(`${url}/api/v1/treatmentGroup`, { headers: { "X-API-KEY": "reader-key-for-the-trace-0123456789abcdef" } })).status).toBe(200);
      expect((await fetch(`${url}/metrics`)).status).toBe(200);
    } finally {
      if (pid > 0) process.kill(pid, "SIGTERM");
      else proc.kill("SIGKILL");
    }
    expect(await proc.exited).toBe(0);

    // From nompd's execve on: setpriv's own calls (setresuid and the like) are not the service's.
    const lines = readFileSync(trace, "utf8").split("\n");
    const start = lines.findIndex((l) => l.includes(`execve("${BINARY}"`));
    expect(start).toBeGreaterThanOrEqual(0);
    const calls = lines.slice(start).map((l) => /^\d+ +([a-z0-9_]+)\((.*)$/.exec(l)).filter((m): m is RegExpExecArray => m !== null);
    const used = new Set(calls.map((m) => m[1]!));
    expect(used.has("clone3") || used.has("clone")).toBe(true); // the sync's worker thread was traced too

    const allowed = syscallFilter(unit.get("Service.SystemCallFilter")!);
    expect([...used].filter((name) => !allowed.has(name))).toEqual([]);

    const families = new Set(calls.filter((m) => m[1] === "socket").map((m) => /^(AF_[A-Z0-9]+)/.exec(m[2]!)![1]!));
    expect(families.has("AF_INET")).toBe(true);
    const allowedFamilies = one("Service.RestrictAddressFamilies").split(/\s+/);
    expect([...families].filter((f) => !allowedFamilies.includes(f))).toEqual([]);

    // ProtectSystem=strict: the state directory is the one place it may write files of its own. SQLite's
    // temporary files (statement journals, a sync's staging past its cache) are files without a name
    // (O_TMPFILE) in /var/tmp or /tmp, which PrivateTmp=yes makes the service's own.
    expect(one("Service.PrivateTmp")).toBe("yes");
    const opened = calls.filter((m) => !/= -1 E/.test(m[2]!));
    const written = opened
      .filter((m) => (m[1] === "openat" && /O_(WRONLY|RDWR|CREAT)/.test(m[2]!) && !/O_TMPFILE/.test(m[2]!)) || ["mkdir", "mkdirat", "unlink", "unlinkat", "rename", "renameat2"].includes(m[1]!))
      .map((m) => /"([^"]*)"/.exec(m[2]!)?.[1] ?? "?");
    expect(written.length).toBeGreaterThan(0);
    expect(written.filter((path) => !path.startsWith(state + "/"))).toEqual([]);
    const temporary = opened.filter((m) => m[1] === "openat" && /O_TMPFILE/.test(m[2]!)).map((m) => /"([^"]*)"/.exec(m[2]!)?.[1] ?? "?");
    expect(temporary.filter((dir) => dir !== "/var/tmp" && dir !== "/tmp")).toEqual([]);
    // The sync lock's boot id was read, not refused.
    expect(calls.some((m) => m[1] === "openat" && m[2]!.includes('"/proc/sys/kernel/random/boot_id"') && !/= -1 E/.test(m[2]!))).toBe(true);
  }, 60_000);
});

/** The system calls a unit's SystemCallFilter= lines allow, with systemd's own expansion of the @groups. */
function syscallFilter(lines: string[]): Set<string> {
  const expand = (names: string[], into: Set<string>) => {
    for (const name of names) {
      if (!name.startsWith("@")) {
        into.add(name);
        continue;
      }
      const r = analyze(["syscall-filter", "--no-pager", name]);
      expect(r.exitCode).toBe(0);
      const members = r.stdout
        .split("\n")
        .slice(1)
        .map((l) => l.trim())
        .filter((l) => l !== "" && !l.startsWith("#"));
      expand(members, into);
    }
  };
  // As systemd merges them (the first line an allow list): in order, a "~" line takes its calls out of
  // what is allowed, any other line adds its calls to it.
  const allowed = new Set<string>();
  for (const line of lines) {
    const names = new Set<string>();
    expand((line.startsWith("~") ? line.slice(1) : line).trim().split(/\s+/), names);
    for (const name of names) {
      if (line.startsWith("~")) allowed.delete(name);
      else allowed.add(name);
    }
  }
  expect(allowed.size).toBeGreaterThan(100);
  return allowed;
}
