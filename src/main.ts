#!/usr/bin/env bun
import { BUILD, versionLine } from "./build";
import { loadConfig } from "./config";
import { EXIT, NompdError, UsageError } from "./errors";
import { createLogger } from "./log";
import { parseArgs } from "./cli/args";
import { backupCommand } from "./cli/backup";
import type { CliContext } from "./cli/context";
import { helpText } from "./cli/help";
import { keysCommand } from "./cli/keys";
import { serveCommand } from "./cli/serve";
import { statusCommand } from "./cli/status";
import { importCommand, syncCommand } from "./cli/sync";

const COMMANDS = ["serve", "sync", "import", "keys", "status", "backup", "help", "version"] as const;

export async function main(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  const out = (text: string) => process.stdout.write(text + "\n");
  const err = (text: string) => process.stderr.write(text.endsWith("\n") || text.startsWith("\r") ? text : text + "\n");
  try {
    const args = parseArgs(argv);
    if (args.options.has("--help") || args.options.has("-h") || args.positionals[0] === "help") {
      out(helpText(BUILD.version));
      return EXIT.ok;
    }
    if (args.options.has("--version") || args.options.has("-v") || args.positionals[0] === "version") {
      out(versionLine());
      return EXIT.ok;
    }
    const command = args.positionals[0] ?? "serve";
    if (!(COMMANDS as readonly string[]).includes(command)) {
      throw new UsageError(`Unknown command "${command}". Commands: ${COMMANDS.join(", ")}. Run 'nompd --help'.`);
    }
    const config = loadConfig(args.settings, env);
    const ctx: CliContext = {
      config,
      args,
      log: createLogger(config.settings.logFormat),
      version: BUILD.version,
      out,
      err,
      isTty: Boolean(process.stderr.isTTY),
    };
    switch (command) {
      case "serve":
        return await serveCommand(ctx);
      case "import":
        return await importCommand(ctx);
      case "keys":
        return keysCommand(ctx);
      case "status":
        return statusCommand(ctx);
      case "backup":
        return backupCommand(ctx);
      case "sync":
        return await syncCommand(ctx);
    }
    return EXIT.usage;
  } catch (e) {
    if (e instanceof NompdError) {
      err(e.message);
      return e.exit;
    }
    err(`Unexpected error: ${(e as Error)?.stack ?? String(e)}\nPlease report it with the command you ran.`);
    return EXIT.failed;
  }
}

if (import.meta.main) {
  const code = await main(process.argv.slice(2), process.env);
  process.exit(code);
}
