import type { Config } from "../config";
import { EXIT, type ExitCode } from "../errors";
import type { Logger } from "../log";
import { Store, type OpenOptions } from "../store/db";
import type { ParsedArgs } from "./args";
import type { Build } from "../build";

export { EXIT };

/** Where a command writes, and what it writes to. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** stdout is a terminal: secrets (a first key) may be shown there. */
  stdoutIsTty: boolean;
  /** stderr is a terminal: progress lines may be drawn there. */
  stderrIsTty: boolean;
  /** Aborts when the process is asked to stop (SIGINT, SIGTERM); `serve` ends gracefully on it. */
  stop: AbortSignal;
}

export type { Build };

export interface CliContext extends Io {
  config: Config;
  args: ParsedArgs;
  log: Logger;
  build: Build;
  /** The database named by --db, opened with the settings that concern it. */
  openStore(options?: Omit<OpenOptions, "lockLeaseMs">): Store;
}

/** An option of a command: its value's placeholder (none for a switch) and its help line. */
export interface OptionDef {
  value?: string;
  help: string;
}

/** The options several commands share, defined once. */
export const OPTIONS = {
  "--force": { help: "let a sync delete more than --max-delete-share of a collection" },
  "--json": { help: "print the result as JSON" },
  "--scope": { value: "read|admin", help: "scope of a new key (default: read)" },
  "--dry-run": { help: "do everything but write: report what the sync would add, change and delete, the fallbacks taken and the guard's verdict" },
} satisfies Record<string, OptionDef>;

/**
 * One command: its name, its usage lines for --help, its options, and what it does. Each command's
 * file holds all of that, so adding one is a new file and a line in main.ts.
 */
export interface Command {
  name: string;
  /** Lines of `nompd --help`: each a usage and what it does. */
  usage: Array<[string, string]>;
  options: Record<string, OptionDef>;
  run(ctx: CliContext): ExitCode | Promise<ExitCode>;
}
