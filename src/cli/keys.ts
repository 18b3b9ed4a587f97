import { Store } from "../store/db";
import { Keys, type Scope } from "../store/keys";
import { UsageError } from "../errors";
import { EXIT, type CliContext } from "./context";

export function curlLine(ctx: CliContext, key: string): string {
  const { host, port, tlsCert } = ctx.config.settings;
  const shownHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  return `curl -H "X-API-KEY: ${key}" ${tlsCert ? "https" : "http"}://${shownHost}:${port}/api/v1/treatmentGroup`;
}

export function keysCommand(ctx: CliContext): number {
  const [, sub, name, ...rest] = ctx.args.positionals;
  if (rest.length > 0) throw new UsageError(`Unexpected argument "${rest[0]}". Run 'nompd --help'.`);
  const json = ctx.args.options.has("--json");
  const store = Store.open(ctx.config.settings.db);
  try {
    const keys = new Keys(store);
    switch (sub) {
      case "create": {
        if (!name) throw new UsageError("nompd keys create needs a NAME, e.g. 'nompd keys create pharmacy-system'.");
        const scopeOpt = ctx.args.options.get("--scope") ?? "read";
        if (scopeOpt !== "read" && scopeOpt !== "admin") throw new UsageError(`Invalid --scope "${String(scopeOpt)}": use read or admin.`);
        const key = keys.create(name, scopeOpt as Scope);
        if (json) ctx.out(JSON.stringify({ name, scope: scopeOpt, key }));
        else {
          ctx.out(`Created ${scopeOpt} key "${name}". It is shown only this once; only its hash is stored:\n\n  ${key}\n\nTry it:\n  ${curlLine(ctx, key)}`);
        }
        return EXIT.ok;
      }
      case "list": {
        const list = keys.list();
        if (json) ctx.out(JSON.stringify(list, null, 2));
        else if (list.length === 0) ctx.out("No keys. Create one with 'nompd keys create NAME'.");
        else {
          ctx.out(`${"name".padEnd(24)} ${"scope".padEnd(6)} ${"created".padEnd(21)} revoked`);
          for (const k of list) ctx.out(`${k.name.padEnd(24)} ${k.scope.padEnd(6)} ${k.createdAt.padEnd(21)} ${k.revokedAt ?? "-"}`);
        }
        return EXIT.ok;
      }
      case "revoke": {
        if (!name) throw new UsageError("nompd keys revoke needs the NAME of the key ('nompd keys list' shows them).");
        keys.revoke(name);
        ctx.out(json ? JSON.stringify({ name, revoked: true }) : `Revoked key "${name}". It stops working at once, also for a running server.`);
        return EXIT.ok;
      }
      default:
        throw new UsageError(`nompd keys needs create, list or revoke${sub ? ` (got "${sub}")` : ""}. Run 'nompd --help'.`);
    }
  } finally {
    store.close();
  }
}
