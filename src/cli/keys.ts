import { UsageError } from "../errors";
import type { Scope } from "../models";
import { EXIT, OPTIONS, type CliContext, type Command } from "./context";

export function curlLine(settings: CliContext["config"]["settings"], key: string, port = settings.port): string {
  const { host, tlsCert } = settings;
  const shownHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  return `curl -H "X-API-KEY: ${key}" ${tlsCert ? "https" : "http"}://${shownHost}:${port}/api/v1/treatmentGroup`;
}

export const keysCommand: Command = {
  name: "keys",
  usage: [
    ["keys create NAME [--scope read|admin] [--json]", "make an API key; it is printed once and stored only as a hash"],
    ["keys list [--json]", "list keys: names, scopes, dates, last use (never the keys); revoked ones stay listed"],
    ["keys revoke NAME", "revoke a key at once, also for a running server"],
  ],
  options: { "--scope": OPTIONS["--scope"], "--json": OPTIONS["--json"] },
  run(ctx) {
    const [, sub, name, ...rest] = ctx.args.positionals;
    if (rest.length > 0) throw new UsageError(`Unexpected argument "${rest[0]}". Run 'nompd --help'.`);
    const json = ctx.args.options.has("--json");
    if (sub !== "create" && sub !== "list" && sub !== "revoke") {
      throw new UsageError(`nompd keys needs create, list or revoke${sub ? ` (got "${sub}")` : ""}. Run 'nompd --help'.`);
    }
    if (ctx.args.options.has("--scope") && sub !== "create") throw new UsageError("--scope goes with 'nompd keys create'.");
    // Listing only reads: it never creates or upgrades a database.
    const store = ctx.openStore({ readOnly: sub === "list" });
    try {
      if (sub === "create") {
        if (!name) throw new UsageError("nompd keys create needs a NAME, e.g. 'nompd keys create pharmacy-system'.");
        const scope = ctx.args.options.get("--scope") ?? "read";
        if (scope !== "read" && scope !== "admin") throw new UsageError(`Invalid --scope "${String(scope)}": use read or admin.`);
        const key = store.keys.create(name, scope as Scope);
        if (json) ctx.out(JSON.stringify({ name, scope, key }));
        else ctx.out(`Created ${scope} key "${name}". It is shown only this once; only its hash is stored:\n\n  ${key}\n\nTry it:\n  ${curlLine(ctx.config.settings, key)}`);
        return EXIT.ok;
      }
      if (sub === "list") {
        const list = store.keys.list();
        if (json) ctx.out(JSON.stringify(list, null, 2));
        else if (list.length === 0) ctx.out("No keys. Create one with 'nompd keys create NAME'.");
        else {
          ctx.out(`${"name".padEnd(24)} ${"scope".padEnd(6)} ${"created".padEnd(21)} ${"last used".padEnd(21)} revoked`);
          for (const k of list) ctx.out(`${k.name.padEnd(24)} ${k.scope.padEnd(6)} ${k.createdAt.padEnd(21)} ${(k.lastUsedAt ?? "never").padEnd(21)} ${k.revokedAt ?? "-"}`);
        }
        return EXIT.ok;
      }
      if (!name) throw new UsageError("nompd keys revoke needs the NAME of the key ('nompd keys list' shows them).");
      store.keys.revoke(name);
      ctx.out(json ? JSON.stringify({ name, revoked: true }) : `Revoked key "${name}". It stops working at once, also for a running server.`);
      return EXIT.ok;
    } finally {
      store.close();
    }
  },
};
