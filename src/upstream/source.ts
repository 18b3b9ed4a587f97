import type { RawCollection } from "../collections";

/** Resources a source met that belong to none of the three collections, by resourceType. */
export type Ignored = Record<string, number>;

export interface SourceResult {
  /** Resources of other types that were met and left out, by resourceType. */
  ignored: Ignored;
}

export interface FetchProgress {
  collection: RawCollection;
  pages: number;
  resources: number;
  done: boolean;
}

/** Receives resources as they arrive, a page (or file) at a time; collections may interleave. */
export type ResourceSink = (collection: RawCollection, resources: unknown[]) => void;

/** Where a sync reads the three collections from: the national FHIR API, Bundle files, the embedded sample. */
export interface Source {
  /** `signal`: stop early (the sync is being stopped); what was read so far is thrown away by the caller. */
  fetch(sink: ResourceSink, onProgress?: (p: FetchProgress) => void, signal?: AbortSignal): Promise<SourceResult>;
}
