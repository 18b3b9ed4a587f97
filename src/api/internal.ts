import { Elysia, t } from "elysia";
import type { Logger } from "../log";
import type { Keys } from "../store/keys";
import { Runs } from "../store/runs";
import { NompdError } from "../errors";
import type { SyncService } from "../sync/service";
import type { Store } from "../store/db";
import { requireScope } from "./auth";
import { errorResponse, json } from "./http";
import { ErrorBody } from "./schemas";

const security = [{ apiKey: [] as string[] }];

const RunBody = t.Object(
  {
    id: t.Integer(),
    trigger: t.String({ description: "schedule, startup, http, cli, import or first-run" }),
    startedAt: t.String({ format: "date-time" }),
    finishedAt: t.Nullable(t.String({ format: "date-time" })),
    status: t.String({ description: "running, succeeded, no_changes, failed or aborted_by_guard" }),
    version: t.Nullable(t.Integer({ description: "The dataset version after the run" })),
    counts: t.Record(t.String(), t.Any(), { description: "Per collection: fetched, added, changed, deleted, revived, unchanged, skipped, skippedReasons" }),
    error: t.Nullable(t.String()),
  },
  { title: "SyncRun" },
);

/** /api/internal: admin scope. Trigger a sync, list recent runs (SPEC §8). */
export function internalApi(store: Store, keys: Keys, sync: SyncService, log: Logger) {
  const runs = new Runs(store);
  return new Elysia({ name: "internal", prefix: "/api/internal" }).guard({ beforeHandle: requireScope(keys, "admin") }, (guarded) =>
    guarded
      .post(
        "/sync",
        async ({ query }) => {
          const force = query.force === "true" || query.force === "1";
          if (query.force !== undefined && !["true", "false", "1", "0"].includes(query.force)) {
            return errorResponse(400, `force must be true or false, got "${query.force}".`);
          }
          try {
            const { run, failure } = await sync.run("http", force);
            if (failure === null) return json(run, 200);
            if (failure === "internal") log.error("sync failed", { run: run.id, error: run.error });
            const status = failure === "guard" ? 422 : failure === "source" ? 502 : 500;
            return json({ error: run.error, run }, status);
          } catch (err) {
            if (err instanceof NompdError) return errorResponse(err.status, err.message);
            throw err;
          }
        },
        {
          query: t.Object({ force: t.Optional(t.String({ description: "true: let the sync delete more than --max-delete-share of a collection" })) }),
          response: {
            200: RunBody,
            400: ErrorBody,
            401: ErrorBody,
            403: ErrorBody,
            409: ErrorBody,
            422: t.Object({ error: t.String(), run: RunBody }),
            502: t.Object({ error: t.String(), run: RunBody }),
          },
          detail: {
            summary: "Run a sync now",
            description: "200 when it succeeded or changed nothing; 409 when a sync is already running; 502 when upstream failed; 422 when the mass-deletion guard stopped it.",
            tags: ["Admin"],
            security,
          },
        },
      )
      .get(
        "/sync",
        ({ query }) => {
          const limit = query.limit === undefined ? 20 : Number(query.limit);
          if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return errorResponse(400, `limit must be a whole number from 1 to 1000, got "${query.limit}".`);
          return json({ runs: runs.recent(limit) });
        },
        {
          query: t.Object({ limit: t.Optional(t.String({ description: "How many runs (1–1000, default 20)" })) }),
          response: { 200: t.Object({ runs: t.Array(RunBody) }), 400: ErrorBody, 401: ErrorBody, 403: ErrorBody },
          detail: { summary: "Recent sync runs, newest first", tags: ["Admin"], security },
        },
      ),
  );
}
