import { describe, expect, test } from "bun:test";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../src/config";
import { Store } from "../../src/store/db";
import { cli } from "../support/cli";
import { tempDbPath, tempDir } from "../support/tmp";

/** The follow settings, and the commands on a database that follows another Nompd. */
const dir = tempDir("nompd-cli-follow-");
const KEY = "follow-key-0123456789abcdefghijklmnopq";
const config = (flags: Record<string, string | true> = {}, env: Record<string, string> = {}) => loadConfig(new Map(Object.entries(flags)), env);

describe("settings", () => {
  test("--follow-max-lag takes a number with a unit (default 48h), as seconds", () => {
    expect(config().settings.followMaxLag).toBe(172_800);
    expect(config({ "--follow-max-lag": "90s" }).settings.followMaxLag).toBe(90);
    expect(config({}, { NOMPD_FOLLOW_MAX_LAG: "30m" }).settings.followMaxLag).toBe(1800);
    expect(config({ "--follow-max-lag": "2D" }).settings.followMaxLag).toBe(172_800);
    for (const bad of ["48", "0s", "1.5h", "h", "-1h", "366d"]) {
      expect(() => config({ "--follow-max-lag": bad })).toThrow(/Invalid setting --follow-max-lag/);
    }
  });

  test("--follow takes an http(s) URL; not together with --upstream-url or --sample", () => {
    expect(config({ "--follow": "https://nompd.region.example/" }).settings.follow).toBe("https://nompd.region.example/");
    expect(() => config({ "--follow": "ftp://x" })).toThrow(/--follow/);
    expect(() => config({ "--follow": "http://a.example/", "--upstream-url": "http://b.example/" })).toThrow(/a replica takes its data from its primary only/);
    expect(() => config({ "--follow": "http://a.example/" }, { NOMPD_SAMPLE: "true" })).toThrow(/--follow and --sample/);
  });

  test("the key from NOMPD_FOLLOW_API_KEY or a file (which wins); an empty or unreadable file, or a line break, is refused", () => {
    expect(config({}, { NOMPD_FOLLOW_API_KEY: ` ${KEY} ` }).secrets.followApiKey).toBe(KEY);
    const file = join(dir, "follow.key");
    writeFileSync(file, `${KEY}-from-file\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    const fromFile = config({ "--follow-api-key-file": file, "--follow": "https://p.example/" }, { NOMPD_FOLLOW_API_KEY: KEY });
    expect(fromFile.secrets.followApiKey).toBe(`${KEY}-from-file`);
    expect(fromFile.warnings).toEqual([]);
    writeFileSync(join(dir, "empty.key"), "\n");
    expect(() => config({ "--follow-api-key-file": join(dir, "empty.key") })).toThrow(/empty/);
    expect(() => config({ "--follow-api-key-file": join(dir, "missing.key") })).toThrow(/cannot read/);
    expect(() => config({}, { NOMPD_FOLLOW_API_KEY: "a\nb" })).toThrow(/follow API key.*line break/);
    chmodSync(file, 0o644);
    expect(config({ "--follow-api-key-file": file }).warnings.join("\n")).toContain("chmod 600");
  });

  test("a key sent over http:// to another host is warned about (never shown); loopback and https are not", () => {
    const plain = config({ "--follow": "http://nompd.region.example/" }, { NOMPD_FOLLOW_API_KEY: KEY });
    expect(plain.warnings.join("\n")).toContain("the follow API key is sent in clear over http:// to nompd.region.example");
    expect(plain.warnings.join("\n")).not.toContain(KEY);
    expect(config({ "--follow": "http://127.0.0.1:8080/" }, { NOMPD_FOLLOW_API_KEY: KEY }).warnings).toEqual([]);
    expect(config({ "--follow": "https://nompd.region.example/" }, { NOMPD_FOLLOW_API_KEY: KEY }).warnings).toEqual([]);
  });

  test("there is no --follow-api-key flag: the way out is named; --help lists the follow settings", async () => {
    const r = await cli(["serve", "--follow-api-key", KEY]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("NOMPD_FOLLOW_API_KEY");
    const help = await cli(["--help"]);
    for (const word of ["--follow URL", "NOMPD_FOLLOW_URL", "--follow-api-key-file", "NOMPD_FOLLOW_API_KEY ", "--follow-max-lag"]) expect(help.stdout).toContain(word);
  });
});

describe("commands on a replica's database", () => {
  const replicaDb = tempDbPath(dir);
  const marked = Store.open(replicaDb);
  marked.replica.follow("http://primary.example/");
  marked.close();

  test("sync, import and their dry runs refuse, naming whom it follows", async () => {
    writeFileSync(join(dir, "bundle.json"), JSON.stringify({ resourceType: "Bundle", type: "collection", entry: [] }));
    for (const argv of [
      ["sync", "--db", replicaDb, "--upstream-url", "http://127.0.0.1:9/"],
      ["sync", "--db", replicaDb, "--upstream-url", "http://127.0.0.1:9/", "--dry-run"],
      ["import", "--db", replicaDb, join(dir, "bundle.json")],
      ["import", "--db", replicaDb, join(dir, "bundle.json"), "--dry-run"],
    ]) {
      const r = await cli(argv);
      expect({ argv, exitCode: r.exitCode }).toEqual({ argv, exitCode: 1 });
      expect(r.stderr).toContain("This database follows http://primary.example/: it is a read-only replica");
    }
  });

  test("serve without --follow refuses; status says whom it follows", async () => {
    const r = await cli(["serve", "--db", replicaDb, "--port", "0"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("is a replica of http://primary.example/. Start it with --follow");
    const status = await cli(["status", "--db", replicaDb, "--json"]);
    expect(JSON.parse(status.stdout)).toMatchObject({ follow: { primary: "http://primary.example/", primaryVersion: null, lagSeconds: null }, schedule: { enabled: false } });
  });

  test("serve --follow refuses a database with data of its own", async () => {
    const own = tempDbPath(dir);
    writeFileSync(join(dir, "one.json"), JSON.stringify({ resourceType: "Bundle", type: "collection", entry: [{ resource: { resourceType: "RegulatedAuthorization", identifier: [{ value: "ra-1" }] } }] }));
    expect((await cli(["import", "--db", own, join(dir, "one.json")])).exitCode).toBe(0);
    const r = await cli(["serve", "--db", own, "--port", "0", "--follow", "http://127.0.0.1:9/"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("holds data of its own (dataset version 1)");
  });
});
