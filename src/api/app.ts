import { swagger } from "@elysiajs/swagger";
import { Elysia } from "elysia";
import type { Logger } from "../log";
import type { Store } from "../store/db";
import type { SyncService } from "../sync/service";
import { Answers } from "./answers";
import type { Authenticator } from "./auth";
import { cors, type CorsOrigins } from "./cors";
import { compile, failure, fallback, type EdgeDeps } from "./edge";
import { LongPolls } from "./longPoll";
import { RequestMetrics } from "./metrics";
import { documentation, operationOf } from "./openapi";
import { routeTable } from "./routes";
import { SCALAR_BUNDLE_PATH, swaggerUiAssets } from "./swaggerUi";

export interface AppDeps {
  store: Store;
  auth: Authenticator;
  log: Logger;
  sync: SyncService;
  build: { version: string; commit: string };
  /** The sync schedule, when one runs: shown by /health. */
  schedule?: { cron: string; timeZone: string } | null;
  /** Serve GET /metrics (default true). */
  metrics?: boolean;
  cors?: CorsOrigins | null;
  /** Bytes all cached answers may hold together (--cache-mib). */
  cacheBytes: number;
  /** Where access log lines go (--access-log), or none. */
  access?: EdgeDeps["access"];
  /** --follow-max-lag in seconds: on a replica, how old its data may be while /health/ready answers 200. */
  followMaxLag: number;
}

/**
 * The HTTP application. The route table (routes.ts) is the one list of endpoints: each route is compiled
 * once through the edge's chain (edge.ts) and registered with Elysia, which publishes it in the OpenAPI
 * document and answers it through `app.handle`; once listening, Bun's router calls the same chain
 * directly (Elysia's `serve.routes`). What matches no route (a wrong method, OPTIONS, an unknown path) is
 * answered by the same edge.
 */
export function createApp(deps: AppDeps) {
  const answers = new Answers(deps.store, deps.cacheBytes);
  const metrics = deps.metrics === false ? null : new RequestMetrics();
  const polls = new LongPolls(deps.store);
  const routes = routeTable({ store: deps.store, answers, sync: deps.sync, log: deps.log, schedule: deps.schedule ?? null, metrics, build: deps.build, polls, followMaxLag: deps.followMaxLag });
  const edge: EdgeDeps = { store: deps.store, auth: deps.auth, cors: cors(deps.cors ?? null), metrics, log: deps.log, access: deps.access ?? null };
  const unmatched = fallback(routes, edge);

  const handlers = routes.map((route) => ({ route, handler: compile(route, edge) }));
  // Bun's router calls each route's compiled chain directly (Elysia's `serve.routes`, merged over the
  // routes Elysia maps itself): the chain needs none of Elysia's per-request context, whose making was
  // part of what the small answers cost before (bench/chain.ts; docs/PERFORMANCE.md, small answers).
  const native: Record<string, Record<string, (request: Request & { params?: Record<string, string> }, server: import("bun").Server<unknown>) => Response | Promise<Response>>> = {};
  for (const { route, handler } of handlers) (native[route.path] ??= {})[route.method] = (request, server) => handler(request, request.params, server);
  const app = new Elysia({ name: "nompd", serve: { routes: native as never } })
    .onError(({ code, error, request }) => {
      if (code === "NOT_FOUND") return unmatched(request);
      return failure(error, request, deps.log);
    })
    .use(
      swagger({
        path: "/swagger",
        exclude: ["/swagger", "/swagger/json", SCALAR_BUNDLE_PATH],
        // The UI's script comes from the binary, and it fetches no web fonts, sends no telemetry and
        // offers none of its online services (AI agent, developer tools): /swagger works offline. The
        // document's URL is absolute, so that /swagger/ finds it too.
        scalarCDN: SCALAR_BUNDLE_PATH,
        scalarConfig: { spec: { url: "/swagger/json" }, withDefaultFonts: false, telemetry: false, showDeveloperTools: "never", agent: { disabled: true } } as never,
        documentation: documentation(deps.build.version) as never,
      }),
    )
    .use(swaggerUiAssets());
  for (const { route, handler } of handlers) {
    app.route(route.method, route.path, ({ request, params, server }) => handler(request, params as Record<string, string>, server ?? null), {
      detail: route.hidden ? { hide: true } : (operationOf(route) as never),
    });
  }
  return { app, polls };
}
