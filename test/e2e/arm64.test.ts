import { beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { createKey, ensureRelease, expectedVersionLine, nompd, ROOT, serve, stopServersAfterAll, type Launcher } from "../support/binary";
import { ensurePackages } from "../support/debian";
import { tempDir } from "../support/tmp";

/** The linux-arm64 release, run for real under qemu's user-mode emulation with Debian's arm64 C library. */
ensurePackages(["qemu-user-static", "libc6-arm64-cross"]);
const dir = tempDir("nompd-arm64-");
stopServersAfterAll();
let arm64: Launcher;

beforeAll(() => {
  // Emulated, the start takes a few times longer than natively.
  arm64 = { command: ["qemu-aarch64-static", "-L", "/usr/aarch64-linux-gnu", ensureRelease("linux-arm64")], startMs: 120_000 };
}, 300_000);

describe("the linux-arm64 build under qemu", () => {
  test("is an arm64 executable, and --version names the version, the commit and the Bun version", async () => {
    const exe = arm64.command.at(-1)!;
    // ELF header: class 64-bit at byte 4, machine at bytes 18-19 (183: AArch64).
    const header = new Uint8Array(await Bun.file(exe).slice(0, 20).arrayBuffer());
    expect([...header.slice(0, 4)]).toEqual([0x7f, 0x45, 0x4c, 0x46]);
    expect(header[4]).toBe(2);
    expect(header[18]! | (header[19]! << 8)).toBe(183);
    const r = await nompd(["--version"], {}, arm64);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim()).toBe(expectedVersionLine());
  }, 60_000);

  test("serves the embedded sample on an empty database: /health and a list with its key", async () => {
    const db = join(dir, "arm64.db");
    const key = await createKey(db, "reader", { launcher: arm64 });
    const server = await serve(["--db", db, "--sample"], {}, arm64);
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as any).currentVersion).toBe(1);
    const list = await fetch(`${server.url}/api/v1/reimbursementGroup`, { headers: { "X-API-KEY": key } });
    expect(list.status).toBe(200);
    const sampleAuthorizations = (await Bun.file(join(ROOT, "data", "sample", "RegulatedAuthorization.json")).json()).entry.length;
    expect(((await list.json()) as any).items.length).toBe(sampleAuthorizations);
    expect((await fetch(`${server.url}/api/v1/reimbursementGroup`)).status).toBe(401);
    await server.stop();
  }, 180_000);
});
