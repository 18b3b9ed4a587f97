import { SECRETS, settingFlag } from "../config";
import { UsageError } from "../errors";

/** Options every command takes. */
export const GLOBAL_OPTIONS: Record<string, boolean> = { "--help": false, "-h": false, "--version": false, "-v": false };

export interface ParsedArgs {
  positionals: string[];
  /** Setting flags, for loadConfig. */
  settings: Map<string, string | true>;
  /** Command options such as --force, --json, --scope. */
  options: Map<string, string | true>;
}

/**
 * Splits argv into positionals, setting flags and command options (`known`: name → takes a value);
 * `--name=value` and `--name value` both work.
 */
export function parseArgs(argv: string[], known: Record<string, boolean>): ParsedArgs {
  const out: ParsedArgs = { positionals: [], settings: new Map(), options: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      out.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      out.positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const inline = eq === -1 ? undefined : arg.slice(eq + 1);
    const setting = settingFlag(name);
    const takesValue = setting ? setting.takesValue : Object.hasOwn(known, name) ? known[name] : undefined;
    if (takesValue === undefined) {
      const secret = Object.values(SECRETS).find((s) => s.refusedFlag === name);
      if (secret) throw new UsageError(`There is no ${name} flag: a key on the command line shows in 'ps'. Set ${secret.env} or use ${secret.file} FILE.`);
      throw new UsageError(`Unknown option ${name}. Run 'nompd --help' for the options.`);
    }
    let value: string | true = true;
    if (takesValue) {
      if (inline !== undefined) value = inline;
      else if (i + 1 < argv.length) value = argv[++i]!;
      else throw new UsageError(`Option ${name} needs a value. Run 'nompd --help' for the options.`);
    } else if (inline !== undefined) {
      throw new UsageError(`Option ${name} takes no value (got "${inline}").`);
    }
    (setting ? out.settings : out.options).set(name, value);
  }
  return out;
}
