import { resolve } from "node:path";
import { UsageError } from "../errors";
import { EXIT, type Command } from "./context";

/**
 * `nompd backup FILE`: a consistent, compacted copy of the database (see Store.backupTo), also while the
 * server runs; put in place of a database, a new dataset id (see adoptBackup in src/store/db.ts). It
 * never migrates the source: a backup made before an upgrade holds the old schema, so it works with the
 * nompd that wrote it.
 */
export const backupCommand: Command = {
  name: "backup",
  usage: [["backup FILE", "a consistent copy of the database, also while the server runs; restored, a new dataset id (readable by its owner only)"]],
  options: {},
  run(ctx) {
    const target = ctx.args.positionals[1];
    if (!target) throw new UsageError("nompd backup needs a FILE to write, e.g. 'nompd backup /var/backups/nompd-2025-04-10.db'.");
    const absolute = resolve(target);
    const store = ctx.openStore({ readOnly: true, anySchema: true });
    try {
      store.backupTo(absolute);
      ctx.out(
        `Backed up ${store.path} (dataset version ${store.currentVersion()}) to ${absolute}. ` +
          `It has a dataset id of its own, and a copy of it put in place of a database gets another when first opened to be written: clients and replicas start over from a full fetch. Restore from copies of this file, not the file itself.`,
      );
      return EXIT.ok;
    } finally {
      store.close();
    }
  },
};
