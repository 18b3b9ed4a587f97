import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BACKGROUND_NICE, bootId, createPrivateFile, foreignPath, hasDriveLetter, pidNamespace, processAlive, processStart, readableByOthers, stopSignals, yieldCpuToOtherThreads } from "../src/platform";
import { startJobThread } from "../src/workers";
import { tempDir } from "./support/tmp";

/**
 * Both branches of src/platform.ts on this Linux machine; test/e2e/windows.test.ts runs the Windows
 * branch natively under Wine.
 */
const dir = tempDir("nompd-platform-");

/** A pid that ran and is gone: a child that has exited. */
async function deadPid(): Promise<number> {
  const child = Bun.spawn(["true"]);
  await child.exited;
  return child.pid;
}

describe("processes", () => {
  test("processAlive: this process and pid 1 run, an exited child does not", async () => {
    expect(processAlive(process.pid)).toBe(true);
    expect(processAlive(1)).toBe(true);
    expect(processAlive(await deadPid())).toBe(false);
  });

  test("processStart on Linux: boot id and start, stable for a process, another for another process, null when gone", async () => {
    expect(bootId("linux")).toMatch(/^[0-9a-f-]{36}$/);
    expect(bootId()).toBe(bootId("linux"));
    const own = processStart(process.pid, "linux");
    expect(own).toStartWith(`${bootId("linux")}/`);
    expect(processStart(process.pid, "linux")).toBe(own);
    const child = Bun.spawn(["sleep", "30"]);
    try {
      const other = processStart(child.pid, "linux");
      expect(other).toStartWith(`${bootId("linux")}/`);
      expect(other).not.toBe(own);
    } finally {
      child.kill();
      await child.exited;
    }
    expect(processStart(await deadPid(), "linux")).toBeNull();
  });

  test("processStart where the platform cannot tell: null (Windows' kernel32 is not here, macOS has no /proc)", () => {
    expect(processStart(process.pid, "win32")).toBeNull();
    expect(processStart(process.pid, "darwin")).toBeNull();
  });

  test("pidNamespace on Linux: this process's pid namespace; elsewhere null, as is bootId", () => {
    const ns = pidNamespace("linux");
    expect(ns).toMatch(/^pid:\[\d+\]$/);
    expect(ns).toBe(readlinkSync(`/proc/${process.pid}/ns/pid`));
    expect(pidNamespace()).toBe(ns);
    for (const platform of ["win32", "darwin"] as const) {
      expect(pidNamespace(platform)).toBeNull();
      expect(bootId(platform)).toBeNull();
    }
  });
});

describe("file modes", () => {
  test("createPrivateFile on POSIX: an empty file of mode 0600 whatever the umask; an existing file is left alone", () => {
    const fresh = join(dir, "fresh.db");
    const umask = process.umask(0o000);
    try {
      expect(createPrivateFile(fresh, "linux")).toBe(true);
    } finally {
      process.umask(umask);
    }
    expect(statSync(fresh).mode & 0o777).toBe(0o600);
    expect(readFileSync(fresh, "utf8")).toBe("");
    const old = join(dir, "old.db");
    writeFileSync(old, "kept");
    chmodSync(old, 0o644);
    expect(createPrivateFile(old, "linux")).toBe(false);
    expect([statSync(old).mode & 0o777, readFileSync(old, "utf8")]).toEqual([0o644, "kept"]);
  });

  test("createPrivateFile on Windows creates the file and leaves access to the folder's list", () => {
    const file = join(dir, "windows.db");
    expect(createPrivateFile(file, "win32")).toBe(true);
    expect(existsSync(file)).toBe(true);
  });

  test("readableByOthers: the group or others read bit on POSIX, null on Windows; a missing file throws", () => {
    const file = join(dir, "modes.txt");
    writeFileSync(file, "x");
    const cases: Array<[number, boolean]> = [
      [0o600, false],
      [0o400, false],
      [0o620, false],
      [0o602, false],
      [0o640, true],
      [0o604, true],
      [0o644, true],
    ];
    for (const [mode, readable] of cases) {
      chmodSync(file, mode);
      expect([mode.toString(8), readableByOthers(file, "linux")]).toEqual([mode.toString(8), readable]);
      expect(readableByOthers(file, "darwin")).toBe(readable);
      expect(readableByOthers(file, "win32")).toBeNull();
    }
    expect(() => readableByOthers(join(dir, "missing.txt"))).toThrow("ENOENT");
  });
});

describe("signals", () => {
  test("POSIX stops on SIGTERM and SIGINT; Windows, which has no SIGTERM, on Ctrl+C, Ctrl+Break and a closed console", () => {
    expect(stopSignals("linux").sort()).toEqual(["SIGINT", "SIGTERM"]);
    expect(stopSignals("darwin").sort()).toEqual(["SIGINT", "SIGTERM"]);
    expect(stopSignals("win32").sort()).toEqual(["SIGBREAK", "SIGHUP", "SIGINT"]);
    expect(stopSignals()).toEqual(stopSignals("linux"));
  });
});

describe("thread priorities", () => {
  /** The nice value of each of this process's threads, by thread id. */
  const niceByThread = () =>
    new Map(
      readdirSync("/proc/self/task").map((tid) => {
        const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
        // Fields after the command name: state is the 3rd field, nice the 19th.
        return [Number(tid), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16])] as const;
      }),
    );

  test.skipIf(process.platform !== "linux")("Linux: a job thread runs at a lower priority; the request thread keeps its own", async () => {
    const before = niceByThread();
    const notes: unknown[] = [];
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const thread = startJobThread<null, { note: string }, string>({
      url: new URL("./support/idleJob.ts", import.meta.url).href,
      what: "test",
      job: null,
      isNote: (m): m is { note: string } => typeof m === "object" && m !== null && "note" in m,
      onNote: (note) => {
        notes.push(note);
        started();
      },
    });
    await running;
    const during = niceByThread();
    await thread.stop(5000);
    expect(await thread.done).toBe("stopped");
    // The job thread (and any thread it started, which inherits its nice value) is lowered...
    const lowered = [...during].filter(([tid, nice]) => nice === BACKGROUND_NICE && !before.has(tid));
    expect(lowered.length).toBeGreaterThanOrEqual(1);
    // ...and every thread that was there before, the request thread first, keeps its own.
    for (const [tid, nice] of before) if (during.has(tid)) expect([tid, during.get(tid)]).toEqual([tid, nice]);
    expect(during.get(process.pid)).not.toBe(BACKGROUND_NICE);
  });

  test("macOS and Windows: nothing is changed (there it would be the whole process)", () => {
    expect(yieldCpuToOtherThreads("darwin")).toBe(false);
    expect(yieldCpuToOtherThreads("win32")).toBe(false);
  });
});

describe("paths", () => {
  test("hasDriveLetter tells a Windows path", () => {
    expect(["C:\\nompd.db", "z:/x", "C:nompd.db", "/C:/x", "nompd.db", "1:\\x"].map(hasDriveLetter)).toEqual([true, true, true, false, false, false]);
  });

  test("foreignPath: a drive-letter path is refused on POSIX (it would name a file in the current folder), any path is fine on Windows", () => {
    for (const path of ["C:\\ProgramData\\nompd\\nompd.db", "Z:/data/export"]) {
      expect(foreignPath(path, "linux")).toContain("a Windows path");
      expect(foreignPath(path, "darwin")).toContain("a Windows path");
      expect(foreignPath(path, "win32")).toBeNull();
    }
    for (const path of ["/var/lib/nompd/nompd.db", "data/nompd.db", "\\\\server\\share\\nompd.db"]) {
      expect(foreignPath(path, "linux")).toBeNull();
      expect(foreignPath(path, "win32")).toBeNull();
    }
  });
});
