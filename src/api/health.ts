import { Elysia, t } from "elysia";
import type { Store } from "../store/db";
import { Runs } from "../store/runs";
import { nextRun } from "../sync/cron";
import { json } from "./http";

const HealthBody = t.Object(
  {
    currentVersion: t.Integer(),
    lastSuccessfulSync: t.Nullable(t.String({ format: "date-time" })),
    lastRunStatus: t.Nullable(t.String()),
    nextScheduledSync: t.Nullable(t.String({ format: "date-time", description: "null when no schedule runs" })),
  },
  { examples: [{ currentVersion: 5, lastSuccessfulSync: "2025-04-10T08:30:00Z", lastRunStatus: "succeeded", nextScheduledSync: "2025-04-11T00:00:00Z" }] },
);

/** GET /health (liveness) and GET /health/ready (a successful sync is in the file). No key needed. */
export function healthApi(store: Store, schedule: { cron: string; timeZone: string } | null) {
  const runs = new Runs(store);
  const facts = () => {
    const last = runs.recent(1)[0] ?? null;
    const lastOk = runs.lastSuccessful();
    return {
      currentVersion: store.currentVersion(),
      lastSuccessfulSync: lastOk?.finishedAt ?? null,
      lastRunStatus: last?.status ?? null,
      nextScheduledSync: schedule ? nextRun(schedule.cron, schedule.timeZone) : null,
    };
  };
  return new Elysia({ name: "health" })
    .get("/health", () => json(facts()), {
      response: { 200: HealthBody },
      detail: { summary: "Liveness", tags: ["Operations"] },
    })
    .get(
      "/health/ready",
      () => {
        const f = facts();
        return json(f, f.lastSuccessfulSync !== null ? 200 : 503);
      },
      {
        response: { 200: HealthBody, 503: HealthBody },
        detail: { summary: "Readiness: 200 once the database holds a successful sync, else 503", tags: ["Operations"] },
      },
    );
}
