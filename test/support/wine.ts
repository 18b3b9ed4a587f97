import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { Launcher } from "./binary";
import { ensurePackages } from "./debian";

/**
 * A Windows executable run for real under Wine, in a Wine prefix of its own. Wine 8 lacks
 * bcryptprimitives.dll, whose ProcessPrng the Bun runtime needs: the stand-in in wine/ is compiled with
 * mingw-w64 and put beside a copy of the executable (never beside the release itself).
 */
export interface Wine {
  /** Runs the copied executable: `wine …\nompd.exe ARGS`. */
  launcher: Launcher;
  /** The prefix's C: drive as a POSIX folder. */
  driveC: string;
  /** The environment every wine command of this prefix needs. */
  env: Record<string, string>;
  /** Ends every process of the prefix (wineserver -k) and removes it. */
  stop(): void;
}

/** `Z:` is Wine's drive for the POSIX root: `/tmp/x/y` is `Z:\tmp\x\y` to a Windows program. */
export function winePath(posixPath: string): string {
  return `Z:${posixPath.replaceAll("/", "\\")}`;
}

/**
 * Runs a command to its end with its output in `log`: not through pipes, which the daemons that Wine
 * starts (the wineserver, Wine's services) inherit and would hold open long after the command ends.
 */
function run(command: string[], env: Record<string, string>, log: string, what: string): void {
  const out = Bun.file(log);
  const r = Bun.spawnSync(command, { env: { ...process.env, ...env }, stdin: "ignore", stdout: out, stderr: out });
  if (r.exitCode !== 0) throw new Error(`${what} failed (exit ${r.exitCode}): ${command.join(" ")}\n${readFileSync(log, "utf8")}`);
}

/**
 * Makes a prefix in a temp folder (the first boot of a prefix takes a while) and copies `exe` with the
 * DLL stand-in into its C:\nompd. Call stop() when done (in afterAll).
 */
export function startWine(exe: string): Wine {
  ensurePackages(["wine", "wine64", "gcc-mingw-w64-x86-64"]);
  const prefix = mkdtempSync(join(tmpdir(), "nompd-wine-"));
  // No Mono or Gecko (nothing here uses .NET or HTML), no debug chatter on stderr.
  const env = { WINEPREFIX: prefix, WINEDEBUG: "-all", WINEDLLOVERRIDES: "mscoree=;mshtml=" };
  // A wineserver that outlives each command (by up to 10 minutes, should stop() never come), so that
  // commands start in well under a second rather than each starting Wine's own services again, and so
  // that no command's pipes are held by services it started.
  run(["wineserver", "--persistent=600"], env, join(prefix, "wineserver.log"), "Starting the wineserver");
  run(["wineboot", "--init"], env, join(prefix, "wineboot.log"), "Making a Wine prefix");
  
  const driveC = join(prefix, "drive_c");
  const folder = join(driveC, "nompd");
  mkdirSync(folder, { recursive: true });
  const copy = join(folder, basename(exe));
  copyFileSync(exe, copy);
  const source = join(import.meta.dir, "wine", "bcryptprimitives.c");
  run(["x86_64-w64-mingw32-gcc", "-shared", "-O2", "-o", join(folder, "bcryptprimitives.dll"), source, "-ladvapi32"], {}, join(prefix, "mingw.log"), "Compiling the bcryptprimitives.dll stand-in");
  return {
    launcher: { command: ["wine", copy], env, startMs: 60_000 },
    driveC,
    env,
    stop() {
      // The server is found through the prefix: end it (and wait for it) before removing the prefix.
      Bun.spawnSync(["wineserver", "--kill"], { env: { ...process.env, ...env } });
      Bun.spawnSync(["wineserver", "--wait"], { env: { ...process.env, ...env } });
      rmSync(prefix, { recursive: true, force: true });
    },
  };
}
