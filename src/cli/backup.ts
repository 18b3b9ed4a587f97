import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { Store } from "../store/db";
import { UsageError } from "../errors";
import { EXIT, type CliContext } from "./context";

/**
 * `VACUUM INTO` writes a consistent, compacted copy from one read transaction: safe while the server
 * runs and while a sync commits (the copy holds the version before or after it, whole).
 */
export function backupCommand(ctx: CliContext): number {
  const target = ctx.args.positionals[1];
  if (!target) throw new UsageError("nompd backup needs a FILE to write, e.g. 'nompd backup /var/backups/nompd-2025-04-10.db'.");
  const absolute = resolve(target);
  if (existsSync(absolute)) throw new UsageError(`${absolute} exists already. Choose a new file name; a backup never overwrites.`);
  const source = resolve(ctx.config.settings.db);
  if (!existsSync(source)) throw new UsageError(`There is no database at ${source} to back up. Give its path with --db (or NOMPD_DB).`);
  const store = Store.open(ctx.config.settings.db);
  try {
    store.db.query("VACUUM INTO ?").run(absolute);
    ctx.out(`Backed up ${store.path} (dataset version ${store.currentVersion()}) to ${absolute}.`);
    return EXIT.ok;
  } finally {
    store.close();
  }
}
