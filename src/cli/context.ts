import type { Config } from "../config";
import type { Logger } from "../log";
import type { ParsedArgs } from "./args";

export const EXIT = { ok: 0, failed: 1, usage: 2, alreadyRunning: 3, guard: 4 } as const;

export interface CliContext {
  config: Config;
  args: ParsedArgs;
  log: Logger;
  version: string;
  out: (text: string) => void;
  err: (text: string) => void;
  isTty: boolean;
}
