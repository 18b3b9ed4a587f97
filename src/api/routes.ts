import { Type, type TObject, type TSchema } from "@sinclair/typebox";
import { gzipSync } from "node:zlib";
import { collectionDef, OUTPUT_COLLECTIONS, RAW_COLLECTIONS, type Collection, type FilterDef, type OutputCollection } from "../collections";
import { NotFoundError, UsageError } from "../errors";
import { DryRunReport, SyncRun } from "../models";
import type { Store, StoreState } from "../store/db";
import { nextRun } from "../sync/cron";
import type { FailureKind } from "../sync/run";
import { followHealth } from "../follow/health";
import type { RouteDef } from "./edge";
import { acceptsGzip, json, sendJson } from "./http";
import { metricsText } from "./metrics";
import { ADMIN, CONSUMER, envelope, error, ErrorBody, Health, modelOf, notModified, versionedItem } from "./schemas";
import type { RouteDeps } from "./routeDeps";
import { statusRoutes } from "./statusRoutes";
import { pageRoutes } from "../ui/page";
import { API_PREFIX, listPath } from "./paths";

const versionParam = (description: string) => Type.Integer({ minimum: 0, description });
const SINCE = versionParam(
  "Only items whose version is greater, deleted ones included (isDeleted: true), ordered by version then id. 0 gives every item that ever existed. Not combinable with filters or asOfVersion.",
);
const AS_OF = versionParam("The live items as they stood at that dataset version (currentVersion in the answer stays the server's current one).");
const WAIT = Type.Integer({
  minimum: 1,
  maximum: 60,
  description:
    "Long poll, only with sinceVersion: when nothing is newer than sinceVersion yet, hold the answer up to this many seconds and answer as soon as a newer version exists (else the normal, empty answer).",
});

const LIST_DESCRIPTION =
  "Without parameters: all live items ordered by id. With sinceVersion=N: every item with version > N, deleted ones included, ordered by version then id. " +
  "Answers carry ETag (If-None-Match answers 304) and X-Nompd-Dataset (the dataset id: when it changes, fetch everything again), and are compressed when the client accepts gzip or br.";

function listQuery(filters: Record<string, FilterDef<unknown>>): TObject {
  return Type.Object({
    sinceVersion: Type.Optional(SINCE),
    asOfVersion: Type.Optional(AS_OF),
    wait: Type.Optional(WAIT),
    ...Object.fromEntries(Object.entries(filters).map(([name, f]) => [name, Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: f.description }))])),
  });
}

function listRoute(collection: Collection, tags: string[], deps: RouteDeps): RouteDef {
  const def = collectionDef(collection);
  const filters = def.kind === "output" ? def.filters : {};
  const filterNames = Object.keys(filters);
  return {
    method: "GET",
    path: listPath(collection),
    scope: "read",
    query: listQuery(filters),
    summary: def.summary,
    description: LIST_DESCRIPTION,
    tags,
    responses: {
      200: { description: "The items and the current version", schema: envelope(modelOf(collection)) },
      304: notModified,
      409: error("sinceVersion is newer than the current version: the database was reset or restored; fetch everything again"),
      410: error("sinceVersion or asOfVersion is older than the history this server keeps; fetch everything again"),
      503: error("A replica that has not yet applied the sinceVersion its primary has: retry after Retry-After seconds"),
    },
    // A long poll holds its request for `wait` seconds: give its connection that long, and a margin.
    idleTimeout: (q) => (q.wait === undefined ? undefined : (q.wait as number) + 10),
    handle({ request, query: q, state }) {
      const since = q.sinceVersion as number | undefined;
      const wait = q.wait as number | undefined;
      if (wait !== undefined && since === undefined) throw new UsageError("wait is a long poll on a diff: give it together with sinceVersion (e.g. ?sinceVersion=5&wait=30).");
      const asOf = q.asOfVersion as number | undefined;
      const filters = filterNames.filter((n) => q[n] !== undefined).map((n): [string, string] => [n, q[n] as string]);
      if (since !== undefined && (filters.length > 0 || asOf !== undefined)) {
        throw new UsageError(
          `sinceVersion cannot be combined with ${filters.length > 0 ? "filters" : "asOfVersion"}: a filtered diff would miss items that leave the filter. Diff the whole list, and filter on your side.`,
        );
      }
      if (asOf !== undefined && filters.length > 0) throw new UsageError("asOfVersion cannot be combined with filters; filters apply to the current list.");
      const answers = deps.answers;
      if (since !== undefined) {
        const ready = deps.polls.hold(since, wait, state);
        if (ready === state) return sendJson(request, answers.since(collection, since, state));
        return Promise.resolve(ready).then((now) => sendJson(request, answers.since(collection, since, now)));
      }
      if (asOf !== undefined) return sendJson(request, answers.asOf(collection, asOf, state));
      if (filters.length > 0) return sendJson(request, answers.filtered(collection as OutputCollection, filters, state));
      return sendJson(request, answers.list(collection, state));
    },
  };
}

const ID = Type.Object({ id: Type.String({ description: "The item's id (identifier[0].value upstream)" }) });

function itemRoutes(collection: OutputCollection, deps: RouteDeps): RouteDef[] {
  const model = modelOf(collection);
  return [
    {
      method: "GET",
      path: `${API_PREFIX}/${collection}/:id`,
      scope: "read",
      params: ID,
      summary: `One ${collection} by id (410 with its last version when deleted)`,
      tags: CONSUMER,
      responses: {
        200: { description: "The item", schema: versionedItem(model) },
        304: notModified,
        404: error("No item with this id was ever seen"),
        410: { description: "Deleted: the last version of the item, with isDeleted true", schema: versionedItem(model) },
      },
      handle({ request, params, state }) {
        const body = deps.answers.item(collection, params.id as string, state);
        return sendJson(request, body, body.deleted ? 410 : 200);
      },
    },
    {
      method: "GET",
      path: `${API_PREFIX}/${collection}/:id/history`,
      scope: "read",
      params: ID,
      summary: `Every version of one ${collection}, newest first`,
      description: "Each change (add, change, delete, revive) is one item; a deletion has isDeleted true and the last content.",
      tags: CONSUMER,
      responses: {
        200: { description: "The item's versions, newest first", schema: envelope(model) },
        304: notModified,
        404: error("No item with this id was ever seen"),
      },
      handle: ({ request, params, state }) => sendJson(request, deps.answers.history(collection, params.id as string, state)),
    },
  ];
}

/** What /health and /health/ready say. */
function healthOf(store: Store, state: StoreState, schedule: RouteDeps["schedule"], followMaxLag: number) {
  if (state.follows !== null) return followHealth(store, state, followMaxLag);
  const last = store.runs.recent(1)[0] ?? null;
  const lastOk = store.runs.lastSuccessful();
  const reason = state.sample
    ? "serving the sample dataset (invented data): load real data with --upstream-url or 'nompd import'"
    : lastOk === null
      ? "no successful sync yet: the database is empty; set --upstream-url, run 'nompd import PATH', or start with --sample to try Nompd"
      : state.version === 0
        ? "no data: every sync so far found the upstream empty; check --upstream-url and the upstream"
        : null;
  return {
    currentVersion: state.version,
    lastSuccessfulSync: lastOk?.finishedAt ?? null,
    lastRunStatus: last?.status ?? null,
    nextScheduledSync: schedule ? nextRun(schedule.cron, schedule.timeZone) : null,
    sample: state.sample,
    ready: reason === null,
    reason,
  };
}

const OPS = ["Operations"];

/** The status of POST /api/internal/sync for each way a sync can fail (its responses document them). */
const STATUS_OF_FAILURE: Record<FailureKind, number> = { guard: 422, source: 502, aborted: 503, conflict: 409, internal: 500 };

/** Every route of the server, in the order of the OpenAPI document. */
export function routeTable(deps: RouteDeps): RouteDef[] {
  const routes: RouteDef[] = [
    ...OUTPUT_COLLECTIONS.map((c) => listRoute(c, CONSUMER, deps)),
    ...OUTPUT_COLLECTIONS.flatMap((c) => itemRoutes(c, deps)),
    ...RAW_COLLECTIONS.map((c) => listRoute(c, ["Raw FHIR"], deps)),
    {
      method: "GET",
      path: `${API_PREFIX}/fhir/:type`,
      scope: "read",
      hidden: true,
      params: Type.Object({ type: Type.String() }),
      summary: "Unknown FHIR resource types",
      tags: ["Raw FHIR"],
      responses: { 404: error("Not one of the upstream resource types") },
      handle({ params }) {
        throw new NotFoundError(`Unknown FHIR resource type "${params.type}". Use ${RAW_COLLECTIONS.join(", ")}.`);
      },
    },
    {
      method: "POST",
      path: "/api/internal/sync",
      scope: "admin",
      query: Type.Object({
        force: Type.Optional(Type.Boolean({ description: "true: let the sync delete more than --max-delete-share of a collection" })),
        dryRun: Type.Optional(Type.Boolean({ description: "true: do everything but write, and report what the sync would do (no run is recorded)" })),
      }),
      summary: "Run a sync now (or a dry run)",
      description:
        "Answers when the sync is done (it may take minutes): 200 when it succeeded or changed nothing; 409 when a sync is already running, no upstream is set, or another process wrote meanwhile; 502 when upstream failed; 422 when the mass-deletion guard stopped it. " +
        "With dryRun=true: 200 with what the sync would do (the guard's verdict included), written nowhere.",
      tags: ADMIN,
      responses: {
        200: { description: "The run (succeeded, or no changes), or with dryRun the report", schema: Type.Union([SyncRun, DryRunReport]) },
        409: {
          description:
            "A sync is already running, no upstream is configured, this server follows another Nompd (a replica never syncs by itself), " +
            "or another process wrote to the database while the sync read its source (nothing was written; run it again; a sync's answer carries its failed run)",
          schema: Type.Union([ErrorBody, runFailure()]),
        },
        422: { description: "Stopped by the mass-deletion guard; nothing was written", schema: runFailure() },
        500: { description: "The sync failed for another reason; nothing was written", schema: runFailure() },
        502: { description: "The upstream failed; nothing was written (with dryRun: just the error)", schema: Type.Union([runFailure(), ErrorBody]) },
        503: { description: "The server is stopping; the sync was aborted and nothing was written", schema: runFailure() },
      },
      // A sync answers when it is done: no idle timeout for that one request.
      idleTimeout: () => 0,
      async handle({ query }) {
        if (query.dryRun === true) return json(await deps.sync.dryRun(query.force === true));
        const { run, failure } = await deps.sync.run("http", query.force === true);
        if (failure === null) return json(run, 200);
        if (failure === "internal") deps.log.error("sync failed", { run: run.id, error: run.error });
        return json({ error: run.error, run }, STATUS_OF_FAILURE[failure]);
      },
    },
    {
      method: "GET",
      path: "/api/internal/sync",
      scope: "admin",
      query: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: "How many runs (default 20)" })) }),
      summary: "Recent sync runs, newest first",
      tags: ADMIN,
      responses: { 200: { description: "The runs", schema: Type.Object({ runs: Type.Array(SyncRun) }, { additionalProperties: false }) } },
      handle: ({ query }) => json({ runs: deps.store.runs.recent((query.limit as number | undefined) ?? 20) }),
    },
    {
      method: "GET",
      path: "/health",
      scope: null,
      summary: "Liveness: 200 while the process runs",
      tags: OPS,
      responses: { 200: { description: "The server's state", schema: Health } },
      handle: ({ state }) => json(healthOf(deps.store, state, deps.schedule, deps.followMaxLag)),
    },
    {
      method: "GET",
      path: "/health/ready",
      scope: null,
      summary: "Readiness: 200 once the database holds a successful sync of real data, else 503",
      tags: OPS,
      responses: {
        200: { description: "Ready", schema: Health },
        503: { description: "Not ready (the reason says why): no data yet, the sample dataset, or on a replica data older than --follow-max-lag", schema: Health },
      },
      handle({ state }) {
        const health = healthOf(deps.store, state, deps.schedule, deps.followMaxLag);
        return json(health, health.ready ? 200 : 503);
      },
    },
  ];
  // The status page at / and what it reads beyond the lists: status, versions, keys, sync progress.
  routes.push(...statusRoutes(deps), ...pageRoutes());

  const metrics = deps.metrics;
  if (metrics) {
    routes.push({
      method: "GET",
      path: "/metrics",
      scope: null,
      summary: "Prometheus metrics",
      description: "Requests by route, method and status, latency histogram, dataset version, last sync, items per collection, process metrics. gzip when asked.",
      tags: OPS,
      responses: { 200: { description: "Prometheus text format 0.0.4", contentType: "text/plain", schema: Type.String() } },
      handle({ request }) {
        const text = metricsText(deps.store, metrics, deps.build, deps.answers.cache);
        const headers: Record<string, string> = { "content-type": "text/plain; version=0.0.4; charset=utf-8", vary: "Accept-Encoding" };
        if (acceptsGzip(request.headers.get("accept-encoding"))) {
          return new Response(gzipSync(text, { level: 1 }), { headers: { ...headers, "content-encoding": "gzip" } });
        }
        return new Response(text, { headers });
      },
    });
  }
  return routes;
}

function runFailure(): TSchema {
  return Type.Object({ error: Type.String(), run: SyncRun }, { additionalProperties: false });
}

