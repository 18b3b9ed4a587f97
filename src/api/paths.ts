import { isRawCollection, type Collection } from "../collections";

/**
 * Where the API answers, apart from the route table: a replica's follower (a worker thread) builds its
 * feed URLs from here without loading the routes, their schemas and the status page.
 */
export const API_PREFIX = "/api/v1";

/** Where a collection's list (and its sinceVersion feed) is served: output collections at the top, raw ones under fhir/. */
export function listPath(collection: Collection): string {
  return isRawCollection(collection) ? `${API_PREFIX}/fhir/${collection}` : `${API_PREFIX}/${collection}`;
}
