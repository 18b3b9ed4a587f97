import { Type } from "@sinclair/typebox";
import { ConflictError, NotFoundError } from "../errors";
import type { Store, StoreState } from "../store/db";
import { ApiKey, type Scope } from "../models";
import { followReport, lastSuccessfulSync } from "../follow/health";
import { nextRun } from "../sync/cron";
import { datasetJson } from "./answers";
import type { RouteDef } from "./edge";
import { API_PREFIX } from "./paths";
import { json, sendJson } from "./http";
import type { RouteDeps } from "./routeDeps";
import { ADMIN, CONSUMER, error, notModified } from "./schemas";
import { ApiKeyList, NewApiKey, NewApiKeyRequest, Status, SyncProgress, VersionChanges, VersionList } from "./statusSchemas";

/**
 * The endpoints the status page at / reads beyond the data lists: the server's status and the dataset
 * versions for any key; the keys and a running sync's progress for admin keys. Part of the route table
 * (routeTable in routes.ts), so served, checked, documented and counted like every other route.
 */

/**
 * A small JSON body read in one snapshot, with ETag, 304 and compression, and the dataset headers of
 * that snapshot (as the /api/v1 answers have them): for the status, which holds more than the dataset
 * (the lock, the runs, the caller), so is made anew for each request. The version routes' answers are
 * the dataset's own, kept in `Answers` like the lists.
 */
function prepared(request: Request, store: Store, read: (snap: StoreState) => unknown): Response | Promise<Response> {
  return sendJson(request, store.snapshot((snap) => datasetJson(snap, read(snap))));
}

export function statusRoutes(deps: RouteDeps): RouteDef[] {
  const { store } = deps;
  return [
    {
      method: "GET",
      path: `${API_PREFIX}/status`,
      scope: "read",
      summary: "The server's state: dataset, schedule, sync lock, the last 20 sync runs",
      description: "What the status page shows: the current version and dataset id, whether the sample is served, the last successful and the next scheduled sync, the sync lock (free, held by a live process, or left over by a stopped one), the documents per collection and the last 20 runs.",
      tags: CONSUMER,
      responses: { 200: { description: "The status", schema: Status }, 304: notModified },
      handle({ request, caller }) {
        return prepared(request, store, (snap) => {
          const lock = store.lock.current();
          // On a replica: whom it follows, and how far behind it is.
          const follow = store.replica.status();
          return {
            currentVersion: snap.version,
            datasetId: snap.datasetId,
            sample: snap.sample,
            lastSuccessfulSync: lastSuccessfulSync(store, follow),
            nextScheduledSync: deps.schedule ? nextRun(deps.schedule.cron, deps.schedule.timeZone) : null,
            schedule: deps.schedule ? { cron: deps.schedule.cron, timeZone: deps.schedule.timeZone } : null,
            upstream: deps.sync.hasUpstream,
            lock: {
              state: lock === null ? "free" : lock.stale ? "leftover" : "held",
              trigger: lock?.trigger ?? null,
              pid: lock?.pid ?? null,
              host: lock?.host ?? null,
              startedAt: lock?.started_at ?? null,
            },
            collections: store.documents.counts(),
            runs: store.runs.recent(20),
            follow: follow === null ? null : followReport(follow, deps.followMaxLag),
            caller: { name: caller!.name, scope: caller!.scope },
          };
        });
      },
    },
    {
      method: "GET",
      path: `${API_PREFIX}/versions`,
      scope: "read",
      query: Type.Object({
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: "How many versions (default 100)" })),
        before: Type.Optional(Type.Integer({ minimum: 1, description: "Only versions older than this one: the next page after the oldest version received" })),
      }),
      summary: "The dataset versions, newest first, with what each changed per collection",
      tags: CONSUMER,
      responses: { 200: { description: "The versions", schema: VersionList }, 304: notModified },
      handle({ request, query, state }) {
        const limit = (query.limit as number | undefined) ?? 100;
        const before = query.before as number | undefined;
        return sendJson(
          request,
          deps.answers.json(state, `versions ${limit} before ${before}`, (snap) => ({
            currentVersion: snap.version,
            oldestVersion: snap.oldestVersion,
            versions: store.versions.list(limit, before),
          })),
        );
      },
    },
    {
      method: "GET",
      path: `${API_PREFIX}/versions/:version`,
      scope: "read",
      params: Type.Object({ version: Type.Integer({ minimum: 1, description: "A dataset version" }) }),
      summary: "The changes of one dataset version: which items, per collection, with the kind of change",
      description:
        "Each changed item with its collection, id, a name a person recognises and the kind of change (added, changed, deleted, revived). " +
        "An item's contents before and after are in its history (/api/v1/{collection}/{id}/history). " +
        "In the oldest version kept after history pruning (--history-keep-versions), an item whose earlier history was forgotten shows as added.",
      tags: CONSUMER,
      responses: {
        200: { description: "The version and its changes", schema: VersionChanges },
        304: notModified,
        404: error("No such dataset version"),
        410: error("The version is older than the history this server keeps"),
      },
      handle({ request, params, state }) {
        const version = params.version as number;
        const answer = deps.answers.json(state, `version ${version}`, (snap) => {
          if (version < snap.oldestVersion) {
            throw new ConflictError(`Version ${version} is older than the history this server keeps (from version ${snap.oldestVersion} on).`, 410);
          }
          const found = version <= snap.version ? store.versions.get(version) : null;
          if (!found) throw new NotFoundError(`There is no dataset version ${version}; the current version is ${snap.version}. GET /api/v1/versions lists them.`);
          return { version: found, changes: store.versions.changes(version) };
        });
        return sendJson(request, answer);
      },
    },
    {
      method: "GET",
      path: "/api/internal/keys",
      scope: "admin",
      summary: "The API keys: name, scope, creation, last use, revocation (never the keys)",
      tags: ADMIN,
      responses: { 200: { description: "The keys", schema: ApiKeyList } },
      handle: () => json({ keys: store.keys.list() }),
    },
    {
      method: "POST",
      path: "/api/internal/keys",
      scope: "admin",
      body: NewApiKeyRequest,
      summary: "Create an API key; the answer holds the key, shown this once",
      description: "As 'nompd keys create NAME --scope SCOPE'. Only a hash of the key is stored: the key cannot be shown again.",
      tags: ADMIN,
      responses: {
        201: { description: "The new key", schema: NewApiKey },
        409: error("An active key has this name; revoke it first or choose another name"),
      },
      handle({ body }) {
        const { key, info } = store.keys.issue(body!.name as string, ((body!.scope as Scope | undefined) ?? "read"));
        return json({ name: info.name, scope: info.scope, createdAt: info.createdAt, key }, 201);
      },
    },
    {
      method: "DELETE",
      path: "/api/internal/keys/:name",
      scope: "admin",
      params: Type.Object({ name: Type.String({ description: "The key's name" }) }),
      summary: "Revoke an API key: it stops working at once",
      description: "As 'nompd keys revoke NAME'. The key this request comes with cannot revoke itself (so that the last admin key is not lost by a slip); use another admin key or the command.",
      tags: ADMIN,
      responses: {
        200: { description: "The revoked key's record", schema: ApiKey },
        404: error("No active key has this name"),
        409: error("This is the key the request came with"),
      },
      handle({ params, caller }) {
        const name = params.name as string;
        if (caller?.name === name) {
          throw new ConflictError(`"${name}" is the key you are signed in with, so it cannot revoke itself. Revoke it with another admin key, or run 'nompd keys revoke ${name}'.`);
        }
        return json(store.keys.revoke(name));
      },
    },
    {
      method: "GET",
      path: "/api/internal/sync/progress",
      scope: "admin",
      summary: "The progress of the sync (or dry run) this server runs now",
      description: "Pages and resources read per upstream collection. Poll it while POST /api/internal/sync runs; running is false when none does.",
      tags: ADMIN,
      responses: { 200: { description: "The progress", schema: SyncProgress } },
      handle() {
        const sync = deps.sync.progress;
        return json({ running: sync !== null, sync });
      },
    },
  ];
}
