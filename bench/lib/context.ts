/**
 * What the parts of `make bench` share: settings, a scratch folder, the report, and datasets made once
 * on first use.
 */
import { join } from "node:path";
import { generateDataset, writeBundles } from "../generate";
import { createKey } from "../../test/support/binary";
import { nompd } from "./procs";
import type { Report } from "./report";

export interface Context {
  /** Seconds of each load run (BENCH_SECONDS). */
  seconds: number;
  /** A scratch folder, removed at the end. */
  work: string;
  report: Report;
  /** The read dataset, made on first use: 1,000 treatment groups (5 alternatives each), 2,000 reimbursement groups. */
  readDb(): Promise<{ db: string; key: string }>;
}

/** A part of the benchmark: BENCH_ONLY names parts. */
export interface Part {
  name: string;
  title: string;
  run(ctx: Context): Promise<void>;
}

export function makeContext(seconds: number, work: string, report: Report): Context {
  let read: Promise<{ db: string; key: string }> | null = null;
  return {
    seconds,
    work,
    report,
    readDb() {
      read ??= (async () => {
        const dir = join(work, "read");
        writeBundles(dir, generateDataset({ groups: 1000, alternatives: 5, auths: 2000 }));
        const db = join(work, "read.db");
        const r = nompd(["import", dir, "--db", db]);
        if (r.exitCode !== 0) throw new Error(`nompd import failed: ${r.stderr}`);
        return { db, key: await createKey(db, "bench") };
      })();
      return read;
    },
  };
}
