import type { OutputCollection, Collection } from "../convert/dataset";
import type { Store } from "../store/db";
import type { DocumentRow, Documents } from "../store/documents";
import { PreparedBody } from "./http";

/** `{"data":…,"version":…,"lastChanged":…,"isDeleted":…}`, the stored content spliced in unparsed. */
export function versionedItemJson(row: DocumentRow): string {
  return `{"data":${row.content},"version":${row.version},"lastChanged":"${row.last_changed}","isDeleted":${row.is_deleted ? "true" : "false"}}`;
}

export function envelopeJson(currentVersion: number, rows: DocumentRow[]): string {
  const parts = new Array<string>(rows.length);
  for (let i = 0; i < rows.length; i++) parts[i] = versionedItemJson(rows[i]!);
  return `{"currentVersion":${currentVersion},"items":[${parts.join(",")}]}`;
}

/**
 * The full live list of each collection, built once per dataset version with its compressed forms,
 * and served from memory until the version changes — also when another process committed the change,
 * since the version is read from the file on every request (one indexed row).
 */
export class FullLists {
  private readonly cache = new Map<Collection, { version: number; body: PreparedBody }>();

  constructor(
    private readonly store: Store,
    private readonly documents: Documents,
  ) {}

  get(collection: OutputCollection | Collection): PreparedBody {
    const version = this.store.currentVersion();
    const hit = this.cache.get(collection);
    if (hit && hit.version === version) return hit.body;
    // Version and rows from one read transaction: a sync committing in between cannot mix them.
    const built = this.documents.snapshot(() => {
      const v = this.store.currentVersion();
      return { version: v, body: PreparedBody.fromJson(envelopeJson(v, this.documents.live(collection))) };
    });
    this.cache.set(collection, built);
    return built.body;
  }
}
