import type { Config } from "../config";
import type { UpstreamOptions } from "./fhirSource";
import { maxPageBytes } from "./pageLimit";

/** The upstream the settings describe, or null when no --upstream-url is set. */
export function upstreamFromConfig({ settings, secrets, network }: Config): UpstreamOptions | null {
  if (settings.upstreamUrl === null) return null;
  return {
    baseUrl: settings.upstreamUrl,
    apiKey: secrets.upstreamApiKey,
    keySource: secrets.upstreamApiKeySource,
    keyHeader: settings.upstreamKeyHeader,
    timeoutMs: settings.upstreamTimeoutMs,
    retries: settings.upstreamRetries,
    backoffMs: settings.upstreamBackoffMs,
    maxPageBytes: maxPageBytes(settings),
    proxy: network.proxy,
    ca: network.ca,
  };
}
