import { swagger } from "@elysiajs/swagger";
import { Elysia } from "elysia";
import type { Store } from "../store/db";
import type { Keys } from "../store/keys";
import type { Logger } from "../log";
import type { SyncService } from "../sync/service";
import { consumerApi } from "./consumer";
import { healthApi } from "./health";
import { internalApi } from "./internal";
import { metricsApi, RequestMetrics } from "./metrics";
import { errorResponse } from "./http";

export interface AppDeps {
  store: Store;
  keys: Keys;
  log: Logger;
  sync: SyncService;
  version: string;
  /** The sync schedule, when one runs: shown by /health. */
  schedule?: { cron: string; timeZone: string } | null;
  /** Serve GET /metrics (default true). */
  metrics?: boolean;
  /** Request counters for /metrics; the server feeds them (see instrument()). */
  requestMetrics?: RequestMetrics;
}

/** The HTTP application: every route group as a plugin, JSON errors everywhere, the OpenAPI document. */
export function createApp(deps: AppDeps) {
  const app = new Elysia()
    .onError(({ code, error, request }) => {
      if (code === "NOT_FOUND") {
        return errorResponse(404, `No such endpoint: ${request.method} ${new URL(request.url).pathname}. See /swagger for the API.`);
      }
      if (code === "PARSE") return errorResponse(400, "The request body is not valid JSON.");
      if (code === "VALIDATION") return errorResponse(400, `Invalid request: ${(error as Error).message}`);
      deps.log.error("request failed", { method: request.method, path: new URL(request.url).pathname, error: String((error as Error)?.stack ?? error) });
      return errorResponse(500, "Internal error; it has been logged. Please report it with the time of the request.");
    })
    .use(
      swagger({
        path: "/swagger",
        exclude: ["/swagger", "/swagger/json"],
        documentation: {
          info: {
            title: "Nompd API",
            version: deps.version,
            description:
              "Norwegian H-resept treatment groups and reimbursement authorizations from the national FHIR APIs, versioned. " +
              "Fetch a list once, keep its currentVersion, then ask for ?sinceVersion=N to get only the changes.",
          },
          tags: [
            { name: "Consumer", description: "Read API (X-API-KEY with read or admin scope)" },
            { name: "Admin", description: "Sync and run history (X-API-KEY with admin scope)" },
            { name: "Operations", description: "Health, no key needed" },
          ],
          components: {
            securitySchemes: { apiKey: { type: "apiKey", in: "header", name: "X-API-KEY", description: "A key made with 'nompd keys create NAME'" } },
          },
        },
      }),
    )
    .use(healthApi(deps.store, deps.schedule ?? null))
    .use(consumerApi(deps.store, deps.keys))
    .use(internalApi(deps.store, deps.keys, deps.sync, deps.log));
  return deps.metrics === false ? app : app.use(metricsApi(deps.store, deps.requestMetrics ?? new RequestMetrics()));
}

/** The server's fetch handler: the app, timed into the request metrics. */
export function instrument(app: { handle(request: Request): Promise<Response> }, metrics: RequestMetrics) {
  return async (request: Request): Promise<Response> => {
    const start = performance.now();
    const response = await app.handle(request);
    const url = request.url;
    const pathStart = url.indexOf("/", url.indexOf("//") + 2);
    const queryStart = url.indexOf("?", pathStart);
    metrics.observe(url.slice(pathStart, queryStart === -1 ? undefined : queryStart), response.status, (performance.now() - start) / 1000);
    return response;
  };
}

export type App = ReturnType<typeof createApp>;
