import type { Static } from "@sinclair/typebox";
import type { ApiKey as ApiKeySchema, DryRunReport as DryRunReportSchema, ReimbursementGroup as RG, SyncRun as SyncRunSchema, TreatmentGroup as TG } from "../../models";
import type {
  NewApiKey as NewApiKeySchema,
  Status as StatusSchema,
  SyncProgress as SyncProgressSchema,
  VersionChanges as VersionChangesSchema,
  VersionList as VersionListSchema,
} from "../../api/statusSchemas";

// The bodies the page reads, typed from the server's own schemas (types only: nothing of the server
// is bundled into the page).
export type Status = Static<typeof StatusSchema>;
export type VersionList = Static<typeof VersionListSchema>;
export type VersionChanges = Static<typeof VersionChangesSchema>;
export type ApiKey = Static<typeof ApiKeySchema>;
export type NewApiKey = Static<typeof NewApiKeySchema>;
export type SyncProgress = Static<typeof SyncProgressSchema>;
export type SyncRun = Static<typeof SyncRunSchema>;
export type DryRunReport = Static<typeof DryRunReportSchema>;
export type TreatmentGroup = Static<typeof TG>;
export type ReimbursementGroup = Static<typeof RG>;
export interface Versioned<T> {
  data: T;
  version: number;
  lastChanged: string;
  isDeleted: boolean;
}
export interface ListOf<T> {
  currentVersion: number;
  items: Versioned<T>[];
}

/**
 * The key lives in this tab's sessionStorage only: gone when the tab closes, never in a URL (where it
 * would reach logs and history), sent in the X-API-KEY header.
 */
const KEY = "nompd.apiKey";

export const session = {
  key: (): string | null => sessionStorage.getItem(KEY),
  save: (key: string) => sessionStorage.setItem(KEY, key),
  clear: () => sessionStorage.removeItem(KEY),
};

/** An answer other than 2xx, with the server's own message ({"error": …}). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** The body, when it was JSON (a failed sync answers with its run). */
    readonly body: unknown = null,
  ) {
    super(message);
  }
}

/** Told when the key stops working (revoked while signed in): the page signs out. */
let onUnauthorized: (message: string) => void = () => {};
export function whenUnauthorized(handler: (message: string) => void): void {
  onUnauthorized = handler;
}

const UNREACHABLE = "Cannot reach the Nompd server. Check that it runs and that this page's address is right, then try again.";
export const INVALID_KEY =
  "This key is not valid: it is unknown, mistyped or revoked. Check it, or ask an administrator for a key (made with 'nompd keys create NAME').";

export async function api<T>(path: string, init: { method?: string; body?: unknown; key?: string; signal?: AbortSignal } = {}): Promise<T> {
  const key = init.key ?? session.key();
  const headers: Record<string, string> = { accept: "application/json" };
  if (key) headers["x-api-key"] = key;
  if (init.body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(path, {
      method: init.method ?? "GET",
      headers,
      body: init.body === undefined ? null : JSON.stringify(init.body),
      signal: init.signal ?? null,
      credentials: "omit",
      cache: "no-cache",
    });
  } catch (err) {
    if ((err as Error).name === "AbortError") throw err;
    throw new ApiError(0, UNREACHABLE);
  }
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  if (res.ok) return body as T;
  const message = typeof (body as { error?: unknown })?.error === "string" ? (body as { error: string }).error : `The server answered HTTP ${res.status}.`;
  if (res.status === 401) {
    // A sign-in attempt reports it itself; a key that stops working later signs the page out.
    if (init.key === undefined) onUnauthorized("Your key is no longer accepted (it may have been revoked). Sign in again with a valid key.");
    throw new ApiError(401, INVALID_KEY, body);
  }
  throw new ApiError(res.status, message, body);
}

export const enc = encodeURIComponent;
