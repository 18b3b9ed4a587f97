import { SETTINGS } from "../config";

export function helpText(version: string): string {
  const settingLines = SETTINGS.map((s) => {
    const flag = s.boolean ? `${s.flag} / ${s.negatedFlag}` : `${s.flag} ${s.placeholder ?? "VALUE"}`;
    const dflt = s.default === null ? "" : ` (default: ${String(s.default)})`;
    return `  ${flag.padEnd(34)} ${s.env.padEnd(28)} ${s.help}${dflt}`;
  }).join("\n");
  return `nompd ${version}: Norwegian H-resept treatment groups and reimbursement authorizations, versioned, over REST.

Usage: nompd [COMMAND] [OPTIONS]

Commands:
  serve                          run the server with its sync schedule (the default command)
  sync [--force] [--json]        sync from the national FHIR APIs now, then exit
  import PATH... [--force] [--json]
                                 sync from FHIR Bundle files (JSON, or NDJSON of resources;
                                 a folder means its *.json and *.ndjson files)
  keys create NAME [--scope read|admin] [--json]
                                 make an API key; it is printed once and stored only as a hash
  keys list [--json]             list keys (names, scopes, dates; never the keys)
  keys revoke NAME               revoke a key at once, also for a running server
  status [--json]                dataset version, counts, recent sync runs, schedule
  backup FILE                    a consistent copy of the database, also while the server runs
  help, --help                   this text
  version, --version             the version, the commit it was built from and the Bun version

Command options:
  --force                        let a sync delete more than --max-delete-share of a collection
  --json                         print the result as JSON
  --scope read|admin             scope of a new key (default: read)

Settings (flag beats environment variable beats default):
${settingLines}
  (no flag)                          NOMPD_UPSTREAM_API_KEY       upstream API key (never a flag: it would show in 'ps')
  (no flag)                          NOMPD_API_KEYS               extra read-scope API keys, comma-separated

Exit codes: 0 success or no changes, 1 failure, 2 bad usage or setting,
            3 a sync is already running, 4 stopped by the mass-deletion guard.

First run: 'nompd serve' on an empty database with no --upstream-url loads the embedded sample data,
and when no API key exists it makes one and prints it once, with a curl line to try it.
`;
}
