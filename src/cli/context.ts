import type { Config } from "../config";
import type { Logger } from "../log";
import type { ParsedArgs } from "./args";

export { EXIT } from "../errors";

export interface CliContext {
  config: Config;
  args: ParsedArgs;
  log: Logger;
  version: string;
  out: (text: string) => void;
  err: (text: string) => void;
  isTty: boolean;
}
