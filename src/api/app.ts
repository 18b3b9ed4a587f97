import { swagger } from "@elysiajs/swagger";
import { Elysia, type ValidationError } from "elysia";
import type { Store } from "../store/db";
import type { Keys } from "../store/keys";
import type { Logger } from "../log";
import type { SyncService } from "../sync/service";
import { requireScope } from "./auth";
import { consumerApi } from "./consumer";
import { withCors, type CorsOrigins } from "./cors";
import { healthApi } from "./health";
import { internalApi } from "./internal";
import { SCALAR_BUNDLE_PATH, swaggerUiAssets } from "./swaggerUi";
import { metricsApi, RequestMetrics, routeOf } from "./metrics";
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

/**
 * The HTTP application: every route group as a plugin, JSON errors everywhere, the OpenAPI document;
 * plus `routes`, the list endpoints for Bun.serve's native router (see consumerApi).
 */
export function createApp(deps: AppDeps) {
  const consumer = consumerApi(deps.store, deps.keys);
  const app = new Elysia()
    .onError(({ code, error, request }) => {
      if (code === "NOT_FOUND") {
        const path = new URL(request.url).pathname;
        const headers: Record<string, string> = path.startsWith("/api/v1/") ? { "x-nompd-dataset": deps.store.datasetId } : {};
        return errorResponse(404, `No such endpoint: ${request.method} ${path}. See /swagger for the API.`, headers);
      }
      if (code === "PARSE") return errorResponse(400, "The request body is not valid JSON.");
      if (code === "VALIDATION") {
        // Elysia checks a route's schemas before its beforeHandle: check the key here first, so that a
        // request without one still gets 401 whatever else is wrong with it.
        const path = new URL(request.url).pathname;
        const scope = path.startsWith("/api/internal/") ? "admin" : path.startsWith("/api/v1/") ? "read" : null;
        const headers: Record<string, string> = scope === "read" ? { "x-nompd-dataset": deps.store.datasetId } : {};
        const refused = scope ? requireScope(deps.keys, scope, headers)({ request }) : undefined;
        if (refused) return refused;
        const v = error as ValidationError;
        if (v.type === "params") {
          return errorResponse(400, "The path holds invalid percent-encoding (such as a lone %). Encode a % in an id as %25.", headers);
        }
        const where = v.valueError?.path ? ` ${v.valueError.path.replace(/^\//, "")}` : "";
        return errorResponse(400, `Invalid ${v.type}${where}: ${v.valueError?.message ?? "not readable"}.`, headers);
      }
      deps.log.error("request failed", { method: request.method, path: new URL(request.url).pathname, error: String((error as Error)?.stack ?? error) });
      return errorResponse(500, "Internal error; it has been logged. Please report it with the time of the request.");
    })
    .use(
      swagger({
        path: "/swagger",
        exclude: ["/swagger", "/swagger/json", SCALAR_BUNDLE_PATH],
        // The UI's script comes from the binary, and it fetches no web fonts, sends no telemetry and
        // offers none of its online services (AI agent, developer tools): /swagger works offline.
        scalarCDN: SCALAR_BUNDLE_PATH,
        scalarConfig: { withDefaultFonts: false, telemetry: false, showDeveloperTools: "never", agent: { disabled: true } } as never,
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
    .use(swaggerUiAssets())
    .use(healthApi(deps.store, deps.schedule ?? null))
    .use(consumer.plugin)
    .use(internalApi(deps.store, deps.keys, deps.sync, deps.log));
  return { app: deps.metrics === false ? app : app.use(metricsApi(deps.store, deps.requestMetrics ?? new RequestMetrics())), routes: consumer.listRoutes };
}


type Handler = (request: Request) => Response | Promise<Response>;

function pathOf(url: string): string {
  const pathStart = url.indexOf("/", url.indexOf("//") + 2);
  const queryStart = url.indexOf("?", pathStart);
  return url.slice(pathStart, queryStart === -1 ? undefined : queryStart);
}

/**
 * A handler timed into the request metrics (synchronous handlers stay synchronous). `route` names the
 * series when the caller knows it; otherwise it is worked out from the path.
 */
export function instrument(handler: Handler, metrics: RequestMetrics, route?: string): Handler {
  return (request) => {
    const start = performance.now();
    const answer = handler(request);
    if (answer instanceof Promise) {
      return answer.then((response) => {
        metrics.observe(route ?? routeOf(pathOf(request.url)), response.status, (performance.now() - start) / 1000);
        return response;
      });
    }
    metrics.observe(route ?? routeOf(pathOf(request.url)), answer.status, (performance.now() - start) / 1000);
    return answer;
  };
}

/** Options for Bun.serve: the list routes on the native router (GET), everything else through Elysia. */
export function serveOptions(created: ReturnType<typeof createApp>, metrics: RequestMetrics | null, cors: CorsOrigins | null = null) {
  const wrap = (h: Handler, route?: string) => withCors(metrics ? instrument(h, metrics, route) : h, cors);
  const fetch = wrap((request: Request) => created.app.handle(request));
  return {
    routes: {
      // OPTIONS (CORS preflights) of the list paths go the same way as every other request's.
      ...Object.fromEntries(Object.entries(created.routes).map(([path, handler]) => [path, { GET: wrap(handler, path), OPTIONS: fetch }])),
      // A sync answers when it is done, which may be minutes: no idle timeout for that one request.
      "/api/internal/sync": {
        POST: (request: Request, server: { timeout(request: Request, seconds: number): void }) => {
          server.timeout(request, 0);
          return fetch(request);
        },
      },
    },
    fetch,
  };
}

