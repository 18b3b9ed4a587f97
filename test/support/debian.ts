import { existsSync } from "node:fs";

/**
 * The Debian packages that tests (and `make bench`) drive as real programs, each with a program on PATH
 * (or, for a package without one, a file) that shows it is installed. `ensurePackages` installs the
 * missing ones with apt-get; `make test-deps` (and
 * so `make test` and .ci/run) installs all of them before the suite runs, the benchmarks' wrk and perf
 * included. A test that needs one calls `ensurePackages([...])` at its top, so that running a single file
 * works too; so does the benchmark.
 */
export const PACKAGES = {
  openssl: { package: "openssl", program: "openssl" },
  tinyproxy: { package: "tinyproxy", program: "tinyproxy" },
  systemd: { package: "systemd", program: "systemd-analyze" },
  strace: { package: "strace", program: "strace" },
  // promtool checks /metrics as Prometheus itself reads it.
  prometheus: { package: "prometheus", program: "promtool" },
  // The linux-arm64 release under user-mode emulation, with the arm64 C library it links against.
  "qemu-user-static": { package: "qemu-user-static", program: "qemu-aarch64-static" },
  "libc6-arm64-cross": { package: "libc6-arm64-cross", file: "/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1" },
  // The windows-x64 release under Wine, and the compiler of the DLL it needs there (test/support/wine.ts).
  wine: { package: "wine", program: "wine" },
  wine64: { package: "wine64", file: "/usr/lib/wine/wine64" },
  "gcc-mingw-w64-x86-64": { package: "gcc-mingw-w64-x86-64", program: "x86_64-w64-mingw32-gcc" },
  // The browser tests of the status page (test/ui) drive Debian's Chromium through playwright-core.
  chromium: { package: "chromium", program: "chromium" },
  // A font for the page's text in Chromium's screenshots (the page names only system fonts).
  fonts: { package: "fonts-dejavu-core", file: "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf" },
  // The load balancer of the README's "Many sites" section, checked with its own syntax check.
  haproxy: { package: "haproxy", program: "haproxy" },
  // The load tool of `make bench` (bench/lib/wrk.ts); no test uses it.
  wrk: { package: "wrk", program: "wrk" },
  // The profiler of bench/request-cpu.ts; no test uses it.
  perf: { package: "linux-perf", program: "perf" },
} as const satisfies Record<string, { package: string } & ({ program: string } | { file: string })>;

export type PackageName = keyof typeof PACKAGES;

type Entry = { package: string; program?: string; file?: string };
const entry = (n: PackageName): Entry => PACKAGES[n];
const shownBy = (n: PackageName) => entry(n).program ?? entry(n).file!;

function installed(n: PackageName): boolean {
  const { program, file } = entry(n);
  if (file !== undefined) return existsSync(file);
  return Bun.which(program!, { PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin:/usr/bin` }) !== null;
}

function missing(names: readonly PackageName[]): PackageName[] {
  return names.filter((n) => !installed(n));
}

/**
 * Installs what is missing, once, with apt-get (as root; apt's own lock is waited for). Throws with the
 * command to run by hand when that is not possible: a test never passes without the program it names.
 */
export function ensurePackages(names: readonly PackageName[]): void {
  const need = missing(names);
  if (need.length === 0) return;
  const pkgs = need.map((n) => PACKAGES[n].package);
  const manual = `apt-get install -y ${pkgs.join(" ")}`;
  if (process.getuid?.() !== 0) throw new Error(`These tests need ${pkgs.join(", ")} and this user cannot install them. Run as root: ${manual}`);
  process.stderr.write(`installing Debian packages for the tests: ${pkgs.join(" ")}\n`);
  const apt = (args: string[]) =>
    Bun.spawnSync(["apt-get", "-o", "DPkg::Lock::Timeout=300", ...args], {
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      stdout: "inherit",
      stderr: "inherit",
    }).exitCode;
  const install = () => apt(["install", "-y", "-qq", "--no-install-recommends", ...pkgs]);
  if (install() !== 0 && (apt(["update", "-qq"]) !== 0 || install() !== 0)) throw new Error(`Installing ${pkgs.join(", ")} failed. Run: ${manual}`);
  const still = missing(need);
  if (still.length > 0) throw new Error(`After installing, ${still.map(shownBy).join(", ")} is still missing. Run: ${manual}`);
}

if (import.meta.main) ensurePackages(Object.keys(PACKAGES) as PackageName[]);
