import pkg from "../package.json";

/**
 * What this executable is: for `nompd --version` and the metrics' build info. The Makefile's build
 * passes the commit with `bun build --define NOMPD_COMMIT=…` ("-dirty" when the tree had changes,
 * "unknown" when built outside a git checkout). Run from source there is no build: "source".
 */
declare const NOMPD_COMMIT: string | undefined;

export interface Build {
  version: string;
  /** The commit built from, or "source" when run from source rather than from a built executable. */
  commit: string;
  /** The Bun runtime inside the executable (or running the source). */
  bun: string;
}

export const BUILD: Build = {
  version: pkg.version,
  commit: typeof NOMPD_COMMIT === "string" ? NOMPD_COMMIT : "source",
  bun: Bun.version,
};

/** `nompd 0.1.0 (commit 9a8c437, bun 1.4.5)`; run from source, `nompd 0.1.0 (run from source, bun 1.4.5)`. */
export function versionLine(build: Build = BUILD): string {
  const origin = build.commit === "source" ? "run from source" : `commit ${build.commit}`;
  return `nompd ${build.version} (${origin}, bun ${build.bun})`;
}
