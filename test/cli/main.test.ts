/**
 * The command line, run in-process through main(argv, env, io): the same code paths as the binary. The
 * few things only a real process shows (signals, a terminal, the compiled assets) are in test/e2e.
 */
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SETTINGS } from "../../src/config";
import { MIGRATIONS, SCHEMA_VERSION } from "../../src/store/migrations";
import { cli } from "../support/cli";
import { deepResource, smallDataset } from "../support/fhir";
import { ROOT } from "../support/binary";
import { writeDataset } from "../support/source";
import { tempDir } from "../support/tmp";

const dir = tempDir("nompd-main-");
const SAMPLE = join(ROOT, "data", "sample");
const db = (name: string) => join(dir, `${name}.db`);

describe("keys", () => {
  test("create, list, revoke; errors name the way out", async () => {
    const file = db("keys");
    const made = await cli(["keys", "create", "pharmacy", "--scope", "admin", "--db", file]);
    expect(made.exitCode).toBe(0);
    expect(made.stdout).toMatch(/nompd_[A-Za-z0-9_-]{43}/);
    expect(made.stdout).toContain("curl -H");
    const dup = await cli(["keys", "create", "pharmacy", "--db", file]);
    expect(dup.exitCode).toBe(1);
    expect(dup.stderr).toContain("keys revoke pharmacy");
    const list = JSON.parse((await cli(["keys", "list", "--json", "--db", file])).stdout);
    expect(list).toEqual([expect.objectContaining({ name: "pharmacy", scope: "admin", revokedAt: null, lastUsedAt: null })]);
    expect(JSON.stringify(list)).not.toContain("nompd_");
    expect((await cli(["keys", "revoke", "pharmacy", "--db", file])).exitCode).toBe(0);
    const missing = await cli(["keys", "revoke", "pharmacy", "--db", file]);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain("keys list");
    const badScope = await cli(["keys", "create", "x", "--scope", "write", "--db", file]);
    expect(badScope.exitCode).toBe(2);
    expect(badScope.stderr).toContain("read or admin");
    const misplaced = await cli(["keys", "list", "--force", "--db", file]);
    expect(misplaced.exitCode).toBe(2);
    expect(misplaced.stderr).toContain("--force is not an option of 'nompd keys'");
  });

  test("a new key under a revoked name keeps the revocation on record", async () => {
    const file = db("revoked-name");
    expect((await cli(["keys", "create", "lab", "--db", file])).exitCode).toBe(0);
    expect((await cli(["keys", "revoke", "lab", "--db", file])).exitCode).toBe(0);
    expect((await cli(["keys", "create", "lab", "--scope", "admin", "--db", file])).exitCode).toBe(0);
    const list = JSON.parse((await cli(["keys", "list", "--json", "--db", file])).stdout) as Array<{ name: string; scope: string; revokedAt: string | null }>;
    expect(list.map((k) => [k.name, k.scope, k.revokedAt !== null])).toEqual([
      ["lab", "read", true],
      ["lab", "admin", false],
    ]);
  });
});

describe("settings and usage", () => {
  test("a wrong setting stops the program with one line naming it; flag beats environment", async () => {
    const file = db("settings");
    expect((await cli(["keys", "create", "a", "--db", file])).exitCode).toBe(0);
    const bad = await cli(["status", "--db", file], { NOMPD_MAX_DELETE_SHARE: "2" });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    expect(bad.stderr).toContain("--max-delete-share (environment variable NOMPD_MAX_DELETE_SHARE)");
    expect((await cli(["status", "--db", file, "--max-delete-share", "0.3"], { NOMPD_MAX_DELETE_SHARE: "2" })).exitCode).toBe(0);
    const envDb = db("from-env");
    expect((await cli(["keys", "create", "b"], { NOMPD_DB: envDb })).exitCode).toBe(0);
    expect(existsSync(envDb)).toBe(true);
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
      [["--history-keep-versions", "0"], "--history-keep-versions"],
      [["--cache-mib", "lots"], "--cache-mib"],
      [["--tls-min-version", "1.1"], "--tls-min-version"],
      [["--db", "C:\\ProgramData\\nompd\\nompd.db"], "a Windows path (drive letter) on this system"],
    ] as const) {
      const r = await cli(["status", "--db", file, ...args]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain(fragment);
    }
  });

  test("--help documents every command and every setting that is not hidden; --version names version, commit and Bun", async () => {
    const help = await cli(["--help"]);
    expect(help.exitCode).toBe(0);
    for (const word of ["serve", "sync", "import", "keys create", "keys list", "keys revoke", "status", "backup", "NOMPD_UPSTREAM_API_KEY", "NOMPD_API_KEYS", "--force", "--json", "--scope"]) {
      expect(help.stdout).toContain(word);
    }
    for (const s of Object.values(SETTINGS) as Array<{ flag: string; env: string; hidden?: boolean }>) {
      if (s.hidden) expect(help.stdout).not.toContain(s.flag);
      else {
        expect(help.stdout).toContain(s.flag);
        expect(help.stdout).toContain(s.env);
      }
    }
    const pkg = await Bun.file(join(ROOT, "package.json")).json();
    expect((await cli(["--version"])).stdout.trim()).toBe(`nompd ${pkg.version} (run from source, bun ${Bun.version})`);
  });

  test("the README's settings table names every setting the program has, and only those", async () => {
    const readme = await Bun.file(join(ROOT, "README.md")).text();
    const table = readme.slice(readme.indexOf("| flag | environment | default | meaning |"), readme.indexOf("Exit codes:"));
    for (const s of Object.values(SETTINGS) as Array<{ flag: string; env: string; hidden?: boolean; negatedFlag?: string }>) {
      if (s.hidden) continue;
      expect([s.flag, table.includes(s.negatedFlag ?? s.flag) && table.includes(s.env)]).toEqual([s.flag, true]);
    }
    const firstCells = table.split("\n").map((line) => line.split("|")[1] ?? "");
    const documented = firstCells.flatMap((cell) => [...cell.matchAll(/`(--[a-z-]+)/g)].map((m) => m[1]!));
    const known = new Set((Object.values(SETTINGS) as Array<{ flag: string; negatedFlag?: string }>).flatMap((s) => [s.flag, s.negatedFlag]));
    for (const flag of documented) expect([flag, known.has(flag)]).toEqual([flag, true]);
  });

  test("NOMPD_API_KEYS with a short key stops the program; BUN_CONFIG_VERBOSE_FETCH is refused", async () => {
    const short = await cli(["status", "--db", db("settings")], { NOMPD_API_KEYS: `${"k".repeat(40)},short-key` });
    expect(short.exitCode).toBe(2);
    expect(short.stderr).toContain("NOMPD_API_KEYS: key 2 has 9 characters, fewer than 32");
    expect(short.stderr).not.toContain("short-key");
    const verbose = await cli(["status", "--db", db("settings")], { BUN_CONFIG_VERBOSE_FETCH: "curl" });
    expect(verbose.exitCode).toBe(2);
    expect(verbose.stderr).toContain("BUN_CONFIG_VERBOSE_FETCH");
  });

  test("a key file others can read, and a key sent in clear to another host, are warned about", async () => {
    const keyFile = join(dir, "upstream.key");
    writeFileSync(keyFile, "upstream-secret\n");
    chmodSync(keyFile, 0o644);
    const args = ["status", "--db", db("settings"), "--upstream-api-key-file", keyFile];
    const open = await cli([...args, "--upstream-url", "http://fhir.example.no/api/"]);
    expect(open.exitCode).toBe(0);
    expect(open.stderr).toContain(`${keyFile} can be read by every user`);
    expect(open.stderr).toContain("sent in clear over http:// to fhir.example.no");
    expect(open.stderr + open.stdout).not.toContain("upstream-secret");
    chmodSync(keyFile, 0o600);
    const quiet = await cli([...args, "--upstream-url", "http://127.0.0.1:9/api/"]);
    expect(quiet.stderr).not.toContain("WARN");
  });
});

describe("status and backup only read", () => {
  test("status never prints credentials of the upstream URL; on the sample its first line says so", async () => {
    const file = db("status");
    expect((await cli(["import", SAMPLE, "--db", file])).exitCode).toBe(0);
    const r = await cli(["status", "--json", "--db", file, "--upstream-url", "http://user:secretpw@127.0.0.1:1/fhir"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).not.toContain("secretpw");
    const status = JSON.parse(r.stdout);
    expect(status.schedule.upstreamUrl).toBe("http://127.0.0.1:1/fhir");
    expect(status.sample).toBe(false);
    expect((await cli(["status", "--db", file])).stdout.split("\n")[0]).toStartWith("Database");
  });

  test("status and backup never make a database: a wrong --db is an error, not a new empty file", async () => {
    const missing = db("missing");
    for (const args of [["status"], ["backup", join(dir, "copy-of-missing.db")], ["keys", "list"]]) {
      const r = await cli([...args, "--db", missing]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain(`There is no database at ${missing}`);
    }
    expect(existsSync(missing)).toBe(false);
  });

  test("backup makes a consistent copy, readable by its owner only, that becomes a new dataset id once restored; it never overwrites", async () => {
    const file = db("backup-src");
    expect((await cli(["import", SAMPLE, "--db", file])).exitCode).toBe(0);
    const copy = join(dir, "copy.db");
    const made = await cli(["backup", copy, "--db", file]);
    expect(made.exitCode).toBe(0);
    expect(made.stdout).toContain("gets another when first opened to be written");
    expect(statSync(copy).mode & 0o777).toBe(0o600);
    const a = JSON.parse((await cli(["status", "--json", "--db", file])).stdout);
    const b = JSON.parse((await cli(["status", "--json", "--db", copy])).stdout);
    // An id of its own at once (a nompd that does not know the backup's mark keeps that one)...
    expect(b.datasetId).toMatch(/^[0-9a-f-]{36}$/);
    expect(b.datasetId).not.toBe(a.datasetId);
    expect(b.currentVersion).toBe(1);
    expect(b.collections).toEqual(a.collections);
    // ...and another once restored: a sync or import into it (here of the same data, which makes no version).
    expect((await cli(["import", SAMPLE, "--db", copy])).exitCode).toBe(0);
    const restored = JSON.parse((await cli(["status", "--json", "--db", copy])).stdout);
    expect(restored.datasetId).toMatch(/^[0-9a-f-]{36}$/);
    expect([a.datasetId, b.datasetId]).not.toContain(restored.datasetId);
    expect(restored.currentVersion).toBe(1);
    expect(JSON.parse((await cli(["status", "--json", "--db", file])).stdout).datasetId).toBe(a.datasetId);
    const again = await cli(["backup", copy, "--db", file]);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toContain("never overwrites");
  });

  test("on an older schema, status and keys list say what to do and change nothing; backup copies it as it is", async () => {
    const file = db("old-schema");
    const old = new Database(file);
    old.exec("PRAGMA application_id = 1313819984");
    old.exec(MIGRATIONS[0] as string);
    old.exec("PRAGMA user_version = 1");
    old.exec("INSERT INTO meta (key, value) VALUES ('dataset_id', 'old'), ('version', '3')");
    old.close();
    const before = readFileSync(file);
    for (const args of [["status"], ["keys", "list"]]) {
      const r = await cli([...args, "--db", file]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain(`has schema version 1; this nompd reads version ${SCHEMA_VERSION}`);
      expect(r.stderr).toContain("nompd backup");
    }
    const copy = join(dir, "old-copy.db");
    const backup = await cli(["backup", copy, "--db", file]);
    expect(backup.exitCode).toBe(0);
    expect(backup.stdout).toContain("dataset version 3");
    expect(readFileSync(file).equals(before)).toBe(true);
    const schemaOf = (path: string) => {
      const d = new Database(path, { readonly: true });
      const v = (d.query("PRAGMA user_version").get() as { user_version: number }).user_version;
      d.close();
      return v;
    };
    expect(schemaOf(file)).toBe(1);
    expect(schemaOf(copy)).toBe(1);
    const idOf = (path: string) => {
      const d = new Database(path, { readonly: true });
      const id = (d.query("SELECT value FROM meta WHERE key = 'dataset_id'").get() as { value: string }).value;
      d.close();
      return id;
    };
    expect(idOf(file)).toBe("old");
    expect(idOf(copy)).not.toBe("old");
  });

  test("a database file of a newer nompd is refused with a clear message", async () => {
    const file = db("newer");
    expect((await cli(["keys", "create", "a", "--db", file])).exitCode).toBe(0);
    const raw = new Database(file);
    raw.exec("PRAGMA user_version = 999");
    raw.close();
    for (const args of [["status"], ["sync"], ["import", SAMPLE]]) {
      const r = await cli([...args, "--db", file, "--upstream-url", "http://127.0.0.1:9/"]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain("newer nompd");
    }
  });

  test("the database and its WAL and shared-memory files are readable by their owner only", async () => {
    const file = db("modes");
    expect((await cli(["import", SAMPLE, "--db", file])).exitCode).toBe(0);
    const held = new Database(file); // keeps the WAL files in place while they are looked at
    held.query("SELECT count(*) FROM document").get();
    for (const f of [file, `${file}-wal`, `${file}-shm`]) expect([f, statSync(f).mode & 0o777]).toEqual([f, 0o600]);
    held.close();
  });
});

describe("import refuses what it cannot read, naming the file and writing nothing", () => {
  test("bad JSON, a missing file, no PATH", async () => {
    const file = db("bad-import");
    const bad = join(dir, "bad.json");
    writeFileSync(bad, "{ not json");
    const r = await cli(["import", bad, "--db", file]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout + r.stderr).toContain("bad.json line 1 is not valid JSON");
    const none = await cli(["import", join(dir, "does-not-exist.json"), "--db", file]);
    expect(none.exitCode).toBe(1);
    expect(none.stdout + none.stderr).toContain("no such file");
    expect((await cli(["import", "--db", file])).exitCode).toBe(2);
  });

  test("invalid UTF-8 is an error naming the file and the offset, never replaced by U+FFFD", async () => {
    const file = db("utf8");
    const folder = writeDataset(dir, smallDataset());
    const pd = join(folder, "PlanDefinition.json");
    const bytes = readFileSync(pd);
    const at = bytes.indexOf(Buffer.from("Gruppe 1"));
    bytes[at] = 0xc3; // a lead byte followed by an ASCII letter: not UTF-8
    writeFileSync(pd, bytes);
    const r = await cli(["import", folder, "--db", file]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain(`${pd} is not valid UTF-8 (first bad byte at offset ${at})`);
    expect(JSON.parse((await cli(["status", "--json", "--db", file])).stdout).currentVersion).toBe(0);
  });

  test("a file over --max-page-mib, and a FIFO, are refused at once", async () => {
    const file = db("caps");
    const big = join(dir, "big.json");
    writeFileSync(big, JSON.stringify({ resourceType: "Bundle", entry: [{ resource: { resourceType: "Basic", text: "x".repeat(1_200_000) } }] }));
    const r = await cli(["import", big, "--db", file, "--max-page-mib", "1"]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain("more than the 1 MiB allowed for one file");
    const fifo = join(dir, "pipe.json");
    expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
    const started = Date.now();
    const p = await cli(["import", fifo, "--db", file]);
    expect(p.exitCode).toBe(1);
    expect(p.stdout).toContain("is not a regular file");
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  test("a resource nested deeper than any FHIR resource is skipped and counted; the rest is imported", async () => {
    const file = db("deep");
    const data = smallDataset();
    const folder = writeDataset(dir, { ...data, RegulatedAuthorization: [] });
    const ras = [...data.RegulatedAuthorization.map((r) => JSON.stringify(r)), deepResource("RegulatedAuthorization")];
    writeFileSync(join(folder, "RegulatedAuthorization.ndjson"), ras.join("\n"));
    const r = await cli(["import", folder, "--db", file, "--json"]);
    expect(r.exitCode).toBe(0);
    const run = JSON.parse(r.stdout);
    expect(run.counts.RegulatedAuthorization.skippedReasons).toEqual({ "nested deeper than 100 levels": 1 });
    expect(run.counts.reimbursementGroup.added).toBe(data.RegulatedAuthorization.length);
  });
});

describe("a busy or empty database", () => {
  test("commands open a database of the current schema without waiting for another process's write", async () => {
    const file = db("busy");
    expect((await cli(["import", SAMPLE, "--db", file])).exitCode).toBe(0);
    const other = new Database(file);
    other.exec("PRAGMA busy_timeout = 0");
    other.exec("BEGIN IMMEDIATE"); // another process in the middle of a write
    const started = Date.now();
    const r = await cli(["keys", "create", "during-a-write-is-queued", "--db", file]).catch((e) => e);
    const status = await cli(["status", "--json", "--db", file]);
    other.exec("ROLLBACK");
    other.close();
    expect(status.exitCode).toBe(0);
    expect(JSON.parse(status.stdout).currentVersion).toBe(1);
    // The key could not be written while the other write held the file: a clear error, no stack trace.
    expect(r.exitCode).toBe(1);
    expect(r.stderr).not.toContain("Unexpected error");
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 60_000);

  test("a first sync that finds the upstream empty leaves the server not ready: no data is no dataset", async () => {
    const file = db("empty-first");
    const folder = writeDataset(dir, { PlanDefinition: [], ActivityDefinition: [], RegulatedAuthorization: [] });
    expect((await cli(["import", folder, "--db", file])).exitCode).toBe(0);
    const { serveInProcess } = await import("../support/cli");
    const server = await serveInProcess(["--db", file]);
    const ready = await fetch(`${server.url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { reason: string }).reason).toContain("found the upstream empty");
    expect(await server.stop()).toBe(0);
  });
});
