import activityDefinitions from "../../data/sample/ActivityDefinition.json";
import planDefinitions from "../../data/sample/PlanDefinition.json";
import regulatedAuthorizations from "../../data/sample/RegulatedAuthorization.json";
import { collect } from "./bundles";
import type { Ignored, Source, SourceResult } from "./source";

/** The bundled sample dataset (data/sample/), embedded in the binary by these imports. */
export const SAMPLE_BUNDLES: Record<string, unknown> = {
  "PlanDefinition.json": planDefinitions,
  "ActivityDefinition.json": activityDefinitions,
  "RegulatedAuthorization.json": regulatedAuthorizations,
};

export function sampleSource(): Source {
  return {
    async fetch(sink): Promise<SourceResult> {
      const ignored: Ignored = {};
      for (const [name, bundle] of Object.entries(SAMPLE_BUNDLES)) {
        // structuredClone: the sync must never share objects with the module-level bundles.
        collect(structuredClone(bundle), sink, ignored, `embedded data/sample/${name}`);
      }
      return { ignored };
    },
  };
}
