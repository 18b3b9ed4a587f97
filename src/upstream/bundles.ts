import { isRawCollection, type RawCollection } from "../collections";
import { asArray, isObj } from "../fhir/read";
import type { Ignored, ResourceSink } from "./source";

import { SourceError } from "../errors";

/**
 * Routes one parsed JSON value — a Bundle (entries' resources) or a single resource — to the sink by
 * collection. Other resource types are counted in `ignored`, not fatal: a file export may carry
 * OperationOutcomes or related resources.
 */
export function collect(value: unknown, sink: ResourceSink, ignored: Ignored, where: string): void {
  if (!isObj(value)) throw new SourceError(`${where}: expected a FHIR Bundle or resource (a JSON object), found ${Array.isArray(value) ? "an array" : typeof value}.`);
  if (value.resourceType !== "Bundle" && typeof value.resourceType !== "string") {
    throw new SourceError(`${where}: the JSON object has no resourceType; expected a FHIR Bundle or resource.`);
  }
  const resources = value.resourceType === "Bundle" ? asArray(value.entry).map((entry) => (isObj(entry) ? entry.resource : undefined)) : [value];
  const batches = new Map<RawCollection, unknown[]>();
  for (const resource of resources) {
    const type = isObj(resource) && typeof resource.resourceType === "string" ? resource.resourceType : "(not a resource)";
    if (isRawCollection(type)) {
      let batch = batches.get(type);
      if (!batch) batches.set(type, (batch = []));
      batch.push(resource);
    } else ignored[type] = (ignored[type] ?? 0) + 1;
  }
  for (const [collection, batch] of batches) sink(collection, batch);
}
