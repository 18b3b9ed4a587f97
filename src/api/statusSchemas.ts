import { Type } from "@sinclair/typebox";
import { VersionChange } from "../collections";
import { ApiKey, count, DatasetVersion, Nullable, Scope, SyncRun, Time } from "../models";

/**
 * The bodies of the status, version, key and sync-progress endpoints (statusRoutes.ts), the ones the
 * status page at / reads. Each named one is an OpenAPI component (see namedSchemas in schemas.ts).
 */


const SyncLockState = Type.Object(
  {
    state: Type.Union([Type.Literal("free"), Type.Literal("held"), Type.Literal("leftover")], {
      description: "free: no sync runs; held: a live process syncs now; leftover: a stopped sync left its lock, and the next sync takes it over",
    }),
    trigger: Nullable(Type.String({ description: "What started the sync holding the lock" })),
    pid: Nullable(Type.Integer({ description: "Its process id" })),
    host: Nullable(Type.String({ description: "Its host name" })),
    startedAt: Nullable(Time()),
  },
  { $id: "SyncLockState", additionalProperties: false, description: "The sync lock of the database file" },
);

export const FollowHealth = Type.Object(
  {
    primary: Type.String({ description: "The URL of the Nompd this replica follows (without user info)" }),
    primaryVersion: Nullable(Type.Integer({ minimum: 0, description: "The primary's currentVersion when last seen" })),
    lagSeconds: Nullable(
      Type.Integer({ minimum: 0, description: "Seconds since the replica last knew it held the primary's newest version (null: not yet)" }),
    ),
    maxLagSeconds: Type.Integer({ minimum: 1, description: "--follow-max-lag: /health/ready answers 503 once lagSeconds is greater" }),
    lastContact: Nullable(Type.String({ format: "date-time", description: "When the primary last answered" })),
    unreachableSince: Nullable(Type.String({ format: "date-time", description: "Since when the primary has not answered, or answered errors; null while it answers" })),
    lastError: Nullable(Type.String({ description: "Why the last attempt failed; null while the primary answers" })),
  },
  {
    $id: "FollowHealth",
    additionalProperties: false,
    examples: [
      {
        primary: "https://nompd.region.example/",
        primaryVersion: 5,
        lagSeconds: 12,
        maxLagSeconds: 172800,
        lastContact: "2025-04-10T08:30:12Z",
        unreachableSince: null,
        lastError: null,
      },
    ],
  },
);

export const Status = Type.Object(
  {
    currentVersion: count(),
    datasetId: Type.String({ format: "uuid", description: "The database's id (also in X-Nompd-Dataset)" }),
    sample: Type.Boolean({ description: "true while the embedded sample dataset (invented data) is served" }),
    lastSuccessfulSync: Nullable(Time("When the last sync that succeeded (or found no changes) finished")),
    nextScheduledSync: Nullable(Time("null when no schedule runs")),
    schedule: Nullable(Type.Object({ cron: Type.String(), timeZone: Type.String() }, { additionalProperties: false })),
    upstream: Type.Boolean({ description: "Whether an upstream is set, so that a sync can run" }),
    lock: SyncLockState,
    collections: Type.Record(Type.String(), Type.Object({ live: count(), deleted: count() }, { additionalProperties: false }), {
      description: "Documents per collection: live, and deleted ones still on record",
    }),
    runs: Type.Array(SyncRun, { description: "The last 20 sync runs, newest first" }),
    follow: Nullable(FollowHealth, { description: "On a replica (serve --follow): whom it follows and how far behind; null otherwise" }),
    caller: Type.Object({ name: Type.String(), scope: Scope }, { additionalProperties: false, description: "The key this request came with" }),
  },
  { $id: "Status", additionalProperties: false, description: "The server's state, as the status page shows it" },
);

export const VersionList = Type.Object(
  {
    currentVersion: count(),
    oldestVersion: count(),
    versions: Type.Array(DatasetVersion, { description: "Newest first" }),
  },
  { $id: "VersionList", additionalProperties: false },
);

export const VersionChanges = Type.Object(
  {
    version: DatasetVersion,
    changes: Type.Array(VersionChange, { description: "Every item the version changed, by collection, then id" }),
  },
  { $id: "VersionChanges", additionalProperties: false },
);

export const ApiKeyList = Type.Object({ keys: Type.Array(ApiKey, { description: "By name; revoked keys included" }) }, { $id: "ApiKeyList", additionalProperties: false });

export const NewApiKeyRequest = Type.Object(
  {
    name: Type.String({ description: "1–64 letters, digits, '.', '_' or '-', starting with a letter or digit, e.g. pharmacy-system" }),
    scope: Type.Optional(Type.Union(Scope.anyOf, { description: "read (default) or admin" })),
  },
  { $id: "NewApiKeyRequest", additionalProperties: false },
);

export const NewApiKey = Type.Object(
  {
    name: Type.String(),
    scope: Scope,
    createdAt: Time(),
    key: Type.String({ description: "The key: shown this once, stored only as a hash" }),
  },
  { $id: "NewApiKey", additionalProperties: false },
);

export const SyncProgress = Type.Object(
  {
    running: Type.Boolean({ description: "Whether this server runs a sync (or a dry run) now" }),
    sync: Nullable(
      Type.Object(
        {
          trigger: Type.String(),
          dryRun: Type.Boolean(),
          force: Type.Boolean(),
          startedAt: Time(),
          collections: Type.Record(
            Type.String(),
            Type.Object({ pages: count(), resources: count(), done: Type.Boolean() }, { additionalProperties: false }),
            { description: "Per upstream collection, from its first page on: pages and resources read, and whether it is read to the end" },
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { $id: "SyncProgress", additionalProperties: false, description: "The sync under way in this server; a sync run by another process shows in the status's lock" },
);

export const STATUS_SCHEMAS = [SyncLockState, Status, DatasetVersion, VersionList, VersionChanges, ApiKey, ApiKeyList, NewApiKeyRequest, NewApiKey, SyncProgress] as const;
