/**
 * The Debian packages that tests (and `make bench`) drive as real programs, each with a program that
 * shows it is installed. `ensurePackages` installs the missing ones with apt-get; `make test-deps` (and
 * so `make test` and .ci/run) installs all of them before the suite runs. A test that needs one calls
 * `ensurePackages([...])` at its top, so that running a single file works too.
 */
export const PACKAGES = {
  openssl: { package: "openssl", program: "openssl" },
  haproxy: { package: "haproxy", program: "haproxy" },
} as const satisfies Record<string, { package: string; program: string }>;

export type PackageName = keyof typeof PACKAGES;

function missing(names: readonly PackageName[]): PackageName[] {
  return names.filter((n) => Bun.which(PACKAGES[n].program, { PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin:/usr/bin` }) === null);
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
  if (still.length > 0) throw new Error(`After installing, ${still.map((n) => PACKAGES[n].program).join(", ")} is still not on PATH. Run: ${manual}`);
}

if (import.meta.main) ensurePackages(Object.keys(PACKAGES) as PackageName[]);
