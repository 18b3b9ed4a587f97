import { Elysia, t } from "elysia";
import { z } from "zod";
import { UsageError } from "../errors";
import { ALL_COLLECTIONS, RAW_COLLECTIONS, type Collection, type OutputCollection } from "../convert/dataset";
import type { Store } from "../store/db";
import { Documents, type DocumentRow } from "../store/documents";
import type { Keys } from "../store/keys";
import { requireScope } from "./auth";
import { FILTER_NAMES, FILTERS, type FilterName } from "./filters";
import { errorResponse, PreparedBody, sendJson } from "./http";
import {
  envelopeOf,
  ErrorBody,
  INVALID_KEY_EXAMPLE,
  NATALIZUMAB_EXAMPLE,
  REIMBURSEMENT_EXAMPLE,
  VersionedRawResource,
  VersionedReimbursementGroup,
  VersionedTreatmentGroup,
} from "./schemas";
import { envelopeJson, LiveLists, versionedItemJson } from "./views";

// Digits only. A number too long to hold exactly is still a whole number: it is read as the largest
// safe integer, which is greater than any version, so it gets the "newer than current" answer.
const wholeNumber = z
  .string()
  .regex(/^\d+$/)
  .transform((digits) => (digits.length > 15 ? Number.MAX_SAFE_INTEGER : Number(digits)));

type Query = Record<string, string | string[] | undefined>;

/** A whole number ≥ 0 from the query, or undefined when absent; the message names what is allowed. */
export function versionParam(query: Query, name: string): number | undefined {
  const raw = single(query, name);
  if (raw === undefined) return undefined;
  const parsed = wholeNumber.safeParse(raw);
  if (!parsed.success) throw new UsageError(`${name} must be a whole number ≥ 0 (a currentVersion of an earlier answer), got "${raw}".`);
  return parsed.data;
}

/**
 * The query exactly as sent (Elysia's parsed query drops parameters its schema does not name, and
 * empty values): unknown, repeated and empty parameters must be seen to be refused.
 */
function rawQuery(request: Request): Query {
  const url = request.url;
  const at = url.indexOf("?");
  const query: Query = {};
  if (at === -1) return query;
  for (const [name, value] of new URLSearchParams(url.slice(at + 1))) {
    const prev = query[name];
    query[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return query;
}

function single(query: Query, name: string): string | undefined {
  const v = query[name];
  if (Array.isArray(v)) throw new UsageError(`Give ${name} once (it was given ${v.length} times).`);
  return v;
}

function checkKnown(query: Query, allowed: readonly string[]): void {
  for (const name of Object.keys(query)) {
    if (!allowed.includes(name)) {
      throw new UsageError(`Unknown query parameter "${name}". Allowed here: ${allowed.length ? allowed.join(", ") : "none"}.`);
    }
  }
}

const security = [{ apiKey: [] as string[] }];
const unauthorized = t.Object({ error: t.Literal("Invalid or missing API key.") }, { examples: [INVALID_KEY_EXAMPLE] });

const versionDoc = {
  sinceVersion:
    "Whole number ≥ 0. Only items whose version is greater, deleted ones included (isDeleted: true), ordered by version then id. 0 gives every item that ever existed. Not combinable with filters or asOfVersion.",
  asOfVersion: "Whole number ≥ 0, at most currentVersion. The live items as they stood at that dataset version (currentVersion in the answer stays the server's current one).",
};
const filterDoc: Record<FilterName, string> = {
  diseaseGroup: "Treatment groups of this disease group (case-insensitive), e.g. MS",
  jurisdiction: "Treatment groups valid in this regional health authority (RHF code, urn:oid:2.16.578.1.12.4.1.102), e.g. 100022",
  indication: "Items with this indication: an ICD-10 code (G35) or system|code (urn:oid:2.16.578.1.12.4.1.1.7110|G35)",
  varenummer: "Items that list this FEST varenummer (package), e.g. 166028",
};

interface ListDef {
  collection: Collection;
  path: string;
  item: typeof VersionedTreatmentGroup | typeof VersionedReimbursementGroup | typeof VersionedRawResource;
  example?: unknown;
  summary: string;
  tags: string[];
}

const OUTPUT_LISTS: ListDef[] = [
  { collection: "treatmentGroup", path: "/treatmentGroup", item: VersionedTreatmentGroup, example: NATALIZUMAB_EXAMPLE, summary: "Treatment groups (hospital treatment-group rankings)", tags: ["Consumer"] },
  { collection: "reimbursementGroup", path: "/reimbursementGroup", item: VersionedReimbursementGroup, example: REIMBURSEMENT_EXAMPLE, summary: "Reimbursement groups (H-resept reimbursement authorizations)", tags: ["Consumer"] },
];
const RAW_LISTS: ListDef[] = RAW_COLLECTIONS.map((c) => ({
  collection: c,
  path: `/fhir/${c}`,
  item: VersionedRawResource,
  summary: `Raw upstream ${c} resources, exactly as upstream sent them`,
  tags: ["Raw FHIR"],
}));

export const API_PREFIX = "/api/v1";

/**
 * The consumer API under /api/v1 (SPEC §7): read scope, the reference service's envelope.
 *
 * `plugin` is the Elysia group (every route, and the OpenAPI description). `listRoutes` holds the list
 * endpoints as plain (request) => Response functions, path by path, each doing its own key check: the
 * server hands them to Bun.serve's native router, so the hottest requests skip the framework's
 * per-request work. The Elysia routes call the very same functions, so both paths answer alike.
 */
export function consumerApi(store: Store, keys: Keys) {
  const documents = new Documents(store);
  const datasetHeader = { "x-nompd-dataset": store.datasetId };
  const lists = new LiveLists(store, documents, datasetHeader);
  const filterableOf = Object.fromEntries(ALL_COLLECTIONS.map((c) => [c, FILTER_NAMES.filter((f) => (FILTERS[f] as readonly string[]).includes(c))])) as Record<Collection, FilterName[]>;
  const allowedOf = Object.fromEntries(ALL_COLLECTIONS.map((c) => [c, ["sinceVersion", "asOfVersion", ...filterableOf[c]]])) as Record<Collection, string[]>;
  const fail = (err: unknown) => {
    if (err instanceof UsageError) return errorResponse(400, err.message, datasetHeader);
    throw err;
  };
  /** Runs a handler, answering its UsageError as 400. */
  const answering400 = (handler: () => Response): Response => {
    try {
      return handler();
    } catch (err) {
      return fail(err);
    }
  };

  function list(request: Request, collection: Collection, query: Query, generation: string): Response {
    const filterable = filterableOf[collection];
    checkKnown(query, allowedOf[collection]);
    const since = versionParam(query, "sinceVersion");
    const asOf = versionParam(query, "asOfVersion");
    const filters: Array<[FilterName, string]> = [];
    for (const name of filterable) {
      const value = single(query, name);
      if (value === undefined) continue;
      if (value.trim() === "") throw new UsageError(`${name} must not be empty.`);
      filters.push([name, value]);
    }
    if (since !== undefined && (filters.length > 0 || asOf !== undefined)) {
      throw new UsageError(
        `sinceVersion cannot be combined with ${filters.length > 0 ? "filters" : "asOfVersion"}: a filtered diff would miss items that leave the filter. Diff the whole list, and filter on your side.`,
      );
    }
    if (asOf !== undefined && filters.length > 0) throw new UsageError("asOfVersion cannot be combined with filters; filters apply to the current list.");

    if (since !== undefined) {
      const answer = atVersion(since, () => documents.since(collection, since));
      if (answer.json === null) {
        return errorResponse(
          409,
          `sinceVersion ${since} is newer than this server's currentVersion ${answer.current}: its database was reset or restored. ` +
            `Fetch everything again without sinceVersion and keep the new currentVersion.`,
          datasetHeader,
        );
      }
      return sendJson(request, PreparedBody.fromJson(answer.json, datasetHeader));
    }
    if (asOf !== undefined) {
      const answer = atVersion(asOf, () => documents.asOf(collection, asOf));
      if (answer.json === null) throw new UsageError(`asOfVersion ${asOf} is greater than the currentVersion ${answer.current}.`);
      return sendJson(request, PreparedBody.fromJson(answer.json, datasetHeader));
    }
    const live = lists.get(collection, generation);
    if (filters.length === 0) return sendJson(request, live.body);
    return sendJson(request, live.filtered(filters));
  }

  /**
   * The current version and, unless `version` is beyond it, the envelope of `read()`: both from one
   * read transaction, so that a sync committing in between cannot mix them.
   */
  function atVersion(version: number, read: () => DocumentRow[]): { current: number; json: string | null } {
    return documents.snapshot(() => {
      const current = store.currentVersion();
      return { current, json: version > current ? null : envelopeJson(current, read()) };
    });
  }

  const notFound = (collection: OutputCollection, id: string) =>
    errorResponse(404, `No ${collection} with id "${id}". GET /api/v1/${collection} lists them.`, datasetHeader);

  function one(request: Request, collection: OutputCollection, id: string): Response {
    checkKnown(rawQuery(request), []);
    const row = documents.one(collection, id);
    if (!row) return notFound(collection, id);
    return sendJson(request, PreparedBody.fromJson(versionedItemJson(row), datasetHeader), row.is_deleted ? 410 : 200);
  }

  function history(request: Request, collection: OutputCollection, id: string): Response {
    checkKnown(rawQuery(request), []);
    const answer = documents.snapshot(() => ({ current: store.currentVersion(), rows: documents.history(collection, id) }));
    if (answer.rows.length === 0) return notFound(collection, id);
    return sendJson(request, PreparedBody.fromJson(envelopeJson(answer.current, answer.rows), datasetHeader));
  }

  const listQuery = (collection: Collection) =>
    t.Object({
      sinceVersion: t.Optional(t.String({ description: versionDoc.sinceVersion, examples: ["4"] })),
      asOfVersion: t.Optional(t.String({ description: versionDoc.asOfVersion, examples: ["3"] })),
      ...Object.fromEntries(
        FILTER_NAMES.filter((f) => (FILTERS[f] as readonly string[]).includes(collection)).map((f) => [f, t.Optional(t.String({ description: filterDoc[f] }))]),
      ),
    });

  const authorize = requireScope(keys, "read", datasetHeader);
  const listRoutes: Record<string, (request: Request) => Response> = {};
  for (const def of [...OUTPUT_LISTS, ...RAW_LISTS]) {
    listRoutes[API_PREFIX + def.path] = (request) => {
      // One look at the file's change counter serves both the key check and the list cache.
      const generation = store.generation();
      const refused = authorize({ request }, generation);
      if (refused) return refused;
      return answering400(() => list(request, def.collection, rawQuery(request), generation));
    };
  }

  const plugin = new Elysia({ name: "consumer", prefix: API_PREFIX });
  for (const def of [...OUTPUT_LISTS, ...RAW_LISTS]) {
    const handle = listRoutes[API_PREFIX + def.path]!;
    plugin.get(def.path, ({ request }) => handle(request), {
      query: listQuery(def.collection),
      response: {
        200: envelopeOf(def.item, `${def.collection}List`, def.example),
        304: t.Void({ description: "Not modified (If-None-Match matched the ETag)" }),
        400: ErrorBody,
        401: unauthorized,
        409: ErrorBody,
      },
      detail: {
        summary: def.summary,
        description:
          "Without parameters: all live items ordered by id. With sinceVersion=N: every item with version > N, deleted ones included, ordered by version then id. " +
          "Responses carry ETag (If-None-Match answers 304) and X-Nompd-Dataset (the dataset id: when it changes, fetch everything again), and are compressed when the client accepts gzip or br.",
        tags: def.tags,
        security,
      },
    });
  }
  plugin.guard({ beforeHandle: authorize }, (guarded) => {
    guarded.get(
      "/fhir/:type",
      ({ params }) => errorResponse(404, `Unknown FHIR resource type${params.type ? ` "${params.type}"` : ""}. Use ${RAW_COLLECTIONS.join(", ")}.`, datasetHeader),
      { detail: { hide: true } },
    );
    for (const def of OUTPUT_LISTS) {
      const collection = def.collection as OutputCollection;
      guarded
        .get(`${def.path}/:id`, ({ request, params }) => answering400(() => one(request, collection, params.id)), {
          params: t.Object({ id: t.String({ description: "The item's id (identifier[0].value upstream)" }) }),
          response: {
            200: def.item,
            401: unauthorized,
            404: ErrorBody,
            410: t.Object(def.item.properties, { description: "Deleted: the last version of the item, with isDeleted true" }),
          },
          detail: { summary: `One ${collection} by id (410 with its last version when deleted)`, tags: ["Consumer"], security },
        })
        .get(`${def.path}/:id/history`, ({ request, params }) => answering400(() => history(request, collection, params.id)), {
          params: t.Object({ id: t.String() }),
          response: { 200: envelopeOf(def.item, `${collection}History`), 401: unauthorized, 404: ErrorBody },
          detail: {
            summary: `Every version of one ${collection}, newest first`,
            description: "Each change (add, change, delete, revive) is one item; a deletion has isDeleted true and the last content.",
            tags: ["Consumer"],
            security,
          },
        });
    }
    return guarded;
  });
  return { plugin, listRoutes };
}
