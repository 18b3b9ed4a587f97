import type { TObject, TSchema } from "@sinclair/typebox";
import { carriesDataset, type ResponseDoc, type RouteDef } from "./edge";
import { ErrorBody, namedSchemas } from "./schemas";

/**
 * The OpenAPI 3.1 document, generated from the route table and the schemas: nothing in it is written by
 * hand twice. Every schema with an `$id` is a named component, referred to by `$ref` wherever it is
 * used; every response has a description and one content type (JSON).
 */

type Json = Record<string, unknown>;

/** A schema as plain JSON Schema 2020-12, nested named schemas replaced by references. */
function toOpenApiSchema(schema: TSchema, root = true): Json {
  const walk = (node: unknown, isRoot: boolean): unknown => {
    if (Array.isArray(node)) return node.map((n) => walk(n, false));
    if (node === null || typeof node !== "object") return node;
    const obj = node as Json;
    if (!isRoot && typeof obj.$id === "string") return { $ref: `#/components/schemas/${obj.$id}` };
    const out: Json = {};
    for (const [k, v] of Object.entries(obj)) {
      if (k === "$id") continue;
      // Examples are data, not schemas.
      out[k] = k === "examples" || k === "default" ? v : k === "properties" ? Object.fromEntries(Object.entries(v as Json).map(([p, s]) => [p, walk(s, false)])) : walk(v, false);
    }
    return out;
  };
  return walk(JSON.parse(JSON.stringify(schema)), root) as Json;
}

function ref(schema: TSchema): Json {
  return typeof schema.$id === "string" ? { $ref: `#/components/schemas/${schema.$id}` } : toOpenApiSchema(schema);
}

function parameters(where: "query" | "path", schema: TObject | undefined): Json[] {
  if (!schema) return [];
  return Object.entries(schema.properties).map(([name, s]) => {
    const { description, ...rest } = toOpenApiSchema(s as TSchema);
    return { name, in: where, required: where === "path", ...(description ? { description } : {}), schema: rest };
  });
}

const STATUS_TEXT: Record<number, string> = {
  400: "Bad request: a query or path parameter is unknown, repeated or invalid (the error says which)",
  401: "No valid API key in the X-API-KEY header",
  403: "The key has read scope; this needs admin scope",
  413: "The body is larger than this endpoint accepts",
  415: "The body is not sent as application/json",
};

/** The OpenAPI operation of one route. */
export function operationOf(route: RouteDef): Json {
  const responses: Record<number, ResponseDoc> = { ...route.responses };
  if (route.body) responses[400] ??= { description: "Bad request: a parameter or a field of the body is unknown, missing or invalid (the error says which)", schema: ErrorBody };
  // Every route refuses unknown query parameters.
  responses[400] ??= { description: STATUS_TEXT[400]!, schema: ErrorBody };
  if (route.scope) responses[401] ??= { description: STATUS_TEXT[401]!, schema: ErrorBody };
  if (route.scope === "admin") responses[403] ??= { description: STATUS_TEXT[403]!, schema: ErrorBody };
  if (route.body) {
    responses[413] ??= { description: STATUS_TEXT[413]!, schema: ErrorBody };
    responses[415] ??= { description: STATUS_TEXT[415]!, schema: ErrorBody };
  }
  const dataset = carriesDataset(route.path);
  const headersOf = (status: number): Json | undefined => {
    const h: Json = {};
    if (dataset) {
      h["X-Nompd-Dataset"] = { $ref: "#/components/headers/Dataset" };
      h["X-Nompd-Sample"] = { $ref: "#/components/headers/Sample" };
      h["X-Nompd-Diff-Floor"] = { $ref: "#/components/headers/DiffFloor" };
    }
    // What a GET answers with a body other than an error is a prepared body, tagged, and so is its 304.
    const tagged = status === 304 || (responses[status]?.schema ?? ErrorBody) !== ErrorBody;
    if (dataset && tagged && route.method === "GET") h.ETag = { $ref: "#/components/headers/ETag" };
    if (status === 401) h["WWW-Authenticate"] = { $ref: "#/components/headers/WwwAuthenticate" };
    return Object.keys(h).length ? h : undefined;
  };
  return {
    operationId: operationId(route),
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: route.tags,
    ...(route.scope ? { security: [{ apiKey: [] }] } : { security: [] }),
    parameters: [...parameters("path", route.params), ...parameters("query", route.query)],
    ...(route.body ? { requestBody: { required: true, content: { "application/json": { schema: ref(route.body) } } } } : {}),
    responses: Object.fromEntries(
      Object.entries(responses)
        .sort(([a], [b]) => Number(a) - Number(b))
        .map(([status, r]) => {
          const headers = headersOf(Number(status));
          const body = r.schema ? { content: { [r.contentType ?? "application/json"]: { schema: ref(r.schema) } } } : {};
          return [status, { description: r.description, ...(headers ? { headers } : {}), ...body }];
        }),
    ),
  };
}

function operationId(route: RouteDef): string {
  const words = route.path
    .split("/")
    .filter((p) => p !== "" && p !== "api" && p !== "v1")
    .map((p) => (p.startsWith(":") ? `By${p[1]!.toUpperCase()}${p.slice(2)}` : p[0]!.toUpperCase() + p.slice(1)));
  return route.method.toLowerCase() + words.join("");
}

/**
 * The document's top: everything but the paths, which the framework adds from the routes. Its components
 * are made when the document is first asked for (the framework reads them then), not when Nompd starts.
 */
export function documentation(version: string): Json {
  let components: Json | null = null;
  return {
    openapi: "3.1.0",
    info: {
      title: "Nompd API",
      version,
      description:
        "Norwegian H-resept treatment groups and reimbursement authorizations from the national FHIR APIs, versioned. " +
        "Fetch a list once, keep its currentVersion, then ask for ?sinceVersion=N to get only the changes.",
      license: { name: "Proprietary", identifier: "LicenseRef-Proprietary" },
    },
    servers: [{ url: "/", description: "This server" }],
    tags: [
      { name: "Consumer", description: "Read API (X-API-KEY with read or admin scope)" },
      { name: "Raw FHIR", description: "The upstream resources as they were received (X-API-KEY with read or admin scope)" },
      { name: "Admin", description: "Sync, run history and API keys (X-API-KEY with admin scope)" },
      { name: "Operations", description: "Health and metrics, no key needed" },
    ],
    get components(): Json {
      return (components ??= {
        securitySchemes: { apiKey: { type: "apiKey", in: "header", name: "X-API-KEY", description: "A key made with 'nompd keys create NAME'" } },
        headers: {
          Dataset: { description: "The dataset id: when it changes, the database was replaced; fetch everything again", required: true, schema: { type: "string", format: "uuid" } },
          Sample: { description: "true while the embedded sample dataset (invented data) is served; absent otherwise", schema: { type: "string", enum: ["true"] } },
          DiffFloor: {
            description: "Once history was pruned or the sample replaced: sinceVersion N with 0 < N < this gets 410 (start over); absent otherwise",
            schema: { type: "string", pattern: "^[0-9]+$" },
          },
          ETag: { description: "A weak validator of the body; send it in If-None-Match to get 304", required: true, schema: { type: "string" } },
          WwwAuthenticate: { description: 'The scheme the API wants: ApiKey header="X-API-KEY"', required: true, schema: { type: "string" } },
        },
        schemas: Object.fromEntries(namedSchemas().map((s) => [s.$id as string, toOpenApiSchema(s)])),
      });
    },
  };
}
