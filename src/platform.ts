import { dlopen, FFIType, ptr } from "bun:ffi";
import { closeSync, openSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { setPriority } from "node:os";

/**
 * Everything that differs between Linux, macOS and Windows, in one place: which process a pid is,
 * file modes, the signals that ask for a graceful stop, thread priorities, and paths with drive letters. Functions whose
 * behaviour depends on the platform take it as their last parameter (default: this one), so that each
 * branch can be exercised on any machine.
 */
export type Platform = NodeJS.Platform;

// ---------------------------------------------------------------------------------------------------
// Processes

/** Whether a process with this pid exists (on this host). Signal 0 only checks; it sends nothing. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

let linuxBootId: string | null | undefined;

/** This boot's id on Linux (a new one after every reboot), read when first asked for; null elsewhere. */
export function bootId(platform: Platform = process.platform): string | null {
  if (platform !== "linux") return null;
  if (linuxBootId === undefined) linuxBootId = readOrNull("/proc/sys/kernel/random/boot_id")?.trim() ?? null;
  return linuxBootId;
}

/**
 * Which process a pid is, for good, so that a reused pid (also after a reboot) names another process:
 * - Linux: this boot's id and the process's start (field 22 of /proc/PID/stat);
 * - Windows: the process's creation time (kernel32 GetProcessTimes), which is absolute;
 * - elsewhere, or when the process cannot be asked: null.
 */
export function processStart(pid: number, platform: Platform = process.platform): string | null {
  if (platform === "linux") return linuxProcessStart(pid);
  if (platform === "win32") return windowsProcessStart(pid);
  return null;
}

function linuxProcessStart(pid: number): string | null {
  const stat = readOrNull(`/proc/${pid}/stat`);
  const boot = bootId("linux");
  if (stat === null || boot === null) return null;
  // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
  const start = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  return start ? `${boot}/${start}` : null;
}

/** The pid namespace (Linux): pids of two containers on one host are only comparable within one; null elsewhere. */
export function pidNamespace(platform: Platform = process.platform): string | null {
  if (platform !== "linux") return null;
  try {
    return readlinkSync("/proc/self/ns/pid");
  } catch {
    return null;
  }
}

interface Kernel32 {
  OpenProcess(access: number, inherit: boolean, pid: number): unknown;
  GetProcessTimes(handle: unknown, creation: unknown, exit: unknown, kernel: unknown, user: unknown): boolean;
  CloseHandle(handle: unknown): boolean;
}
/** Loaded on first use; null when it cannot be (not Windows). */
let kernel32: Kernel32 | null | undefined;

function loadKernel32(): Kernel32 | null {
  if (kernel32 !== undefined) return kernel32;
  try {
    const lib = dlopen("kernel32.dll", {
      OpenProcess: { args: [FFIType.u32, FFIType.bool, FFIType.u32], returns: FFIType.ptr },
      GetProcessTimes: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.ptr], returns: FFIType.bool },
      CloseHandle: { args: [FFIType.ptr], returns: FFIType.bool },
    });
    kernel32 = lib.symbols as unknown as Kernel32;
  } catch {
    kernel32 = null;
  }
  return kernel32;
}

/** PROCESS_QUERY_LIMITED_INFORMATION: enough for GetProcessTimes, also on another user's process. */
const QUERY_LIMITED = 0x1000;

function windowsProcessStart(pid: number): string | null {
  const k = loadKernel32();
  if (k === null) return null;
  try {
    const handle = k.OpenProcess(QUERY_LIMITED, false, pid);
    if (!handle) return null;
    try {
      // Four FILETIMEs: creation, exit, kernel and user time; 100 ns units since 1601.
      const times = new BigUint64Array(4);
      if (!k.GetProcessTimes(handle, ptr(times), ptr(times, 8), ptr(times, 16), ptr(times, 24))) return null;
      return times[0] ? `win/${times[0]}` : null;
    } finally {
      k.CloseHandle(handle);
    }
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------------
// File modes

/**
 * Creates an empty file only its owner can read or write, unless one exists already (then false). On
 * Windows the file gets its folder's access list.
 */
export function createPrivateFile(path: string, platform: Platform = process.platform): boolean {
  try {
    closeSync(openSync(path, "wx", platform === "win32" ? undefined : 0o600));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
}

/**
 * Whether users other than the owner may read an existing file (its group or others read bit), or
 * null where mode bits do not tell: on Windows access is decided by the file's access list. Throws
 * the file system's error when the file cannot be looked at.
 */
export function readableByOthers(path: string, platform: Platform = process.platform): boolean | null {
  const mode = modeBits(path, platform);
  return mode === null ? null : readersBesidesOwner(mode) !== null;
}

/** Who besides the owner permission bits let read: every user, the file's group, or nobody (null). */
export function readersBesidesOwner(mode: number): "every user" | "its group" | null {
  return mode & 0o004 ? "every user" : mode & 0o040 ? "its group" : null;
}

/** An existing file's permission bits (0o640, say), or null on Windows, where they do not decide access (see readableByOthers). */
export function modeBits(path: string, platform: Platform = process.platform): number | null {
  return platform === "win32" ? null : statSync(path).mode & 0o777;
}

// ---------------------------------------------------------------------------------------------------
// Signals

/**
 * The signals that ask the server to stop gracefully.
 * - POSIX: SIGTERM (systemd, docker, kill) and SIGINT (Ctrl+C).
 * - Windows has no SIGTERM. Bun turns Ctrl+C into SIGINT (also what service wrappers such as NSSM and
 *   WinSW send first to stop a console program), Ctrl+Break into SIGBREAK, and the closing of the
 *   console window into SIGHUP (Windows ends the process shortly after).
 */
export function stopSignals(platform: Platform = process.platform): NodeJS.Signals[] {
  return platform === "win32" ? ["SIGINT", "SIGBREAK", "SIGHUP"] : ["SIGTERM", "SIGINT"];
}

/** The nice value a background job thread (a sync or a replica's apply inside the server) runs at. */
export const BACKGROUND_NICE = 10;

/**
 * Lets the calling thread give way to the others when they need the CPU: the server's request thread
 * answers first while a background job converts and commits. Returns whether it did.
 * - Linux: a nice value belongs to a thread, so setpriority on "this process" (0) changes only the
 *   calling thread.
 * - macOS and Windows: it would change the whole process (its request thread too), so nothing is done.
 */
export function yieldCpuToOtherThreads(platform: Platform = process.platform): boolean {
  if (platform !== "linux") return false;
  try {
    setPriority(BACKGROUND_NICE);
    return true;
  } catch {
    // Refused (a sandbox without setpriority): the job runs at the same priority as the server.
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------
// Paths

/** Whether a path starts with a drive letter (`C:\…`, `z:/…`, `C:…`): a Windows path. */
export function hasDriveLetter(path: string): boolean {
  return /^[A-Za-z]:/.test(path);
}

/**
 * Why a path given in a setting cannot be meant for this platform, or null. A drive-letter path
 * (`C:\nompd.db`, pasted from a Windows guide) on Linux or macOS would silently become a file named
 * `C:\nompd.db` in the current folder; on Windows every form is a path.
 */
export function foreignPath(path: string, platform: Platform = process.platform): string | null {
  if (platform === "win32" || !hasDriveLetter(path)) return null;
  return "a Windows path (drive letter) on this system; give a path such as /var/lib/nompd/nompd.db";
}
