import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "bun:test";

/** A fresh temp folder, removed after the test file. */
export function tempDir(prefix = "nompd-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

let counter = 0;
/** A new database path inside a temp folder. */
export function tempDbPath(dir: string): string {
  return join(dir, `db-${++counter}.db`);
}
