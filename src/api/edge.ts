import type { TObject, TSchema } from "@sinclair/typebox";
import type { Server } from "bun";
import { NompdError, UsageError } from "../errors";
import type { Logger } from "../log";
import type { Store, StoreState } from "../store/db";
import type { Scope } from "../models";
import { datasetHeaders } from "./answers";
import { urlKeyParameter, type Authenticator, type Caller } from "./auth";
import type { Cors } from "./cors";
import { readBody } from "./body";
import { bodyLength, errorAnswer, errorResponse, recordBodyLengths } from "./http";
import { OTHER_ROUTE, type RequestMetrics } from "./metrics";
import { API_PREFIX } from "./paths";
import { paramsReader, queryReader, type Query } from "./query";

export type Method = "GET" | "POST" | "DELETE";

export interface ResponseDoc {
  description: string;
  /** The body's schema; none for an empty body (304). */
  schema?: TSchema;
  /** The body's media type (default application/json). */
  contentType?: string;
}

/** What a handler gets: the request, read and checked by the route's schemas and scope. */
export interface RequestContext {
  request: Request;
  query: Query;
  /** The path parameters, read by the route's `params` schema. */
  params: Query;
  /** The JSON body, read and checked by the route's `body` schema; undefined for routes without one. */
  body: Record<string, unknown> | undefined;
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
  /** Query parameters: every other parameter is refused with 400. */
  query?: TObject;
  /** Path parameters: each `:name` of the path, read by this schema (a wrong value is refused with 400). */
  params?: TObject;
  /**
   * A JSON request body: an object this schema accepts, with no other property (400), sent as
   * application/json (415). Documented as the operation's requestBody.
   */
  body?: TObject;
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

/** Answers under /api/v1 carry X-Nompd-Dataset (and X-Nompd-Sample while the sample is served). */
export function carriesDataset(path: string): boolean {
  return path.startsWith(`${API_PREFIX}/`);
}

export type Handler = (request: Request, params: Record<string, string> | undefined, server: Server<unknown> | null) => Response | Promise<Response>;

/** One line of the access log (--access-log): never the key, only its name. */
interface AccessEntry {
  time: string;
  method: string;
  path: string;
  status: number;
  /** Bytes of the body sent (compressed, when it was), or null when not known. */
  bytes: number | null;
  ms: number;
  key: string | null;
}

export interface EdgeDeps {
  store: Store;
  auth: Authenticator;
  cors: Cors | null;
  metrics: RequestMetrics | null;
  log: Logger;
  /** Where access log lines go, or null when there is no access log. */
  access: ((entry: AccessEntry) => void) | null;
}

/**
 * What every answer gets on its way out, routed or not: CORS headers, the request metrics under the
 * route's template, and the access log line. `start` reads the clock when a request begins, only when
 * the metrics or the access log will use it.
 */
function finisher(deps: EdgeDeps) {
  const { cors, metrics, access } = deps;
  if (access) recordBodyLengths();
  const start = metrics || access ? () => performance.now() : () => 0;
  const done = (request: Request, response: Response, route: string, start: number, caller: Caller | null): Response => {
    if (cors) cors.decorate(request, response);
    if (metrics || access) {
      const ms = performance.now() - start;
      metrics?.observe(route, request.method, response.status, ms / 1000);
      if (access) {
        const url = request.url;
        access({
          time: new Date().toISOString(),
          method: request.method,
          path: url.slice(url.indexOf("/", url.indexOf("//") + 2)),
          status: response.status,
          bytes: bodyLength(response),
          ms: Math.round(ms * 100) / 100,
          key: caller?.name ?? null,
        });
      }
    }
    return response;
  };
  return { start, done };
}

const BAD_PERCENT = "The path holds invalid percent-encoding (such as a lone %). Encode a % in an id as %25.";

/** Refuses a path whose percent-encoding is broken (Bun's router would pass it on with U+FFFD in it). */
function checkPercentEncoding(url: string): void {
  if (!url.includes("%")) return;
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

/**
 * The answer to anything a handler threw: a NompdError as it says; anything else is logged, 500.
 * `labels`: the dataset headers, for an answer under /api/v1.
 */
export function failure(err: unknown, request: Request, log: Logger, labels: Record<string, string> = NO_LABELS): Response {
  if (err instanceof NompdError) return errorAnswer(err, labels);
  log.error("request failed", { method: request.method, path: new URL(request.url).pathname, error: String((err as Error)?.stack ?? err) });
  return errorResponse(500, "Internal error; it has been logged. Please report it with the time of the request.", labels);
}

const NO_LABELS: Record<string, string> = Object.freeze({});

/**
 * The edge's own answers under /api/v1 (errors, 404, 405, OPTIONS) carry the dataset headers as the
 * routes' answers do (prepared bodies made with datasetHeaders): these, for the state given, or for the
 * dataset as it is now.
 */
function labelsOf(store: Store, dataset: boolean, state: StoreState | null = null): Record<string, string> {
  return dataset ? datasetHeaders(state ?? store.state()) : NO_LABELS;
}

/** The chain every route runs, compiled once per route into a plain (request) => Response. */
export function compile(route: RouteDef, deps: EdgeDeps): Handler {
  const reader = queryReader(route.query, urlKeyParameter);
  const readParams = paramsReader(route.params);
  // Path parameters come decoded from the router: their encoding is checked first.
  const hasParams = route.path.includes(":");
  const dataset = carriesDataset(route.path);
  for (const name of route.path.match(/(?<=:)[A-Za-z]+/g) ?? []) {
    if (!route.params?.properties[name]) throw new Error(`${route.method} ${route.path}: the path parameter ${name} has no schema in params`);
  }
  const { store, auth } = deps;
  const { start: clock, done } = finisher(deps);
  return (request, rawParams, server) => {
    const start = clock();
    const state = store.state();
    let caller: Caller | null = null;
    let answer: Response | Promise<Response>;
    try {
      const read = reader.read(request.url);
      const admitted = route.scope ? auth.check(request, read.keyParameter, route.scope, state.generation) : null;
      if (admitted instanceof NompdError) {
        answer = errorAnswer(admitted, labelsOf(store, dataset, state));
      } else {
        caller = admitted;
        if (read.query instanceof UsageError) throw read.query;
        const query = read.query;
        if (hasParams) checkPercentEncoding(request.url);
        const params = readParams(rawParams);
        const idle = route.idleTimeout?.(query);
        if (idle !== undefined && server) server.timeout(request, idle);
        const schema = route.body;
        answer = schema
          ? readBody(request, schema).then((body) => route.handle({ request, query, params, body, caller, state, server }))
          : route.handle({ request, query, params, body: undefined, caller, state, server });
      }
    } catch (err) {
      return done(request, failure(err, request, deps.log, labelsOf(store, dataset, state)), route.path, start, caller);
    }
    if (!(answer instanceof Promise)) return done(request, answer, route.path, start, caller);
    // An error after a wait (a long poll may end because the dataset was replaced) is labelled with the
    // dataset it ends on, not the one the request began with.
    return answer.then(
      (response) => done(request, response, route.path, start, caller),
      (err) => done(request, failure(err, request, deps.log, labelsOf(store, dataset)), route.path, start, caller),
    );
  };
}

/** A path template as a pattern: `:name` matches one path segment. */
function pattern(path: string): RegExp {
  return new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/:[A-Za-z]+/g, "[^/]+")}/?$`);
}

/**
 * What no route answers: a known path with another method (405 with Allow; OPTIONS answered with Allow,
 * or as a CORS preflight), or an unknown path (404). (HEAD needs nothing here: Bun's router answers it
 * with the GET route, without the body.)
 */
export function fallback(routes: RouteDef[], deps: EdgeDeps) {
  const byPath = new Map<string, Method[]>();
  for (const route of routes) byPath.set(route.path, [...(byPath.get(route.path) ?? []), route.method]);
  // A static path beats a template (/api/v1/fhir/PlanDefinition before /api/v1/fhir/:type).
  const paths = [...byPath]
    .sort(([a], [b]) => Number(a.includes(":")) - Number(b.includes(":")))
    .map(([template, methods]) => ({
      template,
      regex: pattern(template),
      methods: new Set<string>(methods),
      listed: methods.join(", "),
      allow: [...methods, ...(methods.includes("GET") ? ["HEAD"] : []), "OPTIONS"].join(", "),
      dataset: carriesDataset(template),
    }));
  const { start: clock, done } = finisher(deps);
  return (request: Request): Response => {
    const start = clock();
    const path = new URL(request.url).pathname;
    const known = paths.find((p) => p.regex.test(path));
    if (!known) {
      const labels = labelsOf(deps.store, carriesDataset(path));
      return done(request, errorResponse(404, `No such endpoint: ${request.method} ${path}. See /swagger for the API.`, labels), OTHER_ROUTE, start, null);
    }
    const finish = (response: Response) => done(request, response, known.template, start, null);
    const labels = labelsOf(deps.store, known.dataset);
    if (known.methods.has(request.method)) {
      // The path has the route's shape, yet the router passed it on: a parameter it could not decode.
      return finish(errorResponse(400, BAD_PERCENT, labels));
    }
    const allow = known.allow;
    if (request.method === "OPTIONS") {
      const preflight = deps.cors?.preflight(request, known.listed, labels);
      return finish(preflight ?? new Response(null, { status: 204, headers: { allow, ...labels } }));
    }
    return finish(errorResponse(405, `${request.method} is not allowed on ${path}. Allowed: ${allow}.`, { allow, ...labels }));
  };
}
