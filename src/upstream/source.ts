import type { RawCollection, RawResources } from "../convert/dataset";
import type { Ignored } from "./bundles";

export interface SourceResult {
  resources: RawResources;
  /** Resources of other types that were met and left out, by resourceType. */
  ignored: Ignored;
}

export interface FetchProgress {
  collection: RawCollection;
  pages: number;
  resources: number;
  done: boolean;
}

/** Where a sync reads the three collections from: the national FHIR API, Bundle files, the embedded sample. */
export interface Source {
  describe(): string;
  fetch(onProgress?: (p: FetchProgress) => void): Promise<SourceResult>;
}
