#!/usr/bin/env bun
import { BUILD, versionLine } from "./build";
import { loadConfig } from "./config";
import { EXIT, NompdError, UsageError, type ExitCode } from "./errors";
import { createLogger } from "./log";
import { stopSignals } from "./platform";
import { resolve } from "node:path";
import { busy, isBusy } from "./store/busy";
import { Store } from "./store/db";
import { GLOBAL_OPTIONS, parseArgs } from "./cli/args";
import { backupCommand } from "./cli/backup";
import type { CliContext, Command, Io } from "./cli/context";
import { helpText } from "./cli/help";
import { keysCommand } from "./cli/keys";
import { serveCommand } from "./cli/serve";
import { statusCommand } from "./cli/status";
import { importCommand, syncCommand } from "./cli/sync";

/** Every command, in the order of `nompd --help`. */
export const COMMANDS: readonly Command[] = [serveCommand, syncCommand, importCommand, keysCommand, statusCommand, backupCommand];

/**
 * The whole program, callable in-process: arguments, environment and where to write come in; an exit
 * code comes out. Any NompdError ends it with its own message and exit code; anything else is a bug.
 */
export async function main(argv: string[], env: Record<string, string | undefined>, io: Io): Promise<ExitCode> {
  let configuredDb: string | null = null;
  try {
    const known: Record<string, boolean> = Object.fromEntries(Object.entries(GLOBAL_OPTIONS));
    for (const c of COMMANDS) for (const [name, def] of Object.entries(c.options)) known[name] = def.value !== undefined;
    const args = parseArgs(argv, known);
    if (args.options.has("--help") || args.options.has("-h") || args.positionals[0] === "help") {
      io.out(helpText(BUILD.version, COMMANDS));
      return EXIT.ok;
    }
    if (args.options.has("--version") || args.options.has("-v") || args.positionals[0] === "version") {
      io.out(versionLine());
      return EXIT.ok;
    }
    const name = args.positionals[0] ?? "serve";
    const command = COMMANDS.find((c) => c.name === name);
    if (!command) throw new UsageError(`Unknown command "${name}". Commands: ${COMMANDS.map((c) => c.name).join(", ")}. Run 'nompd --help'.`);
    for (const option of args.options.keys()) {
      // --help and --version (GLOBAL_OPTIONS) were answered above.
      if (!Object.hasOwn(command.options, option)) {
        throw new UsageError(`${option} is not an option of 'nompd ${command.name}'. Run 'nompd --help'.`);
      }
    }
    const config = loadConfig(args.settings, env);
    configuredDb = resolve(config.settings.db);
    const log = createLogger(config.settings.logFormat, (line) => io.err(line));
    for (const warning of config.warnings) log.warn(warning);
    const ctx: CliContext = {
      ...io,
      config,
      args,
      log,
      build: BUILD,
      openStore: (options = {}) => Store.open(config.settings.db, { ...options, lockLeaseMs: config.settings.syncLockLeaseMs }),
    };
    return await command.run(ctx);
  } catch (e) {
    // SQLite's "busy" can surface from any write a command makes: said as what it means.
    const error = isBusy(e) ? busy(configuredDb ?? "named by --db") : e;
    if (error instanceof NompdError) {
      io.err(error.message);
      return error.exit;
    }
    io.err(`Unexpected error: ${(e as Error)?.stack ?? String(e)}\nPlease report it with the command you ran.`);
    return EXIT.failed;
  }
}

/** The process's own io: stdout and stderr, and a stop signal on the platform's stop signals (SIGTERM, SIGINT). */
function processIo(): Io {
  const stop = new AbortController();
  for (const signal of stopSignals()) process.once(signal, () => stop.abort(signal));
  return {
    out: (text) => process.stdout.write(text + "\n"),
    err: (text) => process.stderr.write(text.endsWith("\n") || text.startsWith("\r") ? text : text + "\n"),
    stdoutIsTty: Boolean(process.stdout.isTTY),
    stderrIsTty: Boolean(process.stderr.isTTY),
    stop: stop.signal,
  };
}

if (import.meta.main) {
  const code = await main(process.argv.slice(2), process.env, processIo());
  process.exit(code);
}
