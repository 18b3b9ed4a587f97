import pkg from "../package.json";

/**
 * What this executable is: for `nompd --version` and the metrics. The Makefile's build passes the
 * commit with `bun build --define NOMPD_BUILD_COMMIT=…` ("-dirty" when the tree had changes, "unknown"
 * when built outside a git checkout). Run from source there is no build, so no commit: null.
 */
declare const NOMPD_BUILD_COMMIT: string | undefined;

export interface BuildInfo {
  version: string;
  /** null when run from source rather than from a built executable. */
  commit: string | null;
  /** The Bun runtime inside the executable (or running the source). */
  bun: string;
}

export const BUILD: BuildInfo = {
  version: pkg.version,
  commit: typeof NOMPD_BUILD_COMMIT === "string" ? NOMPD_BUILD_COMMIT : null,
  bun: Bun.version,
};

/** `nompd 0.1.0 (commit 9a8c437, bun 1.4.5)`; run from source, `nompd 0.1.0 (run from source, bun 1.4.5)`. */
export function versionLine(info: BuildInfo = BUILD): string {
  const origin = info.commit === null ? "run from source" : `commit ${info.commit}`;
  return `nompd ${info.version} (${origin}, bun ${info.bun})`;
}

/** Label values for a build-info metric: the commit reads "source" when run from source. */
export function buildLabels(info: BuildInfo = BUILD): { version: string; commit: string } {
  return { version: info.version, commit: info.commit ?? "source" };
}
