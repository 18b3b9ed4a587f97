import { SECRETS, SETTINGS, type SettingDef } from "../config";
import type { Command, OptionDef } from "./context";

/** `nompd --help`: made from the commands' own usage lines and the settings table. */
export function helpText(version: string, commands: readonly Command[]): string {
  const cmdLines = commands.flatMap((c) => c.usage).flatMap(([usage, what]) => (usage.length <= 30 ? [`  ${usage.padEnd(30)} ${what}`] : [`  ${usage}`, `  ${"".padEnd(30)} ${what}`]));
  const options = new Map<string, OptionDef>();
  for (const c of commands) for (const [name, def] of Object.entries(c.options)) options.set(name, def);
  const optionLines = [...options].map(([name, def]) => `  ${`${name}${def.value ? ` ${def.value}` : ""}`.padEnd(30)} ${def.help}`);
  const settingLines = (Object.values(SETTINGS) as SettingDef[])
    .filter((s) => !s.hidden)
    .map((s) => {
      const flag = s.boolean ? (s.negatedFlag ? `${s.flag} / ${s.negatedFlag}` : s.flag) : `${s.flag} ${s.placeholder ?? "VALUE"}`;
      const dflt = s.default === null ? "" : ` (default: ${String(s.default)})`;
      return `  ${flag.padEnd(34)} ${s.env.padEnd(28)} ${s.help}${dflt}`;
    });
  const secretLines = Object.values(SECRETS).map((s) => `  ${"(no flag)".padEnd(34)} ${s.env.padEnd(28)} ${s.help}`);
  return `nompd ${version}: Norwegian H-resept treatment groups and reimbursement authorizations, versioned, over REST.

Usage: nompd [COMMAND] [OPTIONS]

Commands:
${cmdLines.join("\n")}
  help, --help                   this text
  version, --version             the version, the build's commit and the Bun version

Command options:
${optionLines.join("\n")}

Settings (flag beats environment variable beats default):
${settingLines.join("\n")}
${secretLines.join("\n")}
  (no flag)                          CREDENTIALS_DIRECTORY        systemd credentials: the file upstream-api-key there is the upstream
                                                                  key when neither --upstream-api-key-file nor NOMPD_UPSTREAM_API_KEY is set
  (no flag)                          HTTPS_PROXY, HTTP_PROXY      proxy for an https:// or http:// upstream (lower case first;
                                     ALL_PROXY, NO_PROXY          ALL_PROXY when unset); NO_PROXY lists hosts reached directly

Exit codes: 0 success or no changes, 1 failure, 2 bad usage or setting,
            3 a sync is already running, 4 stopped by the mass-deletion guard.

First run: 'nompd serve --sample' on an empty database loads the embedded sample dataset (invented data,
marked as such in every answer and in /health). When no API key exists and stdout is a terminal, serve
makes one and prints it once, with a curl line to try it.
`;
}
