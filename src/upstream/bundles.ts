import { RAW_COLLECTIONS, isRawCollection, type RawResources } from "../convert/dataset";
import { asArray, isObj } from "../fhir/read";

export class SourceError extends Error {}

export function emptyResources(): RawResources {
  return Object.fromEntries(RAW_COLLECTIONS.map((c) => [c, []])) as unknown as RawResources;
}

/** Resources a source met that belong to none of the three collections, by resourceType. */
export type Ignored = Record<string, number>;

/**
 * Routes one parsed JSON value — a Bundle (entries' resources) or a single resource — into the three
 * collections by resourceType. Other resource types are counted in `ignored`, not fatal: a file export
 * may carry OperationOutcomes or related resources.
 */
export function collect(value: unknown, into: RawResources, ignored: Ignored, where: string): void {
  if (!isObj(value)) throw new SourceError(`${where}: expected a FHIR Bundle or resource (a JSON object), found ${Array.isArray(value) ? "an array" : typeof value}.`);
  if (value.resourceType === "Bundle") {
    for (const entry of asArray(value.entry)) {
      const resource = isObj(entry) ? entry.resource : undefined;
      route(resource, into, ignored);
    }
    return;
  }
  if (typeof value.resourceType !== "string") {
    throw new SourceError(`${where}: the JSON object has no resourceType; expected a FHIR Bundle or resource.`);
  }
  route(value, into, ignored);
}

function route(resource: unknown, into: RawResources, ignored: Ignored): void {
  const type = isObj(resource) && typeof resource.resourceType === "string" ? resource.resourceType : "(not a resource)";
  if (isRawCollection(type)) into[type].push(resource);
  else ignored[type] = (ignored[type] ?? 0) + 1;
}
