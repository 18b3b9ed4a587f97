import { describe, expect, test } from "bun:test";
import pkg from "../package.json";
import { BUILD, buildLabels, versionLine } from "../src/build";

/** The build facts; test/e2e/cli.test.ts checks what the compiled binary says. */
describe("build facts", () => {
  test("run from source: the package's version, no commit, this Bun", () => {
    expect(BUILD).toEqual({ version: pkg.version, commit: null, bun: Bun.version });
    expect(versionLine()).toBe(`nompd ${pkg.version} (run from source, bun ${Bun.version})`);
    expect(buildLabels()).toEqual({ version: pkg.version, commit: "source" });
  });

  test("a build names its commit", () => {
    const built = { version: "1.2.3", commit: "9a8c437", bun: "1.4.5" };
    expect(versionLine(built)).toBe("nompd 1.2.3 (commit 9a8c437, bun 1.4.5)");
    expect(buildLabels(built)).toEqual({ version: "1.2.3", commit: "9a8c437" });
  });
});
