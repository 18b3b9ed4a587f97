import type { TObject, TSchema } from "@sinclair/typebox";
import type { Server } from "bun";
import { NompdError, UsageError } from "../errors";
import type { Logger } from "../log";
import type { Store, StoreState } from "../store/db";
import type { Scope } from "../store/keys";
import { datasetHeaders } from "./answers";
import type { Authenticator, Caller } from "./auth";
import type { Cors } from "./cors";
import { errorAnswer, errorResponse } from "./http";
import { OTHER_ROUTE, type RequestMetrics } from "./metrics";
import { queryReader, searchParams, type Query } from "./query";

export type Method = "GET" | "POST" | "DELETE";

export interface ResponseDoc {
  description: string;
  /** The body's schema; none for an empty body (304). */
  schema?: TSchema;
}

/** What a handler gets: the request, read and checked by the route's schemas and scope. */
export interface RequestContext {
  request: Request;
  query: Query;
  params: Record<string, string>;
  caller: Caller | null;
  /** The dataset as this request sees it (one look at the file per request). */
  state: StoreState;
  server: Server<unknown> | null;
}

/**
 * One route: everything the server, the OpenAPI document and the metrics know of it. The edge
 * (compile) applies the same chain to every route: key check, query and path reading, idle timeout,
 * error answers, dataset headers, CORS and metrics.
 */
export interface RouteDef {
  method: Method;
  /** A path template, `:name` for a path parameter. */
  path: string;
  /** The key scope needed, or null for no key. */
  scope: Scope | null;
  /** Answers carry X-Nompd-Dataset (and X-Nompd-Sample while the sample is served): the /api/v1 routes. */
  dataset?: boolean;
  /** Query parameters: every other parameter is refused with 400. */
  query?: TObject;
  /** Path parameters, for the document. */
  params?: TObject;
  summary: string;
  description?: string;
  tags: string[];
  /** Documented responses; 400, 401 and 403 are added from `query`, `params` and `scope`. */
  responses: Record<number, ResponseDoc>;
  /** Seconds this request may stay idle (0: no limit); undefined: the server's idle timeout. */
  idleTimeout?: (query: Query) => number | undefined;
  /** Left out of the OpenAPI document. */
  hidden?: boolean;
  handle(ctx: RequestContext): Response | Promise<Response>;
}

export type Handler = (request: Request, params: Record<string, string> | undefined, server: Server<unknown> | null) => Response | Promise<Response>;

export interface EdgeDeps {
  store: Store;
  auth: Authenticator;
  cors: Cors | null;
  metrics: RequestMetrics | null;
  log: Logger;
}

const BAD_PERCENT = "The path holds invalid percent-encoding (such as a lone %). Encode a % in an id as %25.";

/** Refuses a path whose percent-encoding is broken (Bun's router would pass it on with U+FFFD in it). */
function checkPercentEncoding(url: string): void {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  const end = url.indexOf("?", start);
  const path = url.slice(start, end === -1 ? undefined : end);
  if (!path.includes("%")) return;
  try {
    decodeURIComponent(path);
  } catch {
    throw new UsageError(BAD_PERCENT);
  }
}

/** The answer to anything a handler threw: a NompdError as it says; anything else is logged, 500. */
export function failure(err: unknown, request: Request, deps: EdgeDeps, headers: Record<string, string>): Response {
  if (err instanceof NompdError) return errorAnswer(err, headers);
  deps.log.error("request failed", { method: request.method, path: new URL(request.url).pathname, error: String((err as Error)?.stack ?? err) });
  return errorResponse(500, "Internal error; it has been logged. Please report it with the time of the request.", headers);
}

/** The chain every route runs, compiled once per route into a plain (request) => Response. */
export function compile(route: RouteDef, deps: EdgeDeps): Handler {
  const reader = queryReader(route.query);
  const { store, auth, cors, metrics } = deps;
  return (request, rawParams, server) => {
    const start = metrics ? performance.now() : 0;
    const state = store.state();
    const finish = (response: Response): Response => {
      if (cors) cors.decorate(request, response);
      if (metrics) metrics.observe(route.path, route.method, response.status, (performance.now() - start) / 1000);
      return response;
    };
    const fail = (err: unknown) => finish(failure(err, request, deps, route.dataset ? datasetHeaders(state) : {}));
    let answer: Response | Promise<Response>;
    try {
      const search = searchParams(request.url);
      const caller = route.scope ? auth.check(request, search, route.scope, state.generation) : null;
      const query = reader.read(search);
      if (route.params) checkPercentEncoding(request.url);
      // Decoded by the router.
      const params = rawParams ?? {};
      const idle = route.idleTimeout?.(query);
      if (idle !== undefined && server) server.timeout(request, idle);
      answer = route.handle({ request, query, params, caller, state, server });
    } catch (err) {
      return fail(err);
    }
    return answer instanceof Promise ? answer.then(finish, fail) : finish(answer);
  };
}

/** A path template as a pattern: `:name` matches one path segment. */
function pattern(path: string): RegExp {
  return new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/:[A-Za-z]+/g, "[^/]+")}/?$`);
}

/**
 * What no route answers: a known path with another method (405 with Allow; OPTIONS answered with Allow,
 * or as a CORS preflight; HEAD as GET without a body), or an unknown path (404).
 */
export function fallback(routes: RouteDef[], handlers: Map<RouteDef, Handler>, deps: EdgeDeps) {
  const paths = new Map<string, { regex: RegExp; routes: RouteDef[] }>();
  for (const route of routes) {
    const known = paths.get(route.path) ?? { regex: pattern(route.path), routes: [] };
    known.routes.push(route);
    paths.set(route.path, known);
  }
  return async (request: Request, server: Server<unknown> | null): Promise<Response> => {
    const start = deps.metrics ? performance.now() : 0;
    const url = new URL(request.url);
    const path = url.pathname;
    // A static path beats a template (/api/v1/fhir/PlanDefinition before /api/v1/fhir/:type).
    const matches = [...paths.entries()].filter(([, p]) => p.regex.test(path)).sort(([a], [b]) => (a.includes(":") ? 1 : 0) - (b.includes(":") ? 1 : 0));
    const known = matches[0]?.[1];
    const finish = (response: Response, route: string) => {
      if (deps.cors) deps.cors.decorate(request, response);
      deps.metrics?.observe(route, request.method, response.status, (performance.now() - start) / 1000);
      return response;
    };
    if (!known) {
      return finish(errorResponse(404, `No such endpoint: ${request.method} ${path}. See /swagger for the API.`, path.startsWith("/api/v1/") ? datasetHeaders(deps.store.state()) : {}), OTHER_ROUTE);
    }
    const template = matches[0]![0];
    const methods = known.routes.map((r) => r.method);
    const route = known.routes.find((r) => r.method === request.method);
    if (route) {
      // The path has the route's shape, yet the router passed it on: a parameter it could not decode.
      return finish(errorResponse(400, BAD_PERCENT, route.dataset ? datasetHeaders(deps.store.state()) : {}), template);
    }
    const allow = [...methods, ...(methods.includes("GET") ? ["HEAD"] : []), "OPTIONS"].join(", ");
    if (request.method === "HEAD" && methods.includes("GET")) {
      const get = known.routes.find((r) => r.method === "GET")!;
      const params = paramsOf(template, path);
      const full = await handlers.get(get)!(new Request(request.url, { method: "GET", headers: request.headers }), params, server);
      return new Response(null, { status: full.status, headers: full.headers });
    }
    if (request.method === "OPTIONS") {
      const preflight = deps.cors?.preflight(request, known.routes.map((r) => r.method).join(", "));
      return finish(preflight ?? new Response(null, { status: 204, headers: { allow } }), template);
    }
    const dataset = known.routes.some((r) => r.dataset) ? datasetHeaders(deps.store.state()) : {};
    return finish(errorResponse(405, `${request.method} is not allowed on ${path}. Allowed: ${allow}.`, { ...dataset, allow }), template);
  };
}

function paramsOf(template: string, path: string): Record<string, string> {
  const names = template.split("/");
  const values = path.split("/");
  const out: Record<string, string> = {};
  names.forEach((n, i) => {
    if (n.startsWith(":")) out[n.slice(1)] = values[i] ?? "";
  });
  return out;
}
