import type { Config } from "../config";
import { fhirSource } from "./fhirSource";
import type { Source } from "./source";

/** The network source the settings describe, or null when no --upstream-url is set. */
export function upstreamFromConfig({ settings, secrets }: Config): Source | null {
  if (settings.upstreamUrl === null) return null;
  return fhirSource({
    baseUrl: settings.upstreamUrl,
    apiKey: secrets.upstreamApiKey,
    keyHeader: settings.upstreamKeyHeader,
    timeoutMs: settings.upstreamTimeoutMs,
    retries: settings.upstreamRetries,
    backoffMs: settings.upstreamBackoffMs,
  });
}
