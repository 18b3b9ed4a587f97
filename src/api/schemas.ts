import { Type, type TSchema } from "@sinclair/typebox";
import { collectionDef, OUTPUT_COLLECTIONS, RAW_COLLECTIONS, type Collection } from "../collections";
import { MODELS, Nullable } from "../models";
import { FollowHealth, STATUS_SCHEMAS } from "./statusSchemas";

/**
 * The bodies the API answers, built from the models (src/models.ts): the versioned item and the list
 * envelope of each collection, the error, the health report. Each has an `$id`: the OpenAPI document
 * publishes it as a named component.
 */

const versionedCache = new Map<string, TSchema>();

/** `{data, version, lastChanged, isDeleted}` around a model. */
export function versionedItem(model: TSchema): TSchema {
  const id = `Versioned${model.$id}`;
  let schema = versionedCache.get(id);
  if (!schema) {
    schema = Type.Object(
      {
        data: model,
        version: Type.Integer({ minimum: 1, description: "The dataset version in which this item last changed" }),
        lastChanged: Type.String({ format: "date-time", description: "UTC time of that sync, e.g. 2025-04-10T08:30:00Z" }),
        isDeleted: Type.Boolean({ description: "Always false without sinceVersion; true for items deleted after sinceVersion (data is then the last content)" }),
      },
      { $id: id, additionalProperties: false },
    );
    versionedCache.set(id, schema);
  }
  return schema;
}

const envelopeCache = new Map<string, TSchema>();

/** `{currentVersion, items}`: the reference service's envelope, for lists, diffs and histories. */
export function envelope(model: TSchema): TSchema {
  const id = `${model.$id}List`;
  let schema = envelopeCache.get(id);
  if (!schema) {
    const example = (model.examples as unknown[] | undefined)?.[0];
    schema = Type.Object(
      {
        currentVersion: Type.Integer({ minimum: 0, description: "The server's current dataset version: store it for the next ?sinceVersion" }),
        items: Type.Array(versionedItem(model)),
      },
      {
        $id: id,
        additionalProperties: false,
        ...(example ? { examples: [{ currentVersion: 5, items: [{ data: example, version: 5, lastChanged: "2025-04-10T08:30:00Z", isDeleted: false }] }] } : {}),
      },
    );
    envelopeCache.set(id, schema);
  }
  return schema;
}

export const ErrorBody = Type.Object(
  { error: Type.String({ description: "What is wrong and what to do" }) },
  { $id: "Error", additionalProperties: false, examples: [{ error: "Invalid or missing API key." }] },
);

/** A documented error answer. */
export const error = (description: string) => ({ description, schema: ErrorBody });
export const notModified = { description: "Not modified: If-None-Match named the current ETag" };

/** The OpenAPI tags the consumer and admin routes are listed under. */
export const CONSUMER = ["Consumer"];
export const ADMIN = ["Admin"];

export const Health = Type.Object(
  {
    currentVersion: Type.Integer({ minimum: 0 }),
    lastSuccessfulSync: Nullable(Type.String({ format: "date-time" })),
    lastRunStatus: Nullable(Type.String(), { description: "Status of the last sync run, null before the first" }),
    nextScheduledSync: Nullable(Type.String({ format: "date-time" }), { description: "null when no schedule runs" }),
    sample: Type.Boolean({ description: "true while the embedded sample dataset (invented data) is served" }),
    ready: Type.Boolean({ description: "Whether /health/ready answers 200" }),
    reason: Nullable(Type.String(), { description: "Why the server is not ready, or null" }),
    // Only on a replica (nompd serve --follow): whom it follows, and how far behind it is.
    follow: Type.Optional(FollowHealth),
  },
  {
    $id: "Health",
    additionalProperties: false,
    examples: [
      {
        currentVersion: 5,
        lastSuccessfulSync: "2025-04-10T08:30:00Z",
        lastRunStatus: "succeeded",
        nextScheduledSync: "2025-04-11T00:00:00Z",
        sample: false,
        ready: true,
        reason: null,
      },
    ],
  },
);

/** The model of each collection's items. */
export function modelOf(collection: Collection): TSchema {
  return collectionDef(collection).schema;
}

/** Every named schema of the API, models first. */
export function namedSchemas(): TSchema[] {
  // The raw collections share one model: the document lists its bodies once (by $id).
  const bodies = [...OUTPUT_COLLECTIONS, ...RAW_COLLECTIONS].flatMap((c) => [versionedItem(modelOf(c)), envelope(modelOf(c))]);
  return [...MODELS, ...bodies, ErrorBody, FollowHealth, Health, ...STATUS_SCHEMAS];
}
