import { describe, expect, test } from "bun:test";
import pkg from "../package.json";
import { BUILD, versionLine } from "../src/build";

/** The build facts; test/e2e/cli.test.ts checks what the compiled binary says. */
describe("build facts", () => {
  test("run from source: the package's version, no commit, this Bun", () => {
    expect(BUILD).toEqual({ version: pkg.version, commit: "source", bun: Bun.version });
    expect(versionLine()).toBe(`nompd ${pkg.version} (run from source, bun ${Bun.version})`);
  });

  test("a build names its commit", () => {
    expect(versionLine({ version: "1.2.3", commit: "9a8c437", bun: "1.4.5" })).toBe("nompd 1.2.3 (commit 9a8c437, bun 1.4.5)");
    expect(versionLine({ version: "1.2.3", commit: "9a8c437-dirty", bun: "1.4.5" })).toBe("nompd 1.2.3 (commit 9a8c437-dirty, bun 1.4.5)");
  });
});
